// A typed client of the Emporium API, written only against the types that openapi-typescript
// generates from GET /openapi.json ("emporium-openapi", see tsconfig.json). It is compiled with
// --strict by the ctest `contract_types` and never run: when an operation, a parameter or a field
// the shop's clients rely on changes or disappears in the document, this file stops compiling.
import type { components, paths } from "emporium-openapi";

type Schemas = components["schemas"];
type HttpMethod = "get" | "put" | "post" | "delete" | "patch";

// The methods the document declares for path P.
type MethodOf<P extends keyof paths> = {
    [M in HttpMethod]: undefined extends paths[P][M] ? never : M;
}[HttpMethod];
type Operation<P extends keyof paths, M extends MethodOf<P>> = NonNullable<paths[P][M]>;

// What a call needs: path parameters, query, header parameters and a JSON body, each only when the
// operation declares it (required when the document says so).
type PathInit<Op> = Op extends { parameters: { path: infer Params } } ? { path: Params } : { path?: never };
type QueryInit<Op> = Op extends { parameters: { query?: infer Query } }
    ? [Query] extends [undefined] ? { query?: never } : { query?: Query }
    : { query?: never };
type HeaderInit<Op> = Op extends { parameters: { header: infer Headers } }
    ? { header: Headers }
    : { header?: never };
type BodyInit<Op> = Op extends { requestBody: { content: { "application/json": infer Body } } }
    ? { body: Body }
    : Op extends { requestBody?: { content: { "application/json": infer Body } } }
      ? { body?: Body }
      : { body?: never };
type CallInit<Op> = PathInit<Op> & QueryInit<Op> & HeaderInit<Op> & BodyInit<Op> & { token?: string };

// The answer: a union over the documented statuses, so that checking `status` narrows `body`.
type BodyOf<Response> = Response extends { content: infer Content }
    ? Content extends Record<string, unknown> ? Content[keyof Content] : undefined
    : undefined;
type Answer<Op> = Op extends { responses: infer Responses }
    ? { [S in keyof Responses]: { status: S; body: BodyOf<Responses[S]>; headers: Headers } }[keyof Responses]
    : never;

type Primitive = string | number | boolean;

function isPrimitive(value: unknown): value is Primitive {
    return typeof value === "string" || typeof value === "number" || typeof value === "boolean";
}

function fillPath(template: string, params: object | undefined): string {
    const values = new Map<string, unknown>(Object.entries(params ?? {}));
    return template.replace(/\{([^}]+)\}/g, (_, name: string) => {
        const value = values.get(name);
        if (!isPrimitive(value)) throw new Error(`missing path parameter ${name}`);
        return encodeURIComponent(String(value));
    });
}

function queryString(query: object | undefined): string {
    const search = new URLSearchParams();
    for (const [name, value] of Object.entries(query ?? {})) {
        if (isPrimitive(value)) search.set(name, String(value));
    }
    const text = search.toString();
    return text === "" ? "" : `?${text}`;
}

export class EmporiumClient {
    constructor(private readonly baseUrl: string) {}

    // One request; the JSON (or problem+json) body is returned as the document declares it for the
    // answered status. The one unchecked step is the server keeping its own document.
    async call<P extends keyof paths, M extends MethodOf<P>>(
        path: P,
        method: M,
        init: CallInit<Operation<P, M>>,
    ): Promise<Answer<Operation<P, M>>> {
        const headers = new Headers();
        for (const [name, value] of Object.entries(init.header ?? {})) {
            if (isPrimitive(value)) headers.set(name, String(value));
        }
        if (init.token !== undefined) headers.set("Authorization", `Bearer ${init.token}`);
        let payload: string | undefined;
        if (init.body !== undefined) {
            headers.set("Content-Type", "application/json");
            payload = JSON.stringify(init.body);
        }
        const url = this.baseUrl + fillPath(path, init.path) + queryString(init.query);
        const response = await fetch(url, { method: method.toUpperCase(), headers, body: payload });
        const type = response.headers.get("Content-Type") ?? "";
        const body: unknown = /[/+]json\b/.test(type) ? await response.json() : undefined;
        return { status: response.status, body, headers: response.headers } as Answer<Operation<P, M>>;
    }
}

export class ApiError extends Error {
    constructor(readonly status: number, readonly problem: Schemas["Problem"] | undefined) {
        super(`${status} ${problem?.code ?? ""}: ${problem?.detail ?? problem?.title ?? ""}`);
    }
}

function problemOf(body: unknown): Schemas["Problem"] | undefined {
    return typeof body === "object" && body !== null ? (body as Schemas["Problem"]) : undefined;
}

type OrderStatus = NonNullable<Schemas["Order"]["status"]>;

// Every order status the document lists, each with the words a shop shows; a status added to the
// document without a label here is a compile error.
export function describeOrderStatus(status: OrderStatus): string {
    switch (status) {
        case "pending_payment":
            return "awaiting payment";
        case "paid":
            return "paid";
        case "fulfilled":
            return "shipped";
        case "cancelled":
            return "cancelled";
        case "expired":
            return "expired before payment";
        case "payment_failed":
            return "payment failed";
        case "return_requested":
            return "return on its way";
        case "returned":
            return "returned";
        default: {
            const unknown: never = status;
            return unknown;
        }
    }
}

export function formatPrice(price: Schemas["Product"]["price"]): string {
    if (price === undefined) return "";
    const cents: number | undefined = price.amount_cents;
    const currency: string | undefined = price.currency;
    if (cents === undefined || currency === undefined) return "";
    return `${(cents / 100).toFixed(2)} ${currency}`;
}

// Register, sign in, browse the catalog, open one product and order it.
export async function buyCheapestProduct(baseUrl: string, email: string, password: string): Promise<string> {
    const api = new EmporiumClient(baseUrl);

    const registered = await api.call("/api/v1/auth/register", "post", {
        body: { email, password, name: "Contract Client" },
    });
    if (registered.status !== 201 && registered.status !== 409) {
        throw new ApiError(registered.status, problemOf(registered.body));
    }

    const login = await api.call("/api/v1/auth/login", "post", { body: { email, password } });
    if (login.status !== 200) throw new ApiError(login.status, login.body);
    const token: string = login.body.access_token;
    const me: Schemas["User"] = login.body.user;
    const role: "customer" | "admin" = me.role;

    const page = await api.call("/api/v1/products", "get", {
        query: { sort: "price_asc", in_stock: true, limit: 5 },
    });
    if (page.status !== 200) throw new ApiError(page.status, page.body);
    const first: Schemas["Product"] | undefined = page.body.items?.[0];
    const cursor: string | null | undefined = page.body.next_cursor;
    if (first?.id === undefined) throw new Error("the catalog has no product in stock");

    const product = await api.call("/api/v1/products/{id}", "get", { path: { id: first.id } });
    if (product.status !== 200) {
        throw new ApiError(product.status, product.status === 304 ? undefined : product.body);
    }
    const price = formatPrice(product.body.price);
    const cents: number | undefined = product.body.price?.amount_cents;

    const order = await api.call("/api/v1/orders", "post", {
        token,
        header: { "Idempotency-Key": `contract-${email}-${first.id}` },
        body: {
            items: [{ product_id: first.id, quantity: 1 }],
            shipping_address: { line1: "1 Test Street", city: "Testville", country: "DE" },
        },
    });
    if (order.status !== 201) throw new ApiError(order.status, order.body);
    const placed: Schemas["Order"] = order.body;
    const status = placed.status === undefined ? "unknown" : describeOrderStatus(placed.status);
    const total: number | undefined = placed.total_cents;
    const lines: number = placed.items?.length ?? 0;

    return `${role} ${me.email}: order ${placed.id ?? "?"} (${lines} line, ${total ?? cents ?? "?"} cents, ` +
        `${price}) is ${status}; next page ${cursor ?? "none"}`;
}

// A typed client of the Emporium API, written only against the types that openapi-typescript
// generates from GET /openapi.json ("emporium-openapi", see tsconfig.json). It is compiled with
// --strict by the ctest `contract_types` and never run: when an operation, a parameter or a field
// the shop's clients rely on changes or disappears in the document, this file stops compiling.
import { send } from "../../web/shared/typed";
import type { Answer, CallInit, MethodOf, Operation, Schemas, paths } from "../../web/shared/typed";

export class EmporiumClient {
    constructor(private readonly baseUrl: string) {}

    // One request; the JSON (or problem+json) body is returned as the document declares it for the
    // answered status. The one unchecked step is the server keeping its own document.
    async call<P extends keyof paths, M extends MethodOf<P>>(
        path: P,
        method: M,
        init: CallInit<Operation<P, M>>,
    ): Promise<Answer<Operation<P, M>>> {
        const plain: object = init;
        return (await send(this.baseUrl, path, method, plain)) as Answer<Operation<P, M>>;
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

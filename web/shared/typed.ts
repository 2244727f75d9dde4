// The typing of API calls, from the declarations openapi-typescript generates out of GET
// /openapi.json ("emporium-openapi"): which methods a path has, what a call needs (path, query,
// headers, JSON body, each only when the operation declares it) and what it answers (a union over
// the documented statuses, so that checking `status` narrows `body`). Shared by the browser apps
// (web/shared/api.ts) and the contract tests' typed client (tests/contract/client.ts). No DOM, no
// framework.
import type { components, paths } from "emporium-openapi";

export type { paths };
export type Schemas = components["schemas"];
export type HttpMethod = "get" | "put" | "post" | "delete" | "patch";

// The methods the document declares for path P.
export type MethodOf<P extends keyof paths> = {
    [M in HttpMethod]: undefined extends paths[P][M] ? never : M;
}[HttpMethod];
export type Operation<P extends keyof paths, M extends MethodOf<P>> = NonNullable<paths[P][M]>;

type PathInit<Op> = Op extends { parameters: { path: infer Params } } ? { path: Params } : { path?: never };
type QueryInit<Op> = Op extends { parameters: { query?: infer Query } }
    ? [Query] extends [undefined] ? { query?: never } : { query?: Query }
    : { query?: never };
type HeaderInit<Op> = Op extends { parameters: { header: infer Headers } }
    ? { header: Headers }
    : { header?: Record<string, string> };
type BodyInit<Op> = Op extends { requestBody: { content: { "application/json": infer Body } } }
    ? { body: Body }
    : Op extends { requestBody?: { content: { "application/json": infer Body } } }
      ? { body?: Body }
      : { body?: never };
export type CallInit<Op> = PathInit<Op> & QueryInit<Op> & HeaderInit<Op> & BodyInit<Op> & { token?: string };

type BodyOf<Response> = Response extends { content: infer Content }
    ? Content extends Record<string, unknown> ? Content[keyof Content] : undefined
    : undefined;
export type Answer<Op> = Op extends { responses: infer Responses }
    ? { [S in keyof Responses]: { status: S; body: BodyOf<Responses[S]>; headers: Headers } }[keyof Responses]
    : never;
// The body of the operation's 2xx answers.
export type Success<Op> = Op extends { responses: infer Responses }
    ? { [S in keyof Responses]: S extends 200 | 201 | 202 | 204 ? BodyOf<Responses[S]> : never }[keyof Responses]
    : never;

type Primitive = string | number | boolean;

export function isPrimitive(value: unknown): value is Primitive {
    return typeof value === "string" || typeof value === "number" || typeof value === "boolean";
}

// The path template with its {parameters} filled in (URL-encoded).
export function fillPath(template: string, params: object | undefined): string {
    const values = new Map<string, unknown>(Object.entries(params ?? {}));
    return template.replace(/\{([^}]+)\}/g, (_, name: string) => {
        const value = values.get(name);
        if (!isPrimitive(value)) throw new Error(`missing path parameter ${name}`);
        return encodeURIComponent(String(value));
    });
}

// "?a=1&b=2" from the query's primitive members (undefined ones left out), an array as one
// comma-separated value ("facets=category,price"); "" when there are none.
export function queryString(query: object | undefined): string {
    const search = new URLSearchParams();
    for (const [name, value] of Object.entries(query ?? {})) {
        if (isPrimitive(value)) search.set(name, String(value));
        else if (Array.isArray(value) && value.every(isPrimitive)) search.set(name, value.map(String).join(","));
    }
    const text = search.toString();
    return text === "" ? "" : `?${text}`;
}

interface SendInit {
    path?: object;
    query?: object;
    header?: object;
    body?: unknown;
    token?: string;
}

// One request with the given init (a CallInit); the JSON (or problem+json) body is returned untyped.
export async function send(
    baseUrl: string,
    path: string,
    method: HttpMethod,
    init: object,
): Promise<{ status: number; body: unknown; headers: Headers }> {
    const { path: params, query, header, body, token } = init as SendInit;
    const headers = new Headers();
    for (const [name, value] of Object.entries(header ?? {})) {
        if (isPrimitive(value)) headers.set(name, String(value));
    }
    if (token !== undefined) headers.set("Authorization", `Bearer ${token}`);
    let payload: string | undefined;
    if (body !== undefined) {
        headers.set("Content-Type", "application/json");
        payload = JSON.stringify(body);
    }
    const url = baseUrl + fillPath(path, params) + queryString(query);
    const response = await fetch(url, { method: method.toUpperCase(), headers, body: payload });
    const type = response.headers.get("Content-Type") ?? "";
    const parsed: unknown = /[/+]json\b/.test(type) ? await response.json() : undefined;
    return { status: response.status, body: parsed, headers: response.headers };
}

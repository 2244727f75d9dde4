// Browsing: the ranked home page, category pages and search results.
import { ok, session } from "../../shared/api";
import type { Schemas } from "../../shared/api";
import { href } from "../../shared/router";
import { Show, useLoad } from "../../shared/ui";
import { ProductGrid, useTitle } from "../bits";
import { Listing } from "../listing";

export function HomePage() {
    useTitle("");
    const categories = useLoad(() => ok("/api/v1/categories", "get", {}), []);
    const ranked = useLoad(() => ok("/api/v1/products", "get", { query: { sort: "rank", limit: 12 } }), []);
    const signedIn = session.value !== null;
    const picks = useLoad(
        () => (signedIn ? ok("/api/v1/recommendations", "get", { query: { limit: 6 } }) : Promise.resolve(null)),
        [signedIn],
    );
    return (
        <>
            <h1>Welcome to Emporium</h1>
            <p class="lead">Everyday things, ranked by what other shoppers buy and love.</p>
            <section aria-labelledby="home-categories">
                <h2 id="home-categories">Shop by category</h2>
                <Show loaded={categories} what="categories">
                    {(tree) => (
                        <ul class="category-tiles">
                            {tree.items.map((c) => (
                                <li key={c.id}>
                                    <a href={href(`/c/${c.slug}`)}>{c.name}</a>
                                </li>
                            ))}
                        </ul>
                    )}
                </Show>
            </section>
            {signedIn && picks.data && picks.data.items.length > 0 && (
                <section aria-labelledby="home-picks">
                    <h2 id="home-picks">Recommended for you</h2>
                    <ProductGrid products={picks.data.items} />
                </section>
            )}
            <section aria-labelledby="home-popular">
                <h2 id="home-popular">Popular right now</h2>
                <Show loaded={ranked} what="products">
                    {(page) => <ProductGrid products={page.items} />}
                </Show>
            </section>
        </>
    );
}

export function CategoryPage({ slug }: { slug: string }) {
    const category = useLoad(() => ok("/api/v1/categories/{slug}", "get", { path: { slug } }), [slug]);
    const tree = useLoad(() => ok("/api/v1/categories", "get", {}), []);
    const name = category.data?.name ?? "";
    useTitle(name || "Category");
    // The path from the top of the tree to this category, for the breadcrumb.
    const trail: { slug: string; name: string }[] = [];
    const walk = (nodes: Schemas["CategoryNode"][], path: typeof trail): boolean => {
        for (const n of nodes) {
            const here = [...path, { slug: n.slug, name: n.name }];
            if (n.slug === slug || walk(n.children, here)) {
                if (n.slug === slug) trail.push(...here);
                return true;
            }
        }
        return false;
    };
    if (tree.data) walk(tree.data.items, []);
    return (
        <>
            <nav aria-label="Breadcrumb" class="breadcrumb">
                <ol>
                    <li>
                        <a href={href("/")}>Home</a>
                    </li>
                    {trail.slice(0, -1).map((c) => (
                        <li key={c.slug}>
                            <a href={href(`/c/${c.slug}`)}>{c.name}</a>
                        </li>
                    ))}
                    <li>
                        <span aria-current="page">{name || slug}</span>
                    </li>
                </ol>
            </nav>
            <Show loaded={category} what="the category">
                {(c) => (
                    <>
                        <h1>{c.name}</h1>
                        <Listing category={c.slug} basePath={`/c/${c.slug}`} />
                    </>
                )}
            </Show>
        </>
    );
}

export function SearchPage({ q, category }: { q: string; category?: string }) {
    useTitle(q ? `Search: ${q}` : "Search");
    if (q.trim() === "") {
        return (
            <>
                <h1>Search</h1>
                <p>Type what you are looking for in the search box at the top of the page.</p>
            </>
        );
    }
    return (
        <>
            <h1>
                Results for “{q}”{category ? ` in ${category}` : ""}
            </h1>
            <Listing q={q} category={category} basePath="/search" />
        </>
    );
}

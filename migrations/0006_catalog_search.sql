-- emporium: no-transaction
-- Catalog search served by indexes (issue 17): relevance order and typo matching read the top of
-- an index instead of scoring every match. Both indexes cover only what the catalog shows (its
-- visibility predicate), and are built CONCURRENTLY so that a live shop keeps selling while they
-- build. The GIN indexes of 0001 stay until the queries no longer need them.

-- RUM access method (Debian package postgresql-15-rum).
CREATE EXTENSION IF NOT EXISTS rum;

-- Full-text matches in relevance order: ORDER BY search_vector <=> websearch_to_tsquery(...).
CREATE INDEX CONCURRENTLY IF NOT EXISTS products_search_rum_idx
    ON products USING rum (search_vector rum_tsvector_ops)
    WHERE is_active AND deleted_at IS NULL;

-- Nearest names by trigrams (typos): ORDER BY $1 <<-> name (word similarity) or name <-> $1.
CREATE INDEX CONCURRENTLY IF NOT EXISTS products_name_trgm_gist_idx
    ON products USING gist (name gist_trgm_ops)
    WHERE is_active AND deleted_at IS NULL;

-- emporium: no-transaction
-- Search indexes (issue 17), built CONCURRENTLY so a live shop keeps selling while they build
-- (minutes at millions of products; progress in the log and on a terminal).

-- Nearest vocabulary word of a misspelt one: ORDER BY $1 <<-> word, filtered by $1 <% word.
CREATE INDEX CONCURRENTLY IF NOT EXISTS search_words_trgm_idx ON search_words USING gist (word gist_trgm_ops);

-- Products whose name alone matches a query: the first relevance tier (sort=relevance), found
-- without reading every product that matches the query anywhere.
CREATE INDEX CONCURRENTLY IF NOT EXISTS products_name_fts_idx ON products USING gin (to_tsvector('english', name));

-- The search vocabulary (issue 17): every distinct word of the products' names and category names,
-- for typo correction by trigram nearest neighbour over words (a few tens of thousands) instead of
-- scoring the trigram similarity of every product name. Kept by a trigger; a bulk load that
-- bypasses the triggers (emporium.bulk_load) calls catalog_refresh_search_words() afterwards.

CREATE TABLE search_words (
    word text PRIMARY KEY,
    CONSTRAINT search_words_length CHECK (length(word) BETWEEN 1 AND 100)
);
COMMENT ON TABLE search_words IS
    'Distinct lower-case words (text search configuration "simple") of product names and category '
    'names; typo correction looks the nearest one up by trigram distance.';

-- Words of one product's searchable name, as stored.
CREATE FUNCTION catalog_words(name text, category_name text) RETURNS SETOF text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT w FROM unnest(tsvector_to_array(to_tsvector('simple', coalesce(name, '') || ' ' || coalesce(category_name, '')))) AS w
    WHERE length(w) BETWEEN 2 AND 100 AND w !~ '^[0-9]+$'
$$;

-- New words are inserted in sorted order, one statement per writing statement (a COPY of many
-- products is one insert), and only those not yet known: two transactions then lock the words they
-- share in the same order and cannot deadlock, and a known word is not locked at all.
CREATE FUNCTION catalog_record_words() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('emporium.bulk_load', true) = 'on' THEN
        RETURN NULL;
    END IF;
    INSERT INTO search_words (word)
    SELECT DISTINCT w.word FROM changed_products p, catalog_words(p.name, p.category_name) AS w(word)
    WHERE NOT EXISTS (SELECT 1 FROM search_words s WHERE s.word = w.word)
    ORDER BY w.word
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;

CREATE TRIGGER products_search_words_insert AFTER INSERT ON products
    REFERENCING NEW TABLE AS changed_products
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_record_words();
-- Renames, row by row (a transition table cannot go with a column list; a checkout's stock update
-- does not name these columns, so it does not fire).
CREATE FUNCTION catalog_record_renamed_words() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('emporium.bulk_load', true) = 'on' THEN
        RETURN NULL;
    END IF;
    INSERT INTO search_words (word)
    SELECT DISTINCT w.word FROM catalog_words(NEW.name, NEW.category_name) AS w(word)
    WHERE NOT EXISTS (SELECT 1 FROM search_words s WHERE s.word = w.word)
    ORDER BY w.word
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;

CREATE TRIGGER products_search_words_update AFTER UPDATE OF name, category_name ON products
    FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD.category_name IS DISTINCT FROM NEW.category_name)
    EXECUTE FUNCTION catalog_record_renamed_words();

-- Every word of every product (after a bulk load; idempotent).
CREATE FUNCTION catalog_refresh_search_words() RETURNS bigint
LANGUAGE sql AS $$
    WITH added AS (
        INSERT INTO search_words (word)
        SELECT DISTINCT catalog_words(name, category_name) FROM products
        ON CONFLICT DO NOTHING RETURNING 1)
    SELECT count(*) FROM added
$$;

SELECT catalog_refresh_search_words();

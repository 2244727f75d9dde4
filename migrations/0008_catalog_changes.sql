-- The catalog's change feed (issue 17): every change to what a listing filters or ranks by, with
-- the product's inputs before and after, written by triggers in the changing transaction. Each
-- API process keeps an in-process rank index equal to the database by reading the rows committed
-- since its last snapshot (xid not visible in it), and ranks cursor pages as of the snapshot of
-- their first page by undoing the changes committed after it.

CREATE TABLE catalog_changes (
    seq              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    xid              xid8        NOT NULL DEFAULT pg_current_xact_id(),
    product_id       bigint      NOT NULL,
    -- before the change (b_visible IS NULL: the product was inserted)
    b_category_id    bigint,
    b_price_cents    bigint,
    b_in_stock       boolean,
    b_visible        boolean,
    b_purchase_count bigint,
    b_rating_sum     bigint,
    b_rating_count   bigint,
    b_created_at     timestamptz,
    -- after the change
    a_category_id    bigint,
    a_price_cents    bigint      NOT NULL,
    a_in_stock       boolean     NOT NULL,
    a_visible        boolean     NOT NULL,
    a_purchase_count bigint      NOT NULL,
    a_rating_sum     bigint      NOT NULL,
    a_rating_count   bigint      NOT NULL,
    a_created_at     timestamptz NOT NULL,
    -- the searchable words (lexemes of search_vector, and those of the name alone), space-separated,
    -- when they changed (an insert, or a new name, category name or description); else NULL
    a_lexemes        text,
    a_name_lexemes   text,
    changed_at       timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX catalog_changes_xid_idx ON catalog_changes (xid);
COMMENT ON TABLE catalog_changes IS
    'Change feed of the listing inputs of products (category, price, stock > 0, visibility, '
    'purchase count, rating, created_at), read by the API processes'' rank indexes; rows older '
    'than the retention are purged by the scheduler. product_id 0 means "reload everything" '
    '(written after a bulk load that bypassed the triggers).';

-- The lexemes of a search vector, space-separated (the english parser's lexemes hold no space).
CREATE FUNCTION catalog_lexemes(v tsvector) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT array_to_string(tsvector_to_array(v), ' ') $$;
CREATE FUNCTION catalog_name_lexemes(v tsvector) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT array_to_string(tsvector_to_array(ts_filter(v, '{a}')), ' ') $$;

CREATE FUNCTION catalog_record_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- A bulk load (the seeder) sets emporium.bulk_load for its sessions and writes one reload row
    -- at the end instead of a row per product.
    IF current_setting('emporium.bulk_load', true) = 'on' THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        INSERT INTO catalog_changes (product_id, a_category_id, a_price_cents, a_in_stock, a_visible,
                                     a_purchase_count, a_rating_sum, a_rating_count, a_created_at,
                                     a_lexemes, a_name_lexemes)
        VALUES (NEW.id, NEW.category_id, NEW.price_cents, NEW.stock > 0,
                NEW.is_active AND NEW.deleted_at IS NULL, NEW.purchase_count, NEW.rating_sum,
                NEW.rating_count, NEW.created_at,
                catalog_lexemes(NEW.search_vector), catalog_name_lexemes(NEW.search_vector));
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO catalog_changes (product_id,
                                     b_category_id, b_price_cents, b_in_stock, b_visible,
                                     b_purchase_count, b_rating_sum, b_rating_count, b_created_at,
                                     a_category_id, a_price_cents, a_in_stock, a_visible,
                                     a_purchase_count, a_rating_sum, a_rating_count, a_created_at)
        VALUES (OLD.id,
                OLD.category_id, OLD.price_cents, OLD.stock > 0,
                OLD.is_active AND OLD.deleted_at IS NULL, OLD.purchase_count, OLD.rating_sum,
                OLD.rating_count, OLD.created_at,
                OLD.category_id, OLD.price_cents, OLD.stock > 0, false,
                OLD.purchase_count, OLD.rating_sum, OLD.rating_count, OLD.created_at);
    ELSE
        INSERT INTO catalog_changes (product_id,
                                     b_category_id, b_price_cents, b_in_stock, b_visible,
                                     b_purchase_count, b_rating_sum, b_rating_count, b_created_at,
                                     a_category_id, a_price_cents, a_in_stock, a_visible,
                                     a_purchase_count, a_rating_sum, a_rating_count, a_created_at,
                                     a_lexemes, a_name_lexemes)
        VALUES (NEW.id,
                OLD.category_id, OLD.price_cents, OLD.stock > 0,
                OLD.is_active AND OLD.deleted_at IS NULL, OLD.purchase_count, OLD.rating_sum,
                OLD.rating_count, OLD.created_at,
                NEW.category_id, NEW.price_cents, NEW.stock > 0,
                NEW.is_active AND NEW.deleted_at IS NULL, NEW.purchase_count, NEW.rating_sum,
                NEW.rating_count, NEW.created_at,
                CASE WHEN OLD.search_vector IS DISTINCT FROM NEW.search_vector THEN catalog_lexemes(NEW.search_vector) END,
                CASE WHEN OLD.search_vector IS DISTINCT FROM NEW.search_vector THEN catalog_name_lexemes(NEW.search_vector) END);
    END IF;
    -- Wakes the API processes' listeners at commit (identical notifications of one transaction
    -- are folded into one).
    PERFORM pg_notify('catalog_changes', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER products_feed_insert AFTER INSERT OR DELETE ON products
    FOR EACH ROW EXECUTE FUNCTION catalog_record_change();
-- Only changes a listing can see: a stock change that does not cross zero writes nothing.
CREATE TRIGGER products_feed_update AFTER UPDATE ON products
    FOR EACH ROW
    WHEN (OLD.category_id IS DISTINCT FROM NEW.category_id
          OR OLD.price_cents <> NEW.price_cents
          OR (OLD.stock > 0) <> (NEW.stock > 0)
          OR OLD.is_active <> NEW.is_active
          OR (OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL)
          OR OLD.purchase_count <> NEW.purchase_count
          OR OLD.rating_sum <> NEW.rating_sum
          OR OLD.rating_count <> NEW.rating_count
          OR OLD.created_at <> NEW.created_at
          OR OLD.search_vector IS DISTINCT FROM NEW.search_vector)
    EXECUTE FUNCTION catalog_record_change();

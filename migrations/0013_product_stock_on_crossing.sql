-- Sales stop writing `products` (issue 19). Since 0010 every change of a variant's stock was added
-- to products.stock, with a version bump, while the sold variant's row was locked: a second row
-- write per sale, on a row with nine indexes and its own triggers. On the hot-SKU transaction
-- (pgbench, 16 clients, a million products) that was 790–875 tx/s against 1 190–1 390 without it;
-- and a best seller's version moved with every sale, so an admin's If-Match on it kept failing.
--
-- From here products.stock is the total of the product's variants as of the last time one of them
-- ran out or came back, or was added or removed, or the product's stock was set: between those
-- moments it is not updated, but its sign is always exact. So `stock > 0` stays the in-stock flag
-- of the listings, their filter, the rank index and its change feed (0008), and what shows the
-- total (the product's JSON) reads Σ product_variants.stock. The product's version no longer moves
-- with its stock.

-- The total, recomputed when a variant crosses zero (or is added or removed). The products row is
-- locked first, in its own statement: the sum is then read with a snapshot taken after the lock,
-- so two transactions each emptying a variant of one product cannot both miss the other's change.
CREATE OR REPLACE FUNCTION product_variants_follow_stock() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    pid bigint;
BEGIN
    IF pg_trigger_depth() > 1 THEN
        RETURN NULL;
    END IF;
    pid := CASE WHEN TG_OP = 'DELETE' THEN OLD.product_id ELSE NEW.product_id END;
    PERFORM 1 FROM products WHERE id = pid FOR UPDATE;
    UPDATE products
       SET stock = (SELECT coalesce(sum(v.stock), 0) FROM product_variants v WHERE v.product_id = pid)
     WHERE id = pid;
    RETURN NULL;
END $$;
DROP TRIGGER product_variants_follow_stock ON product_variants;
CREATE TRIGGER product_variants_follow_stock AFTER UPDATE OF stock ON product_variants
    FOR EACH ROW WHEN ((OLD.stock > 0) IS DISTINCT FROM (NEW.stock > 0))
    EXECUTE FUNCTION product_variants_follow_stock();

-- A write of products.stock (an earlier release's product PATCH or restock) sets the product's total:
-- the default variant takes the difference from the variants' actual total, not from the stored
-- total, which may be behind.
CREATE OR REPLACE FUNCTION products_forward_stock() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF pg_trigger_depth() > 1 THEN
        RETURN NEW;
    END IF;
    UPDATE product_variants
       SET stock = stock + (NEW.stock - (SELECT coalesce(sum(v.stock), 0) FROM product_variants v
                                          WHERE v.product_id = NEW.id)),
           version = version + 1,
           fence_token = greatest(fence_token, NEW.fence_token)
     WHERE product_id = NEW.id AND is_default;
    RETURN NEW;
END $$;

COMMENT ON COLUMN products.stock IS
    'the variants'' total stock when one last crossed zero (or was added or removed, or the total was set): '
    'its sign is exact; the live total is sum(product_variants.stock)';
COMMENT ON TABLE inventory_movements IS
    'Append-only stock ledger: product_variants.stock = sum(delta) per variant. Never UPDATE or DELETE.';

-- The code sells variants (issue 19, stage 2 of plans/variants-and-carts.md): checkout, returns
-- and the ledger write product_variants.stock and name the variant. An order may hold two variants
-- of one product, and each variant has its own opening balance, so the keys that assumed one stock
-- unit per product move to the variant.
--
-- products.stock stays, as the sum of its variants' stock, for the listings, the rank feed and the
-- previous release (whose writes still reach the default variant through 0009's forwarding). A
-- change of a variant's stock made by the code is added to its product here; one made by the
-- forwarding (the products row changed first) is not added back.

-- 0009's forwarding, now skipped when the products row is being changed by this file's trigger.
CREATE OR REPLACE FUNCTION products_forward_stock() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF pg_trigger_depth() > 1 THEN
        RETURN NEW;
    END IF;
    UPDATE product_variants
       SET stock = stock + (NEW.stock - OLD.stock),
           version = version + 1,
           fence_token = greatest(fence_token, NEW.fence_token)
     WHERE product_id = NEW.id AND is_default;
    RETURN NEW;
END $$;

-- A variant's stock reaches its product's total (and the product's version: its JSON shows the
-- stock, so its ETag must move): a change, a new variant with stock, a variant removed. Skipped when
-- the change came from a trigger on products (the forwarding above, or the default variant a new
-- product gets with the product's stock already counted).
CREATE FUNCTION product_variants_follow_stock() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    delta integer;
    pid bigint;
BEGIN
    IF pg_trigger_depth() > 1 THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        delta := NEW.stock; pid := NEW.product_id;
    ELSIF TG_OP = 'DELETE' THEN
        delta := -OLD.stock; pid := OLD.product_id;
    ELSE
        delta := NEW.stock - OLD.stock; pid := NEW.product_id;
    END IF;
    IF delta <> 0 THEN
        UPDATE products SET stock = stock + delta, version = version + 1 WHERE id = pid;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER product_variants_follow_stock AFTER UPDATE OF stock ON product_variants
    FOR EACH ROW WHEN (OLD.stock IS DISTINCT FROM NEW.stock)
    EXECUTE FUNCTION product_variants_follow_stock();
-- A bulk load (the seeder) writes the default variants of products whose stock it loaded already.
CREATE TRIGGER product_variants_follow_insert AFTER INSERT OR DELETE ON product_variants
    FOR EACH ROW WHEN (coalesce(current_setting('emporium.bulk_load', true), '') <> 'on')
    EXECUTE FUNCTION product_variants_follow_stock();

-- Order items: one line per variant (two sizes of one shirt are two lines).
CREATE UNIQUE INDEX order_items_order_variant_key ON order_items (order_id, variant_id);
ALTER TABLE order_items DROP CONSTRAINT order_items_pkey,
    ADD CONSTRAINT order_items_pkey PRIMARY KEY USING INDEX order_items_order_variant_key;
-- The recommendations read (order_id, product_id) pairs with an index-only scan, as the old key gave.
CREATE INDEX order_items_order_product_idx ON order_items (order_id, product_id);

-- The ledger: one opening balance per variant; an order reserves a variant once and gives it back
-- at most once per reason.
DROP INDEX inventory_movements_one_initial;
CREATE UNIQUE INDEX inventory_movements_one_initial ON inventory_movements (variant_id)
    WHERE reason = 'initial';
DROP INDEX inventory_movements_order_once;
CREATE UNIQUE INDEX inventory_movements_order_once ON inventory_movements (order_id, variant_id, reason)
    WHERE order_id IS NOT NULL;

COMMENT ON TABLE inventory_movements IS
    'Append-only stock ledger: product_variants.stock = sum(delta) per variant, and products.stock = '
    'sum(delta) per product. Never UPDATE or DELETE.';
COMMENT ON COLUMN products.stock IS 'the sum of its variants'' stock (kept by product_variants_follow_stock)';

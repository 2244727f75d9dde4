-- The price range of a product's active variants, kept on the products row so listings can show it
-- without reading the variants (issue 19, stage 3 of plans/variants-and-carts.md).
--
-- price_min_cents / price_max_cents: the lowest and highest effective price (the variant's
-- override, else the product's price) of its active, undeleted variants; the product's own price
-- when it has none. They change only with an admin's write (a variant's price, active flag or
-- deletion, a new variant, the product's price): sales never write them, so checkouts take no
-- extra lock. NULL (rows loaded in bulk with the triggers skipped) reads as the product's price.

ALTER TABLE products ADD COLUMN price_min_cents bigint, ADD COLUMN price_max_cents bigint;
COMMENT ON COLUMN products.price_min_cents IS
    'lowest effective price of the active variants (kept by variants_price_range); NULL: price_cents';
COMMENT ON COLUMN products.price_max_cents IS
    'highest effective price of the active variants (kept by variants_price_range); NULL: price_cents';

-- The range of product `pid` whose own price is `own`.
CREATE FUNCTION variants_price_bounds(pid bigint, own bigint, OUT lo bigint, OUT hi bigint)
LANGUAGE sql STABLE AS $$
    SELECT coalesce(min(coalesce(v.price_cents, own)), own), coalesce(max(coalesce(v.price_cents, own)), own)
      FROM product_variants v
     WHERE v.product_id = pid AND v.is_active AND v.deleted_at IS NULL
$$;

-- A variant written: its product's range again. The products row is locked by the UPDATE, after
-- the variant (the order checkout uses too).
CREATE FUNCTION variants_price_range() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    pid bigint;
BEGIN
    pid := CASE WHEN TG_OP = 'DELETE' THEN OLD.product_id ELSE NEW.product_id END;
    UPDATE products p
       SET price_min_cents = b.lo, price_max_cents = b.hi
      FROM variants_price_bounds(pid, (SELECT price_cents FROM products WHERE id = pid)) b
     WHERE p.id = pid
       AND (p.price_min_cents IS DISTINCT FROM b.lo OR p.price_max_cents IS DISTINCT FROM b.hi);
    RETURN NULL;
END $$;
CREATE TRIGGER product_variants_price_range_insert AFTER INSERT OR DELETE ON product_variants
    FOR EACH ROW WHEN (coalesce(current_setting('emporium.bulk_load', true), '') <> 'on')
    EXECUTE FUNCTION variants_price_range();
CREATE TRIGGER product_variants_price_range_update AFTER UPDATE OF price_cents, is_active, deleted_at ON product_variants
    FOR EACH ROW
    WHEN (OLD.price_cents IS DISTINCT FROM NEW.price_cents OR OLD.is_active <> NEW.is_active
          OR (OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL))
    EXECUTE FUNCTION variants_price_range();

-- The product's own price changed: the variants without an override follow it.
CREATE FUNCTION products_price_range() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    SELECT b.lo, b.hi INTO NEW.price_min_cents, NEW.price_max_cents
      FROM variants_price_bounds(NEW.id, NEW.price_cents) b;
    RETURN NEW;
END $$;
CREATE TRIGGER products_price_range BEFORE INSERT OR UPDATE OF price_cents ON products
    FOR EACH ROW WHEN (coalesce(current_setting('emporium.bulk_load', true), '') <> 'on')
    EXECUTE FUNCTION products_price_range();

UPDATE products p
   SET price_min_cents = b.lo, price_max_cents = b.hi
  FROM products q CROSS JOIN LATERAL variants_price_bounds(q.id, q.price_cents) b
 WHERE p.id = q.id;

-- Captured payments that must be refunded (issue #23): each order records the payment that paid
-- it, so a capture that arrives for an order another payment already paid (a second charge: e.g. a
-- provider's late success for a payment we had given up on) or for an order that can no longer be
-- paid (cancelled, expired) is recognised, and flagged on the payment for the admin and the
-- refunds to come.

ALTER TABLE orders ADD COLUMN paid_payment_id bigint REFERENCES payments (id) ON DELETE RESTRICT;
COMMENT ON COLUMN orders.paid_payment_id IS
    'the captured payment that paid the order (set with status paid, never changed after); NULL for '
    'unpaid orders and for orders paid before payments were recorded (seeded ones)';

ALTER TABLE payments ADD COLUMN flag_reason text;
ALTER TABLE payments ADD COLUMN flagged_at timestamptz;
ALTER TABLE payments ADD CONSTRAINT payments_flag_reason_valid
    CHECK (flag_reason IN ('paid_by_other_payment', 'order_cancelled', 'order_expired'));
ALTER TABLE payments ADD CONSTRAINT payments_flag_complete CHECK ((flag_reason IS NULL) = (flagged_at IS NULL));
ALTER TABLE payments ADD CONSTRAINT payments_flag_only_when_charged
    CHECK (flag_reason IS NULL OR status IN ('captured', 'refunded'));
COMMENT ON COLUMN payments.flag_reason IS
    'why captured money must go back: paid_by_other_payment (the order was paid by another payment), '
    'order_cancelled, order_expired; NULL for every payment that needs nothing';
COMMENT ON COLUMN payments.flagged_at IS 'when the payment was flagged (set once, with flag_reason)';
-- The admin list (newest first) and the refunds to come read only flagged rows.
CREATE INDEX payments_flagged_idx ON payments (id) WHERE flagged_at IS NOT NULL;

-- Backfill, without touching updated_at: a paid or fulfilled order was paid by its first captured
-- payment; the other captured payments of such orders, and the captured payments of cancelled or
-- expired orders, are the double charges and lost payments nobody saw so far.
ALTER TABLE orders DISABLE TRIGGER orders_touch;
UPDATE orders o SET paid_payment_id = first.id
FROM (SELECT DISTINCT ON (order_id) order_id, id FROM payments WHERE status = 'captured'
      ORDER BY order_id, captured_at, id) AS first
WHERE first.order_id = o.id AND o.status IN ('paid', 'fulfilled');
ALTER TABLE orders ENABLE TRIGGER orders_touch;

ALTER TABLE payments DISABLE TRIGGER payments_touch;
UPDATE payments p SET flagged_at = now(),
    flag_reason = CASE o.status WHEN 'cancelled' THEN 'order_cancelled'
                                WHEN 'expired' THEN 'order_expired'
                                ELSE 'paid_by_other_payment' END
FROM orders o
WHERE o.id = p.order_id AND p.status = 'captured'
  AND (o.status IN ('cancelled', 'expired')
       OR (o.status IN ('paid', 'fulfilled') AND p.id IS DISTINCT FROM o.paid_payment_id));
ALTER TABLE payments ENABLE TRIGGER payments_touch;

ALTER TABLE orders ADD CONSTRAINT orders_paid_payment_only_when_paid
    CHECK (paid_payment_id IS NULL OR status IN ('paid', 'fulfilled'));

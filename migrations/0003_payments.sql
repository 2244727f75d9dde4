-- Payments (issue #8): the payment method of each attempt, at most one attempt in flight per
-- order, provider webhook events (deduplicated by provider event id), and expiry of orders whose
-- payment was declined (they keep their reservation until then, so the customer can pay again).

ALTER TABLE payments ADD COLUMN method_token text NOT NULL DEFAULT '';
ALTER TABLE payments ADD CONSTRAINT payments_method_token_length CHECK (length(method_token) <= 255);
COMMENT ON COLUMN payments.method_token IS
    'the provider''s payment method reference (tok_…/pm_…), never card data';

-- Two concurrent "pay" requests for one order cannot both start a capture.
CREATE UNIQUE INDEX payments_one_pending_per_order ON payments (order_id) WHERE status = 'pending';

CREATE TABLE webhook_events (
    provider    text        NOT NULL,
    event_id    text        NOT NULL,
    event_type  text        NOT NULL,
    payment_id  bigint      REFERENCES payments (id) ON DELETE RESTRICT,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, event_id),
    CONSTRAINT webhook_events_event_id_length CHECK (length(event_id) BETWEEN 1 AND 255)
);
COMMENT ON TABLE webhook_events IS
    'Provider events already applied; a replayed or duplicate delivery finds its row and is ignored.';

-- Unpaid orders include those whose payment was declined.
DROP INDEX orders_pending_expiry_idx;
CREATE INDEX orders_unpaid_expiry_idx ON orders (expires_at) WHERE status IN ('pending_payment', 'payment_failed');
COMMENT ON COLUMN orders.status IS
    'pending_payment -> paid -> fulfilled; pending_payment -> cancelled | expired (stock returned); '
    'pending_payment -> payment_failed (declined; stock stays reserved) -> paid | cancelled | expired';

-- Recommendations (issue #9): the rebuild streams the items of paid and fulfilled orders in
-- order-id ranges and leaves out the orders in any other state. This small partial index holds
-- exactly those (pending, failed, cancelled, expired), so each range finds them with an
-- index-only scan instead of reading every order's row for its status.
CREATE INDEX orders_unsettled_idx ON orders (id) WHERE status NOT IN ('paid', 'fulfilled');

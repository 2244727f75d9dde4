-- The outbox relay LISTENs on `outbox_new`: one NOTIFY per inserting statement wakes it at
-- commit (notifications are delivered only when the transaction commits, and identical payloads
-- within one transaction are folded into one), so events are published in milliseconds while the
-- relay's periodic poll remains the safety net.
CREATE FUNCTION outbox_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('outbox_new', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();

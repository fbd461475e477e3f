-- Hand-written (Prisma does not model triggers). Control audit.append-only (CP/CPS 5.4.4):
-- the audit table only grows, and each new row must extend the chain head.

-- Rejects UPDATE, DELETE and TRUNCATE on audit_event.
CREATE FUNCTION "audit_event_reject_change"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_event is append-only: % rejected', TG_OP
        USING ERRCODE = 'insufficient_privilege', HINT = 'audit.append-only (CP/CPS 5.4.4)';
END;
$$;

CREATE TRIGGER "audit_event_no_update_delete"
    BEFORE UPDATE OR DELETE ON "audit_event"
    FOR EACH ROW EXECUTE FUNCTION "audit_event_reject_change"();

CREATE TRIGGER "audit_event_no_truncate"
    BEFORE TRUNCATE ON "audit_event"
    FOR EACH STATEMENT EXECUTE FUNCTION "audit_event_reject_change"();

-- A new row must be the next seq and name the current head's hash as prev_hash
-- (the writer serialises appends with an advisory lock; this catches any other writer).
CREATE FUNCTION "audit_event_check_link"() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    head_seq BIGINT;
    head_hash CHAR(64);
BEGIN
    SELECT "seq", "hash" INTO head_seq, head_hash FROM "audit_event" ORDER BY "seq" DESC LIMIT 1;
    IF head_seq IS NULL THEN
        head_seq := 0;
        head_hash := repeat('0', 64);
    END IF;
    IF NEW."seq" <> head_seq + 1 OR NEW."prev_hash" <> head_hash THEN
        RAISE EXCEPTION 'audit_event chain broken: row % must be % and link to the head hash', NEW."seq", head_seq + 1
            USING ERRCODE = 'integrity_constraint_violation', HINT = 'audit.chain.hash-linked (CP/CPS 5.4.4)';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER "audit_event_check_link"
    BEFORE INSERT ON "audit_event"
    FOR EACH ROW EXECUTE FUNCTION "audit_event_check_link"();

-- The audit trail: append-only and hash-chained. Each event's hash covers its fields and
-- the previous event's hash, so editing, deleting, inserting or reordering rows breaks the
-- chain where it happened. `audit_head` serialises appends: every append updates its one
-- row first, which orders concurrent writers on every backend and instance.
-- Payloads are small typed JSON of identifiers and counts: never message content.

CREATE TABLE audit_events (
    seq             INTEGER PRIMARY KEY,
    at              INTEGER NOT NULL,
    kind            TEXT    NOT NULL,
    actor_id        INTEGER,
    actor_org_id    INTEGER,
    subject_type    TEXT    NOT NULL,
    subject_id      INTEGER,
    case_id         INTEGER,
    client_address  TEXT    NOT NULL DEFAULT '',
    payload         TEXT    NOT NULL DEFAULT '{}',
    prev_hash       TEXT    NOT NULL,
    hash            TEXT    NOT NULL
);
CREATE INDEX audit_subject ON audit_events (subject_type, subject_id, seq);
CREATE INDEX audit_case ON audit_events (case_id, seq);
CREATE INDEX audit_actor ON audit_events (actor_id, seq);
CREATE INDEX audit_kind_at ON audit_events (kind, at);

CREATE TABLE audit_head (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    seq   INTEGER NOT NULL,
    hash  TEXT    NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- How far the scheduled check has verified the audit chain: every event up to `up_to_seq`
-- (whose hash was `up_to_hash`) was checked, link by link, from the start; each run
-- checks only what came after. Audit pages show this instead of walking the chain.
-- `broken` names the first break found (the check then stays at the last good event).
CREATE TABLE audit_checkpoint (
    id           BIGINT PRIMARY KEY CHECK (id = 1),
    up_to_seq    BIGINT  NOT NULL,
    up_to_hash   TEXT    NOT NULL,
    verified_at  BIGINT  NOT NULL,
    broken       TEXT
);

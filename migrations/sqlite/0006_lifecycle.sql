-- Account lifecycle: registration details, invitations, notification email outbox, and
-- locks that let exactly one instance run each scheduled job.

-- A solicitor's professional reference (e.g. Law Society roll number), given at registration.
ALTER TABLE users ADD COLUMN professional_reference TEXT NOT NULL DEFAULT '';
-- Why the account is in its status (e.g. "inactive for 30 days", a rejection reason).
ALTER TABLE users ADD COLUMN status_reason TEXT NOT NULL DEFAULT '';
-- A firm registered by its first solicitor waits for approval with them.
ALTER TABLE organisations ADD COLUMN approved INTEGER NOT NULL DEFAULT 1;

CREATE TABLE invitations (
    id               INTEGER PRIMARY KEY,
    organisation_id  INTEGER NOT NULL REFERENCES organisations (id),
    email            TEXT    NOT NULL,
    name             TEXT    NOT NULL,
    is_admin         INTEGER NOT NULL DEFAULT 0,
    -- SHA-256 of the single-use token in the link; the token itself is never stored.
    token_hash       TEXT    NOT NULL UNIQUE,
    invited_by       INTEGER REFERENCES users (id),
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL,
    accepted_at      INTEGER
);
CREATE INDEX invitations_email ON invitations (email);

-- Notification email waiting to go out (or kept as a record once sent). Notifications
-- never carry case content. `dedupe_key` stops a warning being queued twice.
CREATE TABLE notifications (
    id               INTEGER PRIMARY KEY,
    recipient        TEXT    NOT NULL,
    subject          TEXT    NOT NULL,
    body             TEXT    NOT NULL,
    dedupe_key       TEXT    UNIQUE,
    created_at       INTEGER NOT NULL,
    sent_at          INTEGER,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    last_error       TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX notifications_due ON notifications (sent_at, next_attempt_at);

CREATE TABLE job_locks (
    name        TEXT    PRIMARY KEY,
    holder      TEXT    NOT NULL,
    expires_at  INTEGER NOT NULL
);

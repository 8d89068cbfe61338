-- Account lifecycle: registration details, invitations, notification email outbox, and
-- locks that let exactly one instance run each scheduled job.

-- A solicitor's professional reference (e.g. Law Society roll number), given at registration.
ALTER TABLE users ADD COLUMN professional_reference TEXT NOT NULL DEFAULT '';
-- Why the account is in its status (e.g. "inactive for 30 days", a rejection reason).
ALTER TABLE users ADD COLUMN status_reason TEXT NOT NULL DEFAULT '';
-- A firm registered by its first solicitor waits for approval with them.
ALTER TABLE organisations ADD COLUMN approved BIGINT  NOT NULL DEFAULT 1;

CREATE TABLE invitations (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organisation_id  BIGINT  NOT NULL REFERENCES organisations (id),
    email            TEXT    NOT NULL,
    name             TEXT    NOT NULL,
    is_admin         BIGINT  NOT NULL DEFAULT 0,
    -- SHA-256 of the single-use token in the link; the token itself is never stored.
    token_hash       TEXT    NOT NULL UNIQUE,
    invited_by       BIGINT  REFERENCES users (id),
    created_at       BIGINT  NOT NULL,
    expires_at       BIGINT  NOT NULL,
    accepted_at      BIGINT 
);
CREATE INDEX invitations_email ON invitations (email);

-- Notification email waiting to go out (or kept as a record once sent). Notifications
-- never carry case content. `dedupe_key` stops a warning being queued twice.
CREATE TABLE notifications (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    recipient        TEXT    NOT NULL,
    subject          TEXT    NOT NULL,
    body             TEXT    NOT NULL,
    dedupe_key       TEXT    UNIQUE,
    created_at       BIGINT  NOT NULL,
    sent_at          BIGINT ,
    attempts         BIGINT  NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT  NOT NULL,
    last_error       TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX notifications_due ON notifications (sent_at, next_attempt_at);

CREATE TABLE job_locks (
    name        TEXT    PRIMARY KEY,
    holder      TEXT    NOT NULL,
    expires_at  BIGINT  NOT NULL
);

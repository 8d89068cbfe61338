-- The gateway to secure mail domains outside Casemail (off unless configured).
--
-- A secure domain is a mail domain Casemail exchanges mail with, kept by service
-- administrators, with the TLS its servers must meet: a certificate verified for the
-- domain's name, or a named certificate (its SHA-256 fingerprint). Its people appear in
-- Casemail as members of an organisation (`organisation_id`). `next_hop` (host:port)
-- sends its mail to a named server instead of the domain's MX. `dkim_failure` says what
-- happens to a message from it that fails DKIM: refused, or delivered marked as failed.
CREATE TABLE secure_domains (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    domain           TEXT    NOT NULL UNIQUE,
    organisation_id  BIGINT  NOT NULL REFERENCES organisations (id),
    tls_policy       TEXT    NOT NULL CHECK (tls_policy IN ('verify', 'fingerprint')),
    fingerprint      TEXT,
    next_hop         TEXT,
    dkim_failure     TEXT    NOT NULL DEFAULT 'reject' CHECK (dkim_failure IN ('reject', 'mark')),
    created_at       BIGINT  NOT NULL
);

-- A person at a secure domain, as Casemail knows them: a users row that can never sign
-- in (no password, no keys), so that messages, addressees and timelines name them as
-- they name anyone. Made on the first letter from or to their address.
ALTER TABLE users ADD COLUMN is_external BIGINT  NOT NULL DEFAULT 0;

-- The Internet Message-ID of a message that crossed the gateway (sent out, or received),
-- so that replies from outside join their conversation.
ALTER TABLE messages ADD COLUMN internet_id TEXT;
-- For a message received from outside: how it arrived and what its authentication checks
-- found ("TLSv1.3; SPF pass; DKIM pass; DMARC pass"), shown with the letter.
ALTER TABLE messages ADD COLUMN received_via TEXT;
CREATE INDEX messages_internet_id ON messages (internet_id) WHERE internet_id IS NOT NULL;

-- Letters on their way out: the whole RFC 5322 message, sealed with age to the gateway's
-- key, in the blob store; handed to the mail server, whose reports (relayed, delayed,
-- failed) come back as delivery status notifications. Claimed row by row, as
-- notifications are.
CREATE TABLE outbound_mail (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id       BIGINT  NOT NULL REFERENCES messages (id),
    recipient_id     BIGINT  NOT NULL REFERENCES users (id),
    blob_id          TEXT    NOT NULL,
    state            TEXT    NOT NULL CHECK (state IN ('queued', 'handed', 'relayed', 'delayed', 'failed')),
    attempts         BIGINT  NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT  NOT NULL,
    claimed_by       TEXT,
    claimed_until    BIGINT  NOT NULL DEFAULT 0,
    detail           TEXT    NOT NULL DEFAULT '',
    created_at       BIGINT  NOT NULL,
    updated_at       BIGINT  NOT NULL
);
CREATE INDEX outbound_waiting ON outbound_mail (next_attempt_at, id) WHERE state = 'queued';
CREATE INDEX outbound_of_message ON outbound_mail (message_id);

-- The mail domains of Casemail's own people (and teams): the gateway's mail server
-- accepts mail from outside for these, and asks whether each recipient exists.
CREATE TABLE local_domains (
    domain  TEXT PRIMARY KEY
);
INSERT INTO local_domains (domain)
    SELECT DISTINCT lower(split_part(email, '@', 2)) FROM users WHERE position('@' in email) > 0;

-- Organisations, users with their wrapped keys, sessions, sign-in throttling and settings.

CREATE TABLE organisations (
    id            INTEGER PRIMARY KEY,
    kind          TEXT    NOT NULL CHECK (kind IN ('prosecution', 'defence', 'court', 'service')),
    name          TEXT    NOT NULL UNIQUE,
    -- The area the organisation works in; a prosecution office administers the defence
    -- firms of its own jurisdiction.
    jurisdiction  TEXT    NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL
);

CREATE TABLE users (
    id                         INTEGER PRIMARY KEY,
    organisation_id            INTEGER NOT NULL REFERENCES organisations (id),
    email                      TEXT    NOT NULL UNIQUE,
    name                       TEXT    NOT NULL,
    is_admin                   INTEGER NOT NULL DEFAULT 0,
    status                     TEXT    NOT NULL
        CHECK (status IN ('pending', 'active', 'locked', 'suspended', 'deleted')),
    -- argon2id PHC string; NULL once the account is deleted.
    password_hash              TEXT,
    -- age X25519 public key, in clear so that anyone may encrypt to this user.
    public_recipient           TEXT    NOT NULL,
    -- The private identity, age-encrypted under the password (scrypt) and to the
    -- deployment's recovery recipient. Both are NULLed to crypto-shred the account.
    identity_wrapped_password  BLOB,
    identity_wrapped_recovery  BLOB,
    -- Which recovery recipient the recovery wrap was made for (re-wrapped at sign-in
    -- after the recovery key is rotated).
    recovery_recipient         TEXT,
    created_at                 INTEGER NOT NULL,
    last_sign_in_at            INTEGER,
    password_changed_at        INTEGER NOT NULL
);
CREATE INDEX users_organisation ON users (organisation_id);

CREATE TABLE sessions (
    -- SHA-256 of the random token in the cookie; the token itself is never stored.
    token_hash        TEXT    PRIMARY KEY,
    user_id           INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The user's identity age-encrypted to this session's key, whose secret half exists
    -- only in the browser's cookie.
    wrapped_identity  BLOB    NOT NULL,
    created_at        INTEGER NOT NULL,
    last_seen_at      INTEGER NOT NULL,
    expires_at        INTEGER NOT NULL,
    client_address    TEXT    NOT NULL DEFAULT '',
    user_agent        TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Failed sign-ins per account (by the email typed, whether or not it exists) and per
-- client address, so that a flood of guesses is refused before any password hashing.
CREATE TABLE sign_in_throttle (
    throttle_key  TEXT    PRIMARY KEY,
    window_start  INTEGER NOT NULL,
    failures      INTEGER NOT NULL,
    paused_until  INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE settings (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);

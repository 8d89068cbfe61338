-- Passkeys (WebAuthn credentials), a phishing-resistant second factor. A credential holds
-- a public key and a signature counter, nothing secret: it is kept in clear as the JSON
-- the WebAuthn library reads back.

CREATE TABLE passkeys (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id        BIGINT NOT NULL REFERENCES users (id),
    -- base64url of the authenticator's credential id: one credential, one account.
    credential_id  TEXT    NOT NULL UNIQUE,
    name           TEXT    NOT NULL,
    credential     TEXT    NOT NULL,
    created_at     BIGINT NOT NULL,
    last_used_at   BIGINT
);
CREATE INDEX passkeys_user ON passkeys (user_id);

-- The random handle authenticators know the account by (no email or name in it).
ALTER TABLE users ADD COLUMN passkey_handle TEXT;

-- A passkey ceremony in progress for this session (the challenge it must answer), spent
-- when it is answered.
ALTER TABLE sessions ADD COLUMN passkey_ceremony TEXT;

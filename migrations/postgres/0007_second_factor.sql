-- TOTP second factor. The shared secret is age-encrypted to the user's own key: it can be
-- checked only at sign-in, once the password has unwrapped that key. Recovery codes are
-- stored as SHA-256 digests (they are long random strings).

ALTER TABLE users ADD COLUMN totp_secret BYTEA;
-- A secret being enrolled, until the person proves their app shows the right codes.
ALTER TABLE users ADD COLUMN totp_pending_secret BYTEA;
-- The last time step whose code was accepted: a code is never accepted twice.
ALTER TABLE users ADD COLUMN totp_last_step BIGINT  NOT NULL DEFAULT 0;

CREATE TABLE totp_recovery_codes (
    user_id    BIGINT  NOT NULL REFERENCES users (id),
    code_hash  TEXT    NOT NULL,
    used_at    BIGINT ,
    PRIMARY KEY (user_id, code_hash)
);

-- A session that has passed the password but not yet the second factor.
ALTER TABLE sessions ADD COLUMN second_factor_pending BIGINT  NOT NULL DEFAULT 0;

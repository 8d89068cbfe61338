-- Self-service recovery: the identity wrapped a third time, under a one-time recovery
-- code shown to the person (high-entropy, so a light scrypt work factor suffices).
-- After an administrator's recovery or new keys, the person must choose a new password.

ALTER TABLE users ADD COLUMN identity_wrapped_code BYTEA;
ALTER TABLE users ADD COLUMN must_change_password BIGINT  NOT NULL DEFAULT 0;

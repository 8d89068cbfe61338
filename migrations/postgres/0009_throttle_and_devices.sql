-- Throttling that reserves an attempt before it is checked (so simultaneous requests
-- cannot all pass), and devices that have signed in before, which keep passing when an
-- account is paused for everyone else.

DROP TABLE sign_in_throttle;

CREATE TABLE throttle_attempts (
    throttle_key  TEXT    PRIMARY KEY,
    window_start  BIGINT  NOT NULL,
    attempts      BIGINT  NOT NULL,
    paused_until  BIGINT  NOT NULL DEFAULT 0,
    -- Whether the last reservation was granted (1) or refused because paused (0).
    granted       BIGINT  NOT NULL DEFAULT 0
);

CREATE TABLE trusted_devices (
    token_hash    TEXT    PRIMARY KEY,
    user_id       BIGINT  NOT NULL REFERENCES users (id),
    created_at    BIGINT  NOT NULL,
    last_used_at  BIGINT  NOT NULL
);
CREATE INDEX trusted_devices_user ON trusted_devices (user_id);

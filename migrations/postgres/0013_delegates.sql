-- Delegates: a mailbox owner lets a colleague of the same organisation work in their
-- mailbox, reading only or reading and sending. The grant holds the owner's identity
-- wrapped with age to the delegate, made in the owner's own session: no administrator
-- can make one, and withdrawing it deletes the wrap.
CREATE TABLE delegations (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    owner_id     BIGINT  NOT NULL REFERENCES users (id),
    delegate_id  BIGINT  NOT NULL REFERENCES users (id),
    can_send     BIGINT  NOT NULL DEFAULT 0,
    wrapped      BYTEA   NOT NULL,
    granted_at   BIGINT  NOT NULL,
    UNIQUE (owner_id, delegate_id)
);
CREATE INDEX delegations_delegate ON delegations (delegate_id);

-- The mailbox a session works in when its user has switched to one delegated to them.
ALTER TABLE sessions ADD COLUMN acting_for BIGINT  REFERENCES users (id);

-- Who pressed Send, when a delegate sent a message from the mailbox of `sender_id`.
ALTER TABLE messages ADD COLUMN sent_by BIGINT  REFERENCES users (id);

-- Delegates: a mailbox owner lets a colleague of the same organisation work in their
-- mailbox, reading only or reading and sending. The grant holds the owner's identity
-- wrapped with age to the delegate, made in the owner's own session: no administrator
-- can make one, and withdrawing it deletes the wrap.
CREATE TABLE delegations (
    id           INTEGER PRIMARY KEY,
    owner_id     INTEGER NOT NULL REFERENCES users (id),
    delegate_id  INTEGER NOT NULL REFERENCES users (id),
    can_send     INTEGER NOT NULL DEFAULT 0,
    wrapped      BLOB    NOT NULL,
    granted_at   INTEGER NOT NULL,
    UNIQUE (owner_id, delegate_id)
);
CREATE INDEX delegations_delegate ON delegations (delegate_id);

-- The mailbox a session works in when its user has switched to one delegated to them.
ALTER TABLE sessions ADD COLUMN acting_for INTEGER REFERENCES users (id);

-- Who pressed Send, when a delegate sent a message from the mailbox of `sender_id`.
ALTER TABLE messages ADD COLUMN sent_by INTEGER REFERENCES users (id);

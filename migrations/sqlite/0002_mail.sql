-- Mail: threads, messages and one mailbox entry per person holding a copy.
-- Content (subject, body, attachment names) exists only as age ciphertext: `envelope` is
-- addressed to every recipient and the sender, `summary` to the one mailbox owner (so lists
-- decrypt one small item per row), `drafts.content` to the author.

-- People who can be written to but are not listed in the directory.
ALTER TABLE users ADD COLUMN ex_directory INTEGER NOT NULL DEFAULT 0;

CREATE TABLE threads (
    id          INTEGER PRIMARY KEY,
    kind        TEXT    NOT NULL DEFAULT 'correspondence' CHECK (kind IN ('correspondence', 'plea')),
    created_by  INTEGER NOT NULL REFERENCES users (id),
    created_at  INTEGER NOT NULL
);

CREATE TABLE messages (
    id                INTEGER PRIMARY KEY,
    thread_id         INTEGER NOT NULL REFERENCES threads (id),
    sender_id         INTEGER NOT NULL REFERENCES users (id),
    sent_at           INTEGER NOT NULL,
    envelope          BLOB    NOT NULL,
    -- Plaintext size of body and attachments together: routing metadata, like the time.
    size              INTEGER NOT NULL,
    attachment_count  INTEGER NOT NULL DEFAULT 0,
    forwarded_from    INTEGER REFERENCES messages (id)
);
CREATE INDEX messages_thread ON messages (thread_id, sent_at);

-- Who a message was addressed to, and how (To or Cc).
CREATE TABLE message_addressees (
    message_id  INTEGER NOT NULL REFERENCES messages (id),
    user_id     INTEGER NOT NULL REFERENCES users (id),
    kind        TEXT    NOT NULL CHECK (kind IN ('to', 'cc')),
    PRIMARY KEY (message_id, user_id)
);

CREATE TABLE mailbox_entries (
    id              INTEGER PRIMARY KEY,
    user_id         INTEGER NOT NULL REFERENCES users (id),
    message_id      INTEGER NOT NULL REFERENCES messages (id),
    thread_id       INTEGER NOT NULL REFERENCES threads (id),
    folder          TEXT    NOT NULL CHECK (folder IN ('inbox', 'sent', 'archive', 'deleted')),
    -- Where a deleted entry goes back to when restored.
    restore_folder  TEXT    NOT NULL CHECK (restore_folder IN ('inbox', 'sent', 'archive')),
    is_read         INTEGER NOT NULL DEFAULT 0,
    sent_at         INTEGER NOT NULL,
    delivered_at    INTEGER NOT NULL,
    first_read_at   INTEGER,
    has_attachments INTEGER NOT NULL DEFAULT 0,
    summary         BLOB    NOT NULL,
    UNIQUE (user_id, message_id)
);
CREATE INDEX mailbox_folder ON mailbox_entries (user_id, folder, sent_at DESC, id DESC);
CREATE INDEX mailbox_thread ON mailbox_entries (user_id, thread_id);

CREATE TABLE attachments (
    message_id  INTEGER NOT NULL REFERENCES messages (id),
    position    INTEGER NOT NULL,
    -- Name of the age stream in the blob store.
    blob_id     TEXT    NOT NULL,
    size        INTEGER NOT NULL,
    PRIMARY KEY (message_id, position)
);

CREATE TABLE drafts (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    updated_at  INTEGER NOT NULL,
    content     BLOB    NOT NULL
);
CREATE INDEX drafts_user ON drafts (user_id, updated_at DESC);

-- Fast unread counts, and each user's encrypted search index.

CREATE INDEX mailbox_unread ON mailbox_entries (user_id, folder, is_read);

-- Search text of many mailbox entries in one age file addressed to the mailbox owner, so a
-- search decrypts a few segments instead of one summary per message. Entries newer than
-- `last_entry_id` are read from their own summaries until the next compaction.
CREATE TABLE search_segments (
    id             INTEGER PRIMARY KEY,
    user_id        INTEGER NOT NULL REFERENCES users (id),
    last_entry_id  INTEGER NOT NULL,
    entry_count    INTEGER NOT NULL,
    content        BLOB    NOT NULL
);
CREATE INDEX search_segments_user ON search_segments (user_id, last_entry_id);

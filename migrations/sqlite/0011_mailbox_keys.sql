-- Each mailbox's symmetric key, wrapped with age to the mailbox's identity. Summaries the
-- owner has opened are kept sealed under it ("taken in"), so listing a page costs symmetric
-- decryption only, and the search index becomes per-bucket postings sealed under it.

CREATE TABLE mailbox_keys (
    user_id     INTEGER PRIMARY KEY REFERENCES users (id),
    wrapped     BLOB    NOT NULL,
    created_at  INTEGER NOT NULL
);

-- 0 while the summary is still the age item the delivery wrote; 1 once re-sealed and indexed.
ALTER TABLE mailbox_entries ADD COLUMN taken_in INTEGER NOT NULL DEFAULT 0;
CREATE INDEX mailbox_entries_waiting ON mailbox_entries (user_id, id) WHERE taken_in = 0;

-- Search terms -> entry ids, sealed under the mailbox key. A term's bucket is a keyed hash
-- of its first letters, so the database sees only bucket numbers.
CREATE TABLE search_postings (
    id       INTEGER PRIMARY KEY,
    user_id  INTEGER NOT NULL REFERENCES users (id),
    bucket   INTEGER NOT NULL,
    content  BLOB    NOT NULL
);
CREATE INDEX search_postings_bucket ON search_postings (user_id, bucket, id);

-- The earlier index (whole search text per segment, scanned per search) is rebuilt as
-- postings when each owner next signs in.
DROP TABLE search_segments;

-- Spotting the same letter sent twice into one office. A fingerprint is a keyed hash of
-- the letter (case, subject and text) under the sender's own mailbox naming key: equal
-- for the same letter from the same sender, meaningless to anyone without that key.
ALTER TABLE messages ADD COLUMN fingerprint TEXT;
CREATE INDEX messages_fingerprint ON messages (sender_id, fingerprint) WHERE fingerprint IS NOT NULL;

-- On a copy: the earlier message from the same sender, with the same fingerprint, that
-- already reached a mailbox of this copy's organisation.
ALTER TABLE mailbox_entries ADD COLUMN duplicate_of BIGINT REFERENCES messages (id);

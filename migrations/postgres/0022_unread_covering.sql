-- The unread count on every page walks up to a thousand of a folder's newest unread copies
-- and asks of each whether its case is visible: with the case in the index it reads only
-- the index, not a thousand table rows (a cold read of those rows grew with the database).
DROP INDEX mailbox_unread_newest;
CREATE INDEX mailbox_unread_newest ON mailbox_entries (user_id, folder, is_read, id, case_id);

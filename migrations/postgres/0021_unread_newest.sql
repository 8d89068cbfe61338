-- The unread count reads a folder's unread copies newest first and stops at a cap: an
-- index with the id as its last key lets it stop early whatever the planner estimates.
-- (Its statistics cannot see that one large mailbox's unread copies are few: with this
-- index and an order, the plan no longer depends on the estimate.)
DROP INDEX mailbox_unread;
CREATE INDEX mailbox_unread_newest ON mailbox_entries (user_id, folder, is_read, id);

-- Notifications are claimed before they are sent, so that several instances sharing the
-- database send each one once: an instance sets `claimed_by` and a lease (`claimed_until`,
-- Unix seconds) in the same statement that picks the rows; a lease that runs out (the
-- instance died mid-send) lets another instance take the row again.
ALTER TABLE notifications ADD COLUMN claimed_by TEXT;
ALTER TABLE notifications ADD COLUMN claimed_until INTEGER NOT NULL DEFAULT 0;

-- The sender reads only what waits: sent history does not slow it down.
DROP INDEX notifications_due;
CREATE INDEX notifications_waiting ON notifications (next_attempt_at, id) WHERE sent_at IS NULL;

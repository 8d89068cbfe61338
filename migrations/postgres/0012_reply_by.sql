-- Reply-by dates: when a sender needs an answer. Kept per copy, because each addressee
-- answers (or says no reply is needed) for themselves, and the sender's own copy carries
-- the date so that Sent shows how the answers stand. A date is routing metadata, like the
-- time a message was sent; nothing of the content is here.
ALTER TABLE mailbox_entries ADD COLUMN reply_by BIGINT;
-- 'none': nothing is asked of this copy's owner (the sender's copy, Cc, or no date);
-- 'open': waiting for them; 'answered': they wrote in the thread since; 'not_needed'.
ALTER TABLE mailbox_entries ADD COLUMN reply_state TEXT NOT NULL DEFAULT 'none'
    CHECK (reply_state IN ('none', 'open', 'answered', 'not_needed'));
ALTER TABLE mailbox_entries ADD COLUMN reply_closed_at BIGINT;
-- Reminder email sent for this copy: 0 none yet, 1 the day before, 2 once overdue.
ALTER TABLE mailbox_entries ADD COLUMN reply_reminded BIGINT NOT NULL DEFAULT 0;
CREATE INDEX mailbox_due ON mailbox_entries (user_id, reply_by) WHERE reply_state = 'open';
CREATE INDEX mailbox_reply_reminders ON mailbox_entries (reply_by)
    WHERE reply_state = 'open' AND reply_reminded < 2;

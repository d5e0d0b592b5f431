-- whatsend schema, version 7: send windows, the stale-run guard and
-- uncertain recipients settled by silence.
-- A pending recipient outside its send window is held: next_attempt_at is
-- when its window opens (Due skips it until then). expired is a recipient
-- state of its own (--not-after passed before it was sent).
-- resent_after_silence: an uncertain recipient re-queued once because no
-- status came for it while the webhook receiver was demonstrably up.
ALTER TABLE recipients ADD COLUMN resent_after_silence INTEGER NOT NULL DEFAULT 0;

-- Per sending phone number: when the webhook receiver last applied a status
-- to one of its recipients (evidence the receiver is up).
CREATE TABLE status_seen (
	phone_number_id TEXT PRIMARY KEY,
	last_at         INTEGER NOT NULL
);

-- A recipient's attempts by start (the last attempt of an uncertain one).
CREATE INDEX attempts_recipient ON attempts (recipient_id, started_at);

-- whatsend PostgreSQL schema, version 3: send windows, the stale-run guard
-- and uncertain recipients settled by silence (SQLite version 7).
-- A pending recipient outside its send window is held: next_attempt_at is
-- when its window opens. expired is a recipient state of its own.
ALTER TABLE recipients ADD COLUMN resent_after_silence BOOLEAN NOT NULL DEFAULT FALSE;

-- Per sending phone number: when the webhook receiver last applied a status
-- to one of its recipients (evidence the receiver is up).
CREATE TABLE status_seen (
	phone_number_id TEXT PRIMARY KEY,
	last_at         BIGINT NOT NULL
);

-- A recipient's attempts by start (the last attempt of an uncertain one).
CREATE INDEX attempts_recipient ON attempts (recipient_id, started_at);

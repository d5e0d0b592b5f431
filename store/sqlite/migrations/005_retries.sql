-- whatsend schema, version 5: retry runs (whatsend retry --failed).
-- retry_base is the attempts a recipient had when a retry re-queued it: its
-- attempt budget counts from there, while attempt ids keep counting up.
ALTER TABLE recipients ADD COLUMN retry_base INTEGER NOT NULL DEFAULT 0;

CREATE TABLE retries (
	campaign_id INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
	number      INTEGER NOT NULL,
	at          INTEGER NOT NULL,
	codes       TEXT    NOT NULL DEFAULT '[]',
	requeued    INTEGER NOT NULL DEFAULT 0,
	opted_out   INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (campaign_id, number)
);

-- One row per recipient a retry re-queued, with the code it had failed with.
CREATE TABLE retry_recipients (
	campaign_id  INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
	number       INTEGER NOT NULL,
	recipient_id INTEGER NOT NULL,
	code         INTEGER NOT NULL,
	PRIMARY KEY (campaign_id, number, recipient_id)
);
CREATE INDEX retry_recipients_recipient ON retry_recipients (campaign_id, recipient_id, number);

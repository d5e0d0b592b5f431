-- whatsend schema, version 14: a campaign's numbers are kept unique by
-- campaign_numbers, filled at the end of an import from one sort of its
-- rows (in number order: each page written once), instead of by a unique
-- (campaign, phone) index on recipients, which every imported row entered
-- at a random place (at 10 million rows nearly every row read and wrote
-- back a page of an index larger than the import's cache).
-- SQLite cannot drop a table constraint: recipients is rebuilt without it,
-- with the same columns, ids and indexes. No table refers to recipients.
CREATE TABLE recipients_v14 (
	id                   INTEGER PRIMARY KEY,
	campaign_id          INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
	line                 INTEGER NOT NULL,
	phone                TEXT    NOT NULL,
	params               TEXT    NOT NULL DEFAULT '[]',
	state                TEXT    NOT NULL DEFAULT 'pending',
	attempts             INTEGER NOT NULL DEFAULT 0,
	deferrals            INTEGER NOT NULL DEFAULT 0,
	next_attempt_at      INTEGER NOT NULL DEFAULT 0,
	last_code            INTEGER NOT NULL DEFAULT 0,
	last_error           TEXT    NOT NULL DEFAULT '',
	skip_reason          TEXT    NOT NULL DEFAULT '',
	wamid                TEXT    NOT NULL DEFAULT '',
	sent_at              INTEGER NOT NULL DEFAULT 0,
	delivery             TEXT    NOT NULL DEFAULT '',
	delivered_at         INTEGER NOT NULL DEFAULT 0,
	read_at              INTEGER NOT NULL DEFAULT 0,
	updated_at           INTEGER NOT NULL DEFAULT 0,
	retry_base           INTEGER NOT NULL DEFAULT 0,
	resent_after_silence INTEGER NOT NULL DEFAULT 0,
	components           TEXT    NOT NULL DEFAULT '',
	phone_number_id      TEXT    NOT NULL DEFAULT ''
);
INSERT INTO recipients_v14 (id, campaign_id, line, phone, params, state, attempts, deferrals, next_attempt_at,
	last_code, last_error, skip_reason, wamid, sent_at, delivery, delivered_at, read_at, updated_at,
	retry_base, resent_after_silence, components, phone_number_id)
SELECT id, campaign_id, line, phone, params, state, attempts, deferrals, next_attempt_at,
	last_code, last_error, skip_reason, wamid, sent_at, delivery, delivered_at, read_at, updated_at,
	retry_base, resent_after_silence, components, phone_number_id
FROM recipients ORDER BY id;
DROP TABLE recipients;
ALTER TABLE recipients_v14 RENAME TO recipients;
CREATE INDEX recipients_due ON recipients (campaign_id, state, next_attempt_at, line);
CREATE INDEX recipients_line ON recipients (campaign_id, line);
CREATE INDEX recipients_wamid ON recipients (wamid) WHERE wamid <> '';
CREATE INDEX recipients_number_due ON recipients (campaign_id, phone_number_id, state, next_attempt_at, line);
CREATE INDEX recipients_phone_sent ON recipients (phone) WHERE attempts > 0 AND phone_number_id <> '';
CREATE INDEX recipients_delivery ON recipients (campaign_id, delivery, resent_after_silence)
	WHERE delivery <> '' OR resent_after_silence = 1;

-- Each number of a campaign once, with the line that holds it.
CREATE TABLE campaign_numbers (
	campaign_id INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
	phone       TEXT    NOT NULL,
	line        INTEGER NOT NULL,
	PRIMARY KEY (campaign_id, phone)
) WITHOUT ROWID;
INSERT INTO campaign_numbers (campaign_id, phone, line)
SELECT campaign_id, phone, line FROM recipients ORDER BY campaign_id, phone;

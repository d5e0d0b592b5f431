-- whatsend schema, version 1. Times are INTEGER Unix nanoseconds, UTC; 0 is "never".
CREATE TABLE campaigns (
	id              INTEGER PRIMARY KEY,
	name            TEXT    NOT NULL UNIQUE,
	csv_path        TEXT    NOT NULL DEFAULT '',
	csv_hash        TEXT    NOT NULL,
	template        TEXT    NOT NULL,
	language        TEXT    NOT NULL,
	params          TEXT    NOT NULL DEFAULT '[]',
	phone_number_id TEXT    NOT NULL DEFAULT '',
	scope           TEXT    NOT NULL DEFAULT '',
	settings        BLOB,
	state           TEXT    NOT NULL,
	pause_reason    TEXT    NOT NULL DEFAULT '',
	pause_detail    BLOB,
	rows            INTEGER NOT NULL DEFAULT 0,
	created_at      INTEGER NOT NULL,
	updated_at      INTEGER NOT NULL
);
CREATE INDEX campaigns_key ON campaigns (csv_hash, template, language);

CREATE TABLE recipients (
	id              INTEGER PRIMARY KEY,
	campaign_id     INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
	line            INTEGER NOT NULL,
	phone           TEXT    NOT NULL,
	params          TEXT    NOT NULL DEFAULT '[]',
	state           TEXT    NOT NULL DEFAULT 'pending',
	attempts        INTEGER NOT NULL DEFAULT 0,
	deferrals       INTEGER NOT NULL DEFAULT 0,
	next_attempt_at INTEGER NOT NULL DEFAULT 0,
	last_code       INTEGER NOT NULL DEFAULT 0,
	last_error      TEXT    NOT NULL DEFAULT '',
	skip_reason     TEXT    NOT NULL DEFAULT '',
	wamid           TEXT    NOT NULL DEFAULT '',
	sent_at         INTEGER NOT NULL DEFAULT 0,
	delivery        TEXT    NOT NULL DEFAULT '',
	delivered_at    INTEGER NOT NULL DEFAULT 0,
	read_at         INTEGER NOT NULL DEFAULT 0,
	updated_at      INTEGER NOT NULL DEFAULT 0,
	UNIQUE (campaign_id, phone)
);
CREATE INDEX recipients_due ON recipients (campaign_id, state, next_attempt_at, line);
CREATE INDEX recipients_line ON recipients (campaign_id, line);
CREATE INDEX recipients_wamid ON recipients (wamid) WHERE wamid <> '';

CREATE TABLE skipped (
	campaign_id INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
	line        INTEGER NOT NULL,
	reason      TEXT    NOT NULL,
	detail      TEXT    NOT NULL DEFAULT '',
	raw         TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX skipped_campaign ON skipped (campaign_id, line);

CREATE TABLE attempts (
	id              TEXT    PRIMARY KEY,
	campaign_id     INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
	recipient_id    INTEGER NOT NULL,
	number          INTEGER NOT NULL,
	phone_number_id TEXT    NOT NULL,
	to_phone        TEXT    NOT NULL,
	scope           TEXT    NOT NULL,
	batch           INTEGER NOT NULL DEFAULT 0,
	started_at      INTEGER NOT NULL,
	finished_at     INTEGER NOT NULL DEFAULT 0,
	state           TEXT    NOT NULL DEFAULT 'in_flight',
	code            INTEGER NOT NULL DEFAULT 0,
	message_status  TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX attempts_campaign ON attempts (campaign_id, started_at);
CREATE INDEX attempts_finished ON attempts (campaign_id, finished_at);
CREATE INDEX attempts_number ON attempts (phone_number_id, started_at);
CREATE INDEX attempts_to ON attempts (to_phone, state);

CREATE TABLE pauses (
	campaign_id INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
	at          INTEGER NOT NULL,
	reason      TEXT    NOT NULL,
	detail      BLOB,
	resumed_at  INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE phones (
	phone_number_id TEXT PRIMARY KEY,
	quality         TEXT    NOT NULL DEFAULT '',
	status          TEXT    NOT NULL DEFAULT '',
	throughput      TEXT    NOT NULL DEFAULT '',
	on_biz_app      INTEGER NOT NULL DEFAULT 0,
	limit_users     INTEGER NOT NULL DEFAULT 0,
	limit_source    TEXT    NOT NULL DEFAULT '',
	checked_at      INTEGER NOT NULL DEFAULT 0
);

-- The messaging limit's scope: warm-up start and the unique-recipient log.
CREATE TABLE warmup (
	scope TEXT PRIMARY KEY,
	start INTEGER NOT NULL
);
CREATE TABLE window_log (
	scope   TEXT    NOT NULL,
	phone   TEXT    NOT NULL,
	sent_at INTEGER NOT NULL,
	in_csw  INTEGER NOT NULL DEFAULT 0 -- inside an open customer-service window: not counted
);
CREATE INDEX window_scope ON window_log (scope, sent_at);
CREATE INDEX window_phone ON window_log (scope, phone, sent_at);

CREATE TABLE leases (
	key       TEXT PRIMARY KEY,
	owner     TEXT    NOT NULL,
	pid       INTEGER NOT NULL,
	host      TEXT    NOT NULL,
	heartbeat INTEGER NOT NULL
);

CREATE TABLE optouts (
	phone  TEXT PRIMARY KEY,
	source TEXT    NOT NULL DEFAULT '',
	at     INTEGER NOT NULL
);

CREATE TABLE webhooks (
	hash        TEXT PRIMARY KEY,
	body        BLOB    NOT NULL,
	received_at INTEGER NOT NULL
);

CREATE TABLE inbound (
	wamid      TEXT PRIMARY KEY,
	from_phone TEXT    NOT NULL,
	at         INTEGER NOT NULL,
	type       TEXT    NOT NULL DEFAULT '',
	text       TEXT    NOT NULL DEFAULT ''
);

-- Per number: the last time the user wrote to the business.
CREATE TABLE contacts (
	phone         TEXT PRIMARY KEY,
	last_reply_at INTEGER NOT NULL
);

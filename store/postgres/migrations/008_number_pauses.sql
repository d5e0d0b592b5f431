-- whatsend schema, version 8: pair runs (one process per phone number of a
-- campaign's pool). A number paused by its guard in one process is known to
-- every other; the due recipients of one number are read by index.
CREATE TABLE number_pauses (
	campaign_id     BIGINT NOT NULL,
	phone_number_id TEXT   NOT NULL,
	reason          TEXT   NOT NULL,
	paused_at       BIGINT NOT NULL,
	PRIMARY KEY (campaign_id, phone_number_id)
);
CREATE INDEX recipients_number_due ON recipients (campaign_id, phone_number_id, state, next_attempt_at, line);
-- The shared messaging limit: units of a scope's allowance reserved by a
-- process about to send them, until they lapse.
CREATE TABLE allowance_reservations (
	scope    TEXT   NOT NULL,
	owner    TEXT   NOT NULL,
	units    BIGINT NOT NULL,
	until_at BIGINT NOT NULL,
	PRIMARY KEY (scope, owner)
);

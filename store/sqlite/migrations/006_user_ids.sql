-- whatsend schema, version 6: who a reply or an opt-out is about.
-- inbound.phone is the number the message was applied to (the recipient whose
-- message it answers, else its sender, else the number known for its user id);
-- from_phone stays what Meta sent.
ALTER TABLE inbound ADD COLUMN phone   TEXT NOT NULL DEFAULT '';
ALTER TABLE inbound ADD COLUMN user_id TEXT NOT NULL DEFAULT '';
ALTER TABLE inbound ADD COLUMN context TEXT NOT NULL DEFAULT '';
UPDATE inbound SET phone = from_phone;

-- Business-scoped user ids and the number each was last seen with.
CREATE TABLE user_ids (
	user_id TEXT PRIMARY KEY,
	phone   TEXT    NOT NULL,
	seen_at INTEGER NOT NULL
);

-- Opt-outs that named only a user id whose number is not known yet; moved to
-- optouts when a link names the number.
CREATE TABLE user_optouts (
	user_id TEXT PRIMARY KEY,
	source  TEXT    NOT NULL DEFAULT '',
	at      INTEGER NOT NULL
);

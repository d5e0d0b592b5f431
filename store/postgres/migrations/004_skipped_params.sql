-- whatsend schema, version 4: a skipped row keeps its --params values (JSON
-- array), so the export of skipped rows can be fixed and imported again.
ALTER TABLE skipped ADD COLUMN params TEXT NOT NULL DEFAULT '[]';

-- whatsend schema, version 9: a recipient keeps its template values besides
-- the body parameters (header, buttons, typed body parameters, language),
-- frozen at import as JSON owned by package campaign; '' when none.
ALTER TABLE recipients ADD COLUMN components TEXT NOT NULL DEFAULT '';

-- whatsend schema, version 2: a lease records when its holder process
-- started (Linux: clock ticks since boot; 0 unknown), so a reused pid is not
-- taken for the holder.
ALTER TABLE leases ADD COLUMN started INTEGER NOT NULL DEFAULT 0;

-- whatsend schema, version 10: a lease records its holder's expiry
-- (--lease-expiry, in milliseconds; 0 unknown): a taker waits that long
-- after the last heartbeat, whatever its own setting.
ALTER TABLE leases ADD COLUMN expiry_ms INTEGER NOT NULL DEFAULT 0;

-- whatsend schema, version 6: a lease records its holder's expiry
-- (--lease-expiry, in milliseconds; 0 unknown): a taker on any host waits
-- that long after the last heartbeat, whatever its own setting.
ALTER TABLE leases ADD COLUMN expiry_ms BIGINT NOT NULL DEFAULT 0;

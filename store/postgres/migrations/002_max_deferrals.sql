-- whatsend PostgreSQL schema, version 2: a campaign's cap on 131049
-- deferrals (--defer-days), applied by the store to send answers and
-- status webhooks alike. Campaigns created before keep the default, 3.
ALTER TABLE campaigns ADD COLUMN max_deferrals BIGINT NOT NULL DEFAULT 3;

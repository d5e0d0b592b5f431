-- whatsend schema, version 13: partial indexes, holding only the
-- recipients that were sent or answered. A recipient just imported has
-- no entry in any of them, so an import of a big list in no order pays
-- for none (each entry of an index on the number lands at a random place
-- of it: the index on every recipient's number was a third of an
-- import's cost), and a report reads as many entries as the campaign has
-- answers, not one per row (a million rows: the scans were most of a
-- report).
-- A number's earlier sends in other campaigns (AssignNumbers keeps a
-- recipient on the phone number that last sent to it: the only reader of
-- the index on every number, whose WHERE holds these two terms):
DROP INDEX recipients_phone;
CREATE INDEX recipients_phone_sent ON recipients (phone) WHERE attempts > 0 AND phone_number_id <> '';
-- The delivery statuses and the resends after silence:
CREATE INDEX recipients_delivery ON recipients (campaign_id, delivery, resent_after_silence)
	WHERE delivery <> '' OR resent_after_silence = 1;
-- The recipients by sending phone number are read through
-- recipients_number_due (schema 12), whose first columns they are.

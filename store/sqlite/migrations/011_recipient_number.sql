-- whatsend schema, version 10: each recipient's sending phone number
-- (several numbers per campaign): assigned before its first send, written
-- with the checkpoint of every attempt; '' when none was assigned yet.
ALTER TABLE recipients ADD COLUMN phone_number_id TEXT NOT NULL DEFAULT '';
CREATE INDEX recipients_phone ON recipients (phone);
-- Recipients already attempted were sent from their campaign's number.
UPDATE recipients SET phone_number_id = (SELECT phone_number_id FROM campaigns WHERE campaigns.id = recipients.campaign_id)
	WHERE attempts > 0;

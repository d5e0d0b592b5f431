-- whatsend schema, version 12: partial indexes for a report's figures, so
-- that it reads as many entries as the campaign has answers, not one per
-- row of the campaign (a million rows: the scans were most of a report).
-- A recipient just imported has no entry in either (no status, no number
-- yet), so an import does not pay for them.
-- The delivery statuses and the resends after silence:
CREATE INDEX recipients_delivery ON recipients (campaign_id, delivery, resent_after_silence)
	WHERE delivery <> '' OR resent_after_silence = 1;
-- The recipients by sending phone number (given with the first attempt,
-- or by AssignNumbers for a campaign with several numbers):
CREATE INDEX recipients_by_number ON recipients (campaign_id, phone_number_id, state)
	WHERE phone_number_id <> '';

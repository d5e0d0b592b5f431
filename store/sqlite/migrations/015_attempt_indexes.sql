-- whatsend schema, version 15: fewer index entries per send. Each of the
-- three indexes dropped here took an entry at a random place (the number)
-- or one that the send's answer then moved.
-- attempts_finished was read by no query.
DROP INDEX attempts_finished;
-- attempts_to (number, state) got its entry at the checkpoint and had it
-- moved by the answer (the state); recipients_phone_sent (number) was
-- written at the checkpoint too. Their readers, a number's sends not
-- answered (Store.Unanswered) and the phone number that last sent to a
-- number in another campaign (AssignNumbers), both read the number's
-- attempts: one index of the attempts by number and start serves both,
-- and its entry, written at the checkpoint, never moves.
DROP INDEX attempts_to;
DROP INDEX recipients_phone_sent;
CREATE INDEX attempts_to_phone ON attempts (to_phone, started_at);

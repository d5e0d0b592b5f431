-- whatsend schema, version 9: fewer index entries per send.
-- attempts_to (number, state) got its entry at the checkpoint and had it
-- moved by the answer (the state). Its readers, a number's sends not
-- answered (Store.Unanswered) and the phone number that last sent to a
-- number in another campaign (AssignNumbers, which read the recipients by
-- number before), both read the number's attempts: one index of the
-- attempts by number and start serves both, and its entry never moves.
DROP INDEX attempts_to;
CREATE INDEX attempts_to_phone ON attempts (to_phone, started_at);

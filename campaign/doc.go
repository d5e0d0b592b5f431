// Package campaign is whatsend's orchestration: the CSV import plan, the
// allowance (warm-up × tier × rolling 24 h window), pacing (throughput,
// per-recipient spacing, batches), the guard, the run loop with its
// checkpoints, and the report model. It is pure logic over small interfaces
// (a Sender, the store.Store, a clock); cmd/whatsend wires the real parts.
package campaign

package simulator

import "time"

// advance moves every notification still waiting for its time d sooner:
// the simulator's clock moved d ahead ({"advance": ...}), so what was due
// within d is due now. The queue's order is unchanged. It wakes the
// dispatcher; a nil w (no webhooks) does nothing.
func (w *webhooks) advance(d time.Duration) {
	if w == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, n := range w.queue {
		n.due = n.due.Add(-d)
	}
	w.poke()
}

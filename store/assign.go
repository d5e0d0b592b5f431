package store

import "slices"

// AssignCandidate is a recipient AssignNumbers may give a number: its
// current number and the number that last sent to its phone in another
// campaign of the scope (empty when none).
type AssignCandidate struct {
	ID       int64
	Current  string
	Previous string
}

// AssignLeastLoaded is the rule of AssignNumbers, shared by the backends:
// a candidate whose current number is in pool keeps it; one whose phone
// was sent from a number of pool before gets that number (the same
// customer hears from the same number); the others get, in order, the
// number of pool with the fewest recipients to send (loads, updated as it
// goes), ties in pool order. It returns the new number of each candidate
// that changes.
func AssignLeastLoaded(pool []string, loads map[string]int, cands []AssignCandidate) map[int64]string {
	out := map[int64]string{}
	if len(pool) == 0 {
		return out
	}
	for _, c := range cands {
		if slices.Contains(pool, c.Current) {
			continue
		}
		n := c.Previous
		if !slices.Contains(pool, n) {
			n = pool[0]
			for _, p := range pool[1:] {
				if loads[p] < loads[n] {
					n = p
				}
			}
		}
		loads[n]++
		out[c.ID] = n
	}
	return out
}

// Grant is the rule of ReserveAllowance, shared by the backends: n units
// at most, no more than the limit leaves after the window's count (used)
// and the other processes' reservations, never less than 0.
func Grant(n, limit, used, others int) int {
	return max(0, min(n, limit-used-others))
}

package report

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/whatsend/whatsend/store"
)

// Number is one sending phone number's figures, for a campaign that sends
// from several (--phone-number-id A,B,C).
type Number struct {
	PhoneNumberID    string  `json:"phone_number_id"`
	Assigned         int     `json:"assigned"` // recipients assigned to it
	Sent             int     `json:"sent"`
	Failed           int     `json:"failed"`
	Uncertain        int     `json:"uncertain"`
	ToSend           int     `json:"to_send"` // pending, retry, deferred or in flight
	Attempts         int     `json:"attempts"`
	RateLimited      int     `json:"rate_limited"`       // attempts answered 131056
	RateLimitedShare float64 `json:"rate_limited_share"` // of its attempts, 0 to 1
	Quality          string  `json:"quality,omitempty"`  // last read
	Status           string  `json:"status,omitempty"`   // last read
}

// NumbersOf returns the per-number figures of a campaign's summary, by
// phone number id, with each number's last health read; nil when the
// campaign sent from one number only.
func NumbersOf(ctx context.Context, st interface {
	Phone(ctx context.Context, phoneNumberID string) (store.PhoneRecord, error)
}, sum store.Summary) []Number {
	if len(sum.ByNumber) < 2 {
		return nil
	}
	var out []Number
	for _, id := range slices.Sorted(maps.Keys(sum.ByNumber)) {
		f := sum.ByNumber[id]
		n := Number{PhoneNumberID: id, Assigned: f.Assigned, Sent: f.Sent, Failed: f.Failed, Uncertain: f.Uncertain,
			ToSend: f.ToSend, Attempts: f.Attempts, RateLimited: f.RateLimited}
		if f.Attempts > 0 {
			n.RateLimitedShare = float64(f.RateLimited) / float64(f.Attempts)
		}
		if p, err := st.Phone(ctx, id); err == nil {
			n.Quality, n.Status = p.Quality, p.Status
		}
		out = append(out, n)
	}
	return out
}

// String is the number's line in status and the text report.
func (n Number) String() string {
	s := fmt.Sprintf("%s: %d assigned, %d sent, %d failed, %d uncertain, %d to send; 131056 %d of %d attempts (%.1f%%)",
		n.PhoneNumberID, n.Assigned, n.Sent, n.Failed, n.Uncertain, n.ToSend, n.RateLimited, n.Attempts, n.RateLimitedShare*100)
	if n.Quality != "" {
		s += ", quality " + n.Quality
	}
	if n.Status != "" {
		s += ", status " + n.Status
	}
	return s
}

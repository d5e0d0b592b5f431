package campaign

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/whatsend/whatsend/store"
	// The send windows load IANA zones: embedding the database makes them
	// behave the same on a machine without tzdata (a scratch container,
	// Windows).
	_ "time/tzdata"
)

// DefaultSettleAfter is how long an uncertain recipient waits for a status
// before it is resent (when the webhook receiver is up).
const DefaultSettleAfter = 30 * time.Minute

// sendWindow is when recipients may be messaged, in each recipient's own
// time zone: from..to minutes after local midnight (to < from: the window
// runs over midnight), on the days set. The zero value is always open.
type sendWindow struct {
	from, to int // minutes; from == to == 0: all day
	days     [7]bool
	force    *time.Location // --tz: one zone for everyone

	mu    sync.Mutex
	zones map[string][]*time.Location // by the mapper's zone list
}

// parseClock reads "09:00" as minutes after midnight; "24:00" is the end
// of the day.
func parseClock(v string) (int, bool) {
	var h, m int
	if len(v) != 5 || v[2] != ':' {
		return 0, false
	}
	if _, err := fmt.Sscanf(v, "%02d:%02d", &h, &m); err != nil || m > 59 || h > 24 || (h == 24 && m != 0) {
		return 0, false
	}
	return h*60 + m, true
}

// parseWindowSpec reads --window "09:00-20:00".
func parseWindowSpec(v string) (from, to int, err error) {
	a, b, ok := strings.Cut(v, "-")
	f, okA := parseClock(strings.TrimSpace(a))
	t, okB := parseClock(strings.TrimSpace(b))
	if !ok || !okA || !okB || f == t || f == 24*60 {
		return 0, 0, fmt.Errorf("--window %q: want HH:MM-HH:MM in the recipient's local time, e.g. 09:00-20:00", v)
	}
	return f, t, nil
}

var dayNames = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday,
	"wed": time.Wednesday, "thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

// parseDays reads --days: "mon-fri", "mon,wed,fri", "sat-sun", "fri-mon".
func parseDays(v string) ([7]bool, error) {
	var days [7]bool
	bad := fmt.Errorf("--days %q: want day names or ranges such as mon-fri or mon,wed,fri", v)
	for part := range strings.SplitSeq(strings.ToLower(v), ",") {
		a, b, isRange := strings.Cut(strings.TrimSpace(part), "-")
		da, okA := dayNames[strings.TrimSpace(a)]
		db, okB := da, okA
		if isRange {
			db, okB = dayNames[strings.TrimSpace(b)]
		}
		if !okA || !okB {
			return days, bad
		}
		for d := da; ; d = (d + 1) % 7 {
			days[d] = true
			if d == db {
				break
			}
		}
	}
	return days, nil
}

// newSendWindow builds the window of settings; nil when the settings set
// none (no --window and no --days).
func newSendWindow(s Settings) (*sendWindow, error) {
	var force *time.Location
	if s.TZ != "" {
		var err error
		if force, err = time.LoadLocation(s.TZ); err != nil || s.TZ == "Local" {
			return nil, fmt.Errorf("--tz %q: want an IANA time zone such as America/Sao_Paulo", s.TZ)
		}
	}
	if s.Window == "" && s.Days == "" {
		return nil, nil
	}
	w := &sendWindow{zones: map[string][]*time.Location{}, force: force}
	for i := range w.days {
		w.days[i] = true
	}
	var err error
	if s.Window != "" {
		if w.from, w.to, err = parseWindowSpec(s.Window); err != nil {
			return nil, err
		}
	}
	if s.Days != "" {
		if w.days, err = parseDays(s.Days); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// String is the window as a person reads it.
func (w *sendWindow) String() string {
	if w == nil {
		return "any time"
	}
	var b strings.Builder
	if w.from == w.to {
		b.WriteString("all day")
	} else {
		fmt.Fprintf(&b, "%02d:%02d-%02d:%02d", w.from/60, w.from%60, w.to/60, w.to%60)
	}
	var days []string
	for _, d := range []time.Weekday{1, 2, 3, 4, 5, 6, 0} {
		if w.days[d] {
			days = append(days, strings.ToLower(d.String()[:3]))
		}
	}
	if len(days) < 7 {
		b.WriteString(" on " + strings.Join(days, ","))
	}
	if w.force != nil {
		b.WriteString(" in " + w.force.String())
	} else {
		b.WriteString(" in each recipient's time zone")
	}
	return b.String()
}

// zonesOf returns the time zones a recipient's window is checked in: the
// --tz zone, or those libphonenumber maps the number to (all of them: a
// number of a country with several zones gets the window that is open in
// every one, safe for all). A number the mapper does not place is checked
// in UTC.
func (w *sendWindow) zonesOf(phone string) []*time.Location {
	if w.force != nil {
		return []*time.Location{w.force}
	}
	var names []string
	if n, err := phonenumbers.Parse(phone, ""); err == nil {
		names, _ = phonenumbers.GetTimezonesForNumber(n)
	}
	key := strings.Join(names, " ")
	w.mu.Lock()
	defer w.mu.Unlock()
	if z, ok := w.zones[key]; ok {
		return z
	}
	var z []*time.Location
	for _, name := range names {
		if loc, err := time.LoadLocation(name); err == nil {
			z = append(z, loc)
		}
	}
	if len(z) == 0 {
		z = []*time.Location{time.UTC}
	}
	w.zones[key] = z
	return z
}

// openIn reports whether the window is open at t in loc.
func (w *sendWindow) openIn(t time.Time, loc *time.Location) bool {
	l := t.In(loc)
	day, m := l.Weekday(), l.Hour()*60+l.Minute()
	switch {
	case w.from == w.to:
		return w.days[day]
	case w.from < w.to:
		return w.days[day] && m >= w.from && m < w.to
	default: // over midnight: the evening belongs to its day, the morning to the day before
		return (w.days[day] && m >= w.from) || (w.days[(day+6)%7] && m < w.to)
	}
}

// nextIn is the first instant at or after t when the window is open in loc.
func (w *sendWindow) nextIn(t time.Time, loc *time.Location) time.Time {
	if w.openIn(t, loc) {
		return t
	}
	l := t.In(loc)
	for i := range 9 {
		d := l.AddDate(0, 0, i)
		at := time.Date(d.Year(), d.Month(), d.Day(), w.from/60, w.from%60, 0, 0, loc)
		if !at.Before(t) && w.openIn(at, loc) {
			return at
		}
	}
	return time.Time{} // no day set: never (Validate refuses it)
}

// open reports whether a recipient may be messaged at t.
func (w *sendWindow) open(phone string, t time.Time) bool {
	return !w.next(phone, t).After(t)
}

// next is the first instant at or after t when a recipient may be
// messaged: open in all its zones at once, or, when its zones' windows
// never meet (a country spanning more hours than the window), in its
// first zone.
func (w *sendWindow) next(phone string, t time.Time) time.Time {
	if w == nil {
		return t
	}
	zones := w.zonesOf(phone)
	at := t
	for range 64 { // each step moves to a later opening; a week bounds them
		latest := at
		for _, loc := range zones {
			n := w.nextIn(at, loc)
			if n.IsZero() {
				return n
			}
			latest = later(latest, n)
		}
		if latest.Equal(at) {
			return at
		}
		if latest.Sub(t) > 8*24*time.Hour {
			break
		}
		at = latest
	}
	return w.nextIn(t, zones[0])
}

// LocalTime formats an instant for a person: the machine's local time with
// its offset, e.g. "2026-12-05 09:00 -03:00".
func LocalTime(t time.Time) string {
	return t.Local().Format("2006-01-02 15:04 -07:00")
}

// notAfterLayouts are the forms --not-after takes as an instant; without an
// offset it is the machine's local time.
var notAfterLayouts = []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04"}

// NotAfter resolves --not-after for a campaign created at created: an
// instant (RFC 3339, or a local date and time such as 2026-12-24T18:00), a
// date (until the end of that day, local time), or a duration after the
// campaign's creation (72h). ok is false when v is empty.
func NotAfter(v string, created time.Time) (t time.Time, ok bool, err error) {
	if v == "" {
		return time.Time{}, false, nil
	}
	if d, err := time.ParseDuration(v); err == nil {
		if d <= 0 {
			return time.Time{}, false, fmt.Errorf("--not-after %s: want a positive duration after the campaign's creation, e.g. 72h", v)
		}
		return created.Add(d), true, nil
	}
	for _, layout := range notAfterLayouts {
		if t, err := time.ParseInLocation(layout, v, time.Local); err == nil {
			return t, true, nil
		}
	}
	if d, err := time.ParseInLocation(time.DateOnly, v, time.Local); err == nil {
		return d.AddDate(0, 0, 1), true, nil
	}
	return time.Time{}, false, fmt.Errorf("--not-after %q: want a date (2026-12-24), a date and time (2026-12-24T18:00, local time, or RFC 3339) or a duration after the campaign's creation (72h)", v)
}

// errExpired ends a run whose --not-after has passed; Run expires the
// campaign's unsent recipients and finishes it.
var errExpired = errors.New("--not-after passed")

// pastExpiry reports whether the campaign's --not-after has passed at now.
func (r *runner) pastExpiry(now time.Time) bool {
	return !r.expiry.IsZero() && !now.Before(r.expiry)
}

// expire ends a campaign whose --not-after passed: its pending, retry and
// deferred recipients become expired (nothing is sent after the instant)
// and, with nothing left in flight, it is finished.
func (r *runner) expire(ctx context.Context) error {
	now := r.d.Now()
	n, err := r.d.Store.ExpireRecipients(ctx, r.c.ID, now)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.expired += n
	r.mu.Unlock()
	r.stopMsg = fmt.Sprintf("--not-after %s passed: %d recipients expired unsent", LocalTime(r.expiry), r.expired)
	r.nextAt = time.Time{}
	r.d.Logger.Warn("the campaign's --not-after passed: its unsent recipients expired", "campaign", r.c.Name,
		"not_after", r.expiry.UTC().Format(time.RFC3339), "expired", r.expired)
	counts, err := r.whole.Counts(ctx, r.c.ID) // a pair run: every number's
	if err != nil {
		return err
	}
	if toSettle(counts) > 0 {
		return fmt.Errorf("%w: %d recipients still in flight after --not-after", ErrMoreWork, counts[store.StateInFlight])
	}
	return r.d.Store.SetCampaignState(ctx, r.c.ID, store.CampaignFinished, "", nil, now)
}

// holdClosed holds the recipients of a page that are outside their send
// window until it opens, and returns the others.
func (r *runner) holdClosed(ctx context.Context, page []store.Recipient, now time.Time) ([]store.Recipient, error) {
	if r.win == nil {
		return page, nil
	}
	hold := map[time.Time][]int64{}
	out := page[:0]
	for _, rc := range page {
		at := r.win.next(rc.Phone, now)
		if !at.After(now) {
			out = append(out, rc)
			continue
		}
		if !r.expiry.IsZero() && (at.IsZero() || at.After(r.expiry)) {
			at = r.expiry // its window opens after --not-after: it waits for the end
		}
		if at.IsZero() {
			at = now.Add(24 * time.Hour) // no day in the window: never (Validate refuses it)
		}
		hold[at] = append(hold[at], rc.ID)
	}
	for at, ids := range hold {
		if err := r.d.Store.HoldRecipients(ctx, ids, at); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// settle resends, once, the uncertain recipients no status came for within
// --settle-after while the webhook receiver was up for the number.
func (r *runner) settle(ctx context.Context, now time.Time) error {
	after := time.Duration(r.s.SettleAfter)
	// The receiver's liveness is judged per sending number.
	n, first := 0, time.Time{}
	for _, num := range r.nums {
		k, f, err := r.d.Store.ResendSilent(ctx, r.c.ID, num.id, now.Add(-after), now)
		if err != nil {
			return err
		}
		n += k
		if !f.IsZero() && (first.IsZero() || f.Before(first)) {
			first = f
		}
	}
	r.settleAt = time.Time{}
	if !first.IsZero() {
		r.settleAt = first.Add(after)
	}
	if n > 0 {
		r.mu.Lock()
		r.resent += n
		r.mu.Unlock()
		r.d.Logger.Info("re-sending uncertain recipients no status came for while the webhook receiver was up",
			"campaign", r.c.Name, "count", n, "settle_after", after)
	}
	return nil
}

// awaitSettle handles a campaign whose only work left is uncertain
// recipients that may be resent after silence: it waits for them (within
// the retry wait, or with --wait) or ends with work left.
func (r *runner) awaitSettle(ctx context.Context, counts map[store.State]int, deadline time.Time) (bool, error) {
	at := r.settleAt
	if (r.o.Wait || at.Sub(r.d.Now()) <= r.o.RetryWait) && (deadline.IsZero() || !at.After(deadline)) {
		r.waitingFor("uncertain recipients wait for a status until "+LocalTime(at), at)
		if err := r.sleepUntil(ctx, at, deadline); err != nil {
			return true, err
		}
		return false, r.settle(ctx, r.d.Now())
	}
	return true, r.stop(ctx, stopReason{kind: stopWaiting, nextAt: at,
		msg: fmt.Sprintf("%d uncertain recipients wait for a status from the webhook receiver; those still silent at %s are resent once",
			counts[store.StateUncertain], LocalTime(at))})
}

// waitingFor tells the log and the progress why the run sleeps.
func (r *runner) waitingFor(why string, until time.Time) {
	r.d.Logger.Info("waiting", "campaign", r.c.Name, "why", why, "until", until.UTC().Format(time.RFC3339))
	if r.d.Progress != nil {
		p := r.progress()
		p.Waiting = why
		r.d.Progress.Update(p)
	}
}

// DescribeWindow is a campaign's send window as a person reads it, empty
// when it has none (or its settings cannot be read).
func DescribeWindow(s Settings) string {
	w, err := newSendWindow(s)
	if err != nil || w == nil {
		return ""
	}
	return w.String()
}

// WindowChanged reports whether changes touch the send window or
// --not-after: recipients held by the old settings must be released
// (store.ReleaseHolds) so that the next run holds them by the new ones.
func WindowChanged(changes []Change) bool {
	for _, c := range changes {
		switch c.Flag {
		case "--window", "--days", "--tz", "--not-after":
			return true
		}
	}
	return false
}

// PastNotAfter reports whether a campaign's --not-after has passed at now:
// its next run expires it, paused or not (resume --all runs it).
func PastNotAfter(c store.Campaign, now time.Time) bool {
	s, err := DecodeSettings(c.Settings)
	if err != nil {
		return false
	}
	end, ok, err := NotAfter(s.NotAfter, c.CreatedAt)
	return err == nil && ok && !now.Before(end)
}

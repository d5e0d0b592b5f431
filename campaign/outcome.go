package campaign

import (
	"errors"
	"fmt"
	"time"

	"github.com/whatsend/whatsend/sender"
	"github.com/whatsend/whatsend/store"
)

// rateLimitedCode is Meta's pair rate answer (cloud-api.md §4.2).
const rateLimitedCode = 131056

// outcome turns a request's answer into the recipient's next state, and
// feeds the guard and the sender-wide back-off. Called by the recorder only.
func (r *runner) outcome(x sendResult, now time.Time) store.Outcome {
	o := store.Outcome{AttemptID: x.d.attempt.ID, RecipientID: x.d.r.ID, FinishedAt: now}
	// The budget counts from the latest retry run (whatsend retry), while
	// attempt numbers keep counting so attempt ids stay unique.
	n := x.d.attempt.Number - x.d.r.RetryBase
	num := x.d.n
	r.mu.Lock()
	defer r.mu.Unlock()
	if x.withdrawn {
		// Never left: the attempt is withdrawn, the recipient pending.
		o.State, o.NotSent = store.StatePending, true
		if x.err != nil && r.pause == nil {
			r.pause = &pauseCause{Kind: "store", Reason: "the send journal could not note a request leaving"}
			r.fatalErr = errors.Join(r.fatalErr, x.err)
		}
		return o
	}
	if x.err != nil && sender.Classify(x.err).Class == sender.ClassNotSent {
		return r.notSent(x, o, now)
	}
	num.netStreak = 0
	r.stats.attempts++
	if x.err == nil {
		o.State, o.WAMID, o.MessageStatus = store.StateSent, x.acc.WAMID, x.acc.MessageStatus
		r.stats.sent++
		r.stats.settled++
		num.slowStreak = 0
		r.judge(num, 0)
		return o
	}
	e := sender.Classify(x.err)
	o.Code = e.Code
	o.Error = errorDetail(x.err)
	r.judge(num, e.Code)
	switch e.Class {
	case sender.ClassRetryRecipient:
		if n >= r.s.MaxAttempts {
			o.State = store.StateFailed
			o.Error = fmt.Sprintf("gave up after %d attempts: %s", n, o.Error)
			break
		}
		o.State, o.NextAttemptAt = store.StateRetry, now.Add(pairRetryDelay(time.Duration(r.s.PairInterval), n, r.d.Rand))
	case sender.ClassSlowSender:
		if !throughputCode(e.Code) {
			// A transient failure at Meta (500/131000, 131016, 133004...):
			// only this recipient waits, on its own back-off; the others
			// keep the pace.
			if n >= r.s.MaxAttempts {
				o.State = store.StateFailed
				o.Error = fmt.Sprintf("gave up after %d attempts: %s", n, o.Error)
				break
			}
			o.State, o.NextAttemptAt = store.StateRetry, now.Add(slowDelay(n, r.d.Rand))
			break
		}
		num.slowStreak++
		wait := slowDelay(num.slowStreak, r.d.Rand)
		if e.Code == 131057 {
			wait = max(wait, maintenanceWait)
		}
		num.slowUntil = later(num.slowUntil, now.Add(wait))
		num.throttledUntil = num.slowUntil
		num.g.slowDown(e.Code)
		if n >= r.s.MaxAttempts {
			o.State = store.StateFailed
			o.Error = fmt.Sprintf("gave up after %d attempts: %s", n, o.Error)
			break
		}
		o.State, o.NextAttemptAt = store.StateRetry, now.Add(wait)
		r.d.Logger.Warn("slowing the sender down", "code", e.Code, "wait", wait.Round(time.Millisecond))
	case sender.ClassDefer:
		// The store owns the 131049 rule (one for answers and webhooks):
		// it schedules the deferral, or fails the recipient once the
		// campaign's MaxDeferrals is reached; the count here mirrors it.
		o.State = store.StateDeferred
		if x.d.r.Deferrals >= r.c.MaxDeferrals {
			r.stats.failed++
			r.stats.settled++
			return o
		}
		r.stats.deferred++
	case sender.ClassUncertain:
		o.State = store.StateUncertain
		r.stats.uncertain++
		r.d.Logger.Warn("outcome unknown: Meta may have the message; it will not be re-sent", "recipient_id", x.d.r.ID, "line", x.d.r.Line, "err", o.Error)
	case sender.ClassFatal:
		// Every message would fail: the recipient was not messaged and
		// stays pending; the campaign pauses.
		o.State = store.StatePending
		if r.pause == nil {
			r.pause = pauseFromError(x.err, e)
		}
		return o
	case sender.ClassRecipientFailed, sender.ClassNA:
		o.State = store.StateFailed
	default:
		// Not an API answer and not a transport failure (e.g. the request
		// was never made): nothing reached Meta.
		o.State = store.StatePending
		return o
	}
	switch o.State {
	case store.StateFailed:
		r.stats.failed++
		r.stats.settled++
	case store.StateDeferred, store.StateUncertain:
		r.stats.settled++
	}
	return o
}

// maxNotSent is how many sends in a row may fail before any byte left
// (dial, DNS, TLS) before the campaign pauses: the network, not a
// recipient, is at fault.
const maxNotSent = 5

// notSent handles a send that never left the process: the attempt is given
// back (no attempt used, nothing counted against the allowance or the
// warm-up), the recipient is pending again, the whole sender waits, and a
// streak of them pauses the campaign naming the cause. Called with r.mu held.
func (r *runner) notSent(x sendResult, o store.Outcome, now time.Time) store.Outcome {
	o.State, o.NotSent = store.StatePending, true
	num := x.d.n
	num.netStreak++
	num.slowUntil = later(num.slowUntil, now.Add(slowDelay(num.netStreak, r.d.Rand)))
	if num.netStreak >= maxNotSent && r.pause == nil {
		r.pause = networkPause(x.err, fmt.Sprintf("%d sends in a row could not leave", num.netStreak))
	}
	r.d.Logger.Warn("send could not leave: the API is unreachable; the recipient stays pending",
		"recipient_id", x.d.r.ID, "line", x.d.r.Line, "in_a_row", num.netStreak, "err", errorDetail(x.err))
	return o
}

// throughputCode reports whether a slow-sender answer is about the number's
// or the app's call rate (130429 throughput, 131057 maintenance, 4 and
// 80007 call quotas): those slow the whole sender down. Other slow-sender
// answers are transient failures that back off only their recipient.
func throughputCode(code int) bool {
	switch code {
	case 130429, 131057, 4, 80007:
		return true
	}
	return false
}

// errorDetail is the error text kept with a recipient: Meta's details, never
// a secret (the client keeps the token out of every error).
func errorDetail(err error) string {
	s := err.Error()
	if len(s) > 500 {
		s = s[:500]
	}
	return s
}

// judge feeds one answer to the guard's 131056 window: a share over the
// pause threshold stops the dispatcher (the pause is persisted by it), a
// change of the rate factor is logged. Called with r.mu held.
func (r *runner) judge(num *number, code int) {
	before := num.g.ratioFactor
	if p := num.g.observe(code); p != nil {
		switch {
		case !r.lone() && num.toPause == nil:
			num.toPause = p // the dispatcher pauses this number only
		case r.lone() && r.pause == nil:
			r.pause = p
		}
	}
	switch after := num.g.ratioFactor; {
	case after < before:
		r.d.Logger.Warn("131056 share above the slow-down threshold: send rate halved",
			"campaign", r.c.Name, "phone_number_id", num.id, "share", fmt.Sprintf("%.1f%%", num.g.share()*100), "threshold", fmt.Sprintf("%.0f%%", num.g.slowShare*100))
	case after > before:
		r.d.Logger.Info("131056 share back under the threshold: send rate raised",
			"campaign", r.c.Name, "phone_number_id", num.id, "factor", after)
	}
}

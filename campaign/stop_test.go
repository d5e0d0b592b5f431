package campaign

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestStopAtOrder: the conditions checked before every send are judged in
// one order (interrupted, paused, --not-after, --max-duration), and a run
// with none of them goes on at the time judged.
func TestStopAtOrder(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	past, future := now.Add(-time.Minute), now.Add(time.Minute)
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	tests := []struct {
		name     string
		ctx      context.Context
		paused   bool
		expiry   time.Time
		deadline time.Time
		want     stopKind // 0: no stop
	}{
		{"nothing", t.Context(), false, future, future, 0},
		{"no limits", t.Context(), false, time.Time{}, time.Time{}, 0},
		{"deadline", t.Context(), false, future, now, stopDeadline},
		{"expiry before deadline", t.Context(), false, past, past, stopExpired},
		{"expiry at now", t.Context(), false, now, time.Time{}, stopExpired},
		{"pause before expiry", t.Context(), true, past, past, stopPaused},
		{"interrupted first", cancelled, true, past, past, stopInterrupted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &runner{d: Deps{Now: func() time.Time { return now }}, expiry: tt.expiry,
				o: RunOptions{MaxDuration: time.Hour}}
			if tt.paused {
				r.pause = &pauseCause{Kind: "ratio", Reason: "test"}
			}
			at, sr, stop := r.stopAt(tt.ctx, tt.deadline)
			if tt.want == 0 {
				if stop || !at.Equal(now) {
					t.Fatalf("stopAt = %v, %+v, %v; want no stop at %v", at, sr, stop, now)
				}
				return
			}
			if !stop || sr.kind != tt.want {
				t.Fatalf("stopAt = %+v, %v; want kind %d", sr, stop, tt.want)
			}
			if tt.want == stopPaused && sr.pause != r.pause {
				t.Errorf("stopAt's pause = %v, want the runner's", sr.pause)
			}
		})
	}
}

// TestStopWorkLeft: a stop with work left records its line and its next
// time for the summary and ends the run with ErrMoreWork; an interrupted
// run ends with the context's cause, an expired one with errExpired.
func TestStopWorkLeft(t *testing.T) {
	next := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	r := &runner{}
	for _, k := range []stopKind{stopDeadline, stopAllowance, stopWaiting} {
		r.stopMsg, r.nextAt = "", time.Time{}
		err := r.stop(t.Context(), stopReason{kind: k, msg: "why", nextAt: next})
		if !errors.Is(err, ErrMoreWork) || r.stopMsg != "why" || !r.nextAt.Equal(next) {
			t.Errorf("kind %d: err %v, stopMsg %q, nextAt %v; want ErrMoreWork, why, %v", k, err, r.stopMsg, r.nextAt, next)
		}
	}
	if err := r.stop(t.Context(), stopReason{kind: stopExpired}); !errors.Is(err, errExpired) {
		t.Errorf("expired: err %v, want errExpired", err)
	}
	cause := errors.New("signal")
	ctx, cancel := context.WithCancelCause(t.Context())
	cancel(cause)
	if err := r.stop(ctx, stopReason{kind: stopInterrupted}); !errors.Is(err, cause) {
		t.Errorf("interrupted: err %v, want the context's cause", err)
	}
}

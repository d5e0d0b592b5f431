package campaign

import (
	"context"
	"time"

	"github.com/whatsend/whatsend/journal"
)

// recoverJournal applies what the send journals of this campaign's dead
// runs (or of this pair's number) say about the recipients they left in
// flight: answers not yet committed are recorded, checkpoints whose
// requests never left are withdrawn (pending again). The rest, in flight
// at the crash, become uncertain next (MarkUncertain). A journal that
// cannot be read leaves the store's own account.
func (r *runner) recoverJournal(ctx context.Context, now time.Time) error {
	if r.d.Journal == "" {
		return nil
	}
	log := r.d.Logger
	rec, err := journal.Recover(r.d.Journal, r.journalKey())
	if err != nil {
		log.Warn("the send journals of earlier runs cannot be read: their recipients in flight are uncertain", "err", err)
		return nil
	}
	ids := rec.Attempts()
	if len(ids) == 0 {
		r.journalDone(rec)
		return nil
	}
	in, err := r.d.Store.InFlight(ctx, ids)
	if err != nil {
		rec.Release()
		return err
	}
	answered, notLeft := rec.Outcomes(func(id string) bool { return in[id] })
	for i := range notLeft {
		notLeft[i].FinishedAt = now
	}
	if len(answered)+len(notLeft) > 0 {
		if err := r.d.Store.CommitAttempts(ctx, nil, append(answered, notLeft...)); err != nil {
			rec.Release()
			return err
		}
		log.Info("recovered from the send journal of an earlier run: answers recorded, and requests that never left are pending again",
			"campaign", r.c.Name, "answers", len(answered), "never_left", len(notLeft))
	}
	r.journalDone(rec)
	return nil
}

// journalDone removes the journals read; what they said is committed.
func (r *runner) journalDone(rec *journal.Recovered) {
	if rec.Ignored > 0 {
		r.d.Logger.Warn("send journals of an earlier boot are ignored: their recipients in flight are uncertain",
			"campaign", r.c.Name, "journals", rec.Ignored)
	}
	if err := rec.Done(); err != nil {
		r.d.Logger.Warn("a send journal could not be removed", "err", err)
	}
}

// openJournal starts this run's send journal; without one (none asked,
// or none possible here) the run checkpoints as before: a kill leaves
// uncertain what it cannot tell apart.
func (r *runner) openJournal() {
	if r.d.Journal == "" {
		return
	}
	jr, err := journal.Open(r.d.Journal, r.journalKey())
	if err != nil {
		r.d.Logger.Warn("sending without a send journal", "err", err)
		return
	}
	r.jr = jr
}

// closeJournal ends the run's journal: removed when everything it noted
// is committed, kept for the next run otherwise.
func (r *runner) closeJournal() {
	if r.jr == nil {
		return
	}
	if err := r.jr.Close(!r.unsettled.Load()); err != nil {
		r.d.Logger.Warn("the send journal could not be closed", "err", err)
	}
}

func (r *runner) journalKey() journal.Key {
	return journal.Key{Campaign: r.c.ID, Created: r.c.CreatedAt, Number: r.number}
}

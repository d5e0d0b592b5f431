package journal

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/whatsend/whatsend/store"
)

var (
	t0      = time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	created = time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	key7    = Key{Campaign: 7, Created: created}
)

func attempt(id string, rid int64) store.Attempt {
	return store.Attempt{ID: id, RecipientID: rid, CampaignID: 7}
}

func all(string) bool { return true }

func ids(os []store.Outcome) []string {
	var s []string
	for _, o := range os {
		s = append(s, o.AttemptID)
	}
	return s
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// A dead run's journal tells the next run which checkpointed requests
// never left, which were answered (with their answers) and, by what it
// does not say, which were in flight.
func TestRecoverDeadRun(t *testing.T) {
	dir := t.TempDir()
	j, err := Open(dir, key7)
	must(t, err)
	_, err = j.Begin([]store.Attempt{attempt("7-1-1", 1), attempt("7-2-1", 2), attempt("7-3-1", 3)})
	must(t, err)
	must(t, j.Leaving("7-1-1"))
	must(t, j.Leaving("7-2-1"))
	sent := store.Outcome{AttemptID: "7-1-1", RecipientID: 1, State: store.StateSent, WAMID: "wamid.1", MessageStatus: "accepted", FinishedAt: t0}
	must(t, j.Answer(sent))
	must(t, j.Close(false)) // the run died: its lock is gone, its file stays

	rec, err := Recover(dir, key7)
	must(t, err)
	answered, notLeft := rec.Outcomes(all)
	if len(answered) != 1 || answered[0] != sent {
		t.Errorf("answered = %+v, want %+v", answered, sent)
	}
	if got := ids(notLeft); !slices.Equal(got, []string{"7-3-1"}) || notLeft[0].RecipientID != 3 || !notLeft[0].NotSent {
		t.Errorf("never left = %+v, want 7-3-1 (recipient 3) not sent", notLeft)
	}
	if rec.Trusted != 1 || rec.Ignored != 0 {
		t.Errorf("trusted %d ignored %d, want 1 and 0", rec.Trusted, rec.Ignored)
	}
	// Only attempts still in flight in the store are recovered.
	answered, notLeft = rec.Outcomes(func(id string) bool { return id == "7-2-1" })
	if len(answered)+len(notLeft) != 0 {
		t.Errorf("attempts no longer in flight recovered: %+v %+v", answered, notLeft)
	}
	must(t, rec.Done())
	if left := files(t, dir); len(left) != 0 {
		t.Errorf("journals left after Done: %v", left)
	}
}

func files(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	must(t, err)
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

// A journal whose run is alive is not read, nor removed; a run that ended
// settled leaves no journal.
func TestLiveJournalUntouched(t *testing.T) {
	dir := t.TempDir()
	live, err := Open(dir, key7)
	must(t, err)
	_, err = live.Begin([]store.Attempt{attempt("7-1-1", 1)})
	must(t, err)
	rec, err := Recover(dir, key7)
	must(t, err)
	if a, n := rec.Outcomes(all); len(a)+len(n) != 0 || rec.Trusted != 0 {
		t.Errorf("a live run's journal was read: %+v %+v", a, n)
	}
	must(t, rec.Done())
	if len(files(t, dir)) != 1 {
		t.Fatalf("a live run's journal was removed")
	}
	must(t, live.Close(true))
	if left := files(t, dir); len(left) != 0 {
		t.Errorf("a settled run left %v", left)
	}
}

// Records the writer did not finish are not believed: a torn "S" proves
// nothing left (its write never returned, so neither did the request), a
// torn answer is not recorded.
func TestTornRecords(t *testing.T) {
	dir := t.TempDir()
	j, err := Open(dir, key7)
	must(t, err)
	_, err = j.Begin([]store.Attempt{attempt("7-1-1", 1), attempt("7-2-1", 2)})
	must(t, err)
	must(t, j.Leaving("7-1-1"))
	path := j.cur.path
	must(t, j.Close(false))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	must(t, err)
	_, err = f.WriteString(`A {"a":"7-1-1","r":1,"s":"se`)
	must(t, err)
	f.Close()
	rec, err := Recover(dir, key7)
	must(t, err)
	answered, notLeft := rec.Outcomes(all)
	if len(answered) != 0 || !slices.Equal(ids(notLeft), []string{"7-2-1"}) {
		t.Errorf("answered %+v, never left %+v: want none answered, 7-2-1 never left", answered, notLeft)
	}
	rec.Release()
}

// A journal written before the machine restarted proves nothing: the
// writes after its last sync may be lost. It is ignored (and removed).
func TestOtherBootIgnored(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "7-all-00000000000000000001-99.journal")
	must(t, os.WriteFile(path, []byte(key7.head("00000000-0000-0000-0000-000000000000")+"B 7-1-1 1\n"), 0o600))
	rec, err := Recover(dir, key7)
	must(t, err)
	if a, n := rec.Outcomes(all); len(a)+len(n) != 0 || rec.Ignored != 1 {
		t.Errorf("another boot's journal was believed: %+v %+v (ignored %d)", a, n, rec.Ignored)
	}
	must(t, rec.Done())
	if left := files(t, dir); len(left) != 0 {
		t.Errorf("left %v", left)
	}
}

// A campaign id used again after a deletion does not take the deleted
// campaign's journals.
func TestDeletedCampaignIgnored(t *testing.T) {
	dir := t.TempDir()
	j, err := Open(dir, key7)
	must(t, err)
	_, err = j.Begin([]store.Attempt{attempt("7-1-1", 1)})
	must(t, err)
	must(t, j.Close(false))
	rec, err := Recover(dir, Key{Campaign: 7, Created: created.Add(time.Hour)})
	must(t, err)
	if a, n := rec.Outcomes(all); len(a)+len(n) != 0 || rec.Ignored != 1 {
		t.Errorf("the deleted campaign's journal was believed: %+v %+v", a, n)
	}
	rec.Release()
}

// A withdrawn attempt's id comes back with the recipient's next attempt:
// the later checkpoint starts it over, across files too.
func TestReusedAttemptID(t *testing.T) {
	dir := t.TempDir()
	old, err := Open(dir, key7)
	must(t, err)
	_, err = old.Begin([]store.Attempt{attempt("7-1-1", 1)})
	must(t, err)
	must(t, old.Leaving("7-1-1"))
	must(t, old.Answer(store.Outcome{AttemptID: "7-1-1", RecipientID: 1, NotSent: true, FinishedAt: t0}))
	must(t, old.Close(false))
	time.Sleep(time.Microsecond) // a later file name
	j, err := Open(dir, key7)
	must(t, err)
	_, err = j.Begin([]store.Attempt{attempt("7-1-1", 1)})
	must(t, err)
	must(t, j.Close(false))
	rec, err := Recover(dir, key7)
	must(t, err)
	answered, notLeft := rec.Outcomes(all)
	if len(answered) != 0 || !slices.Equal(ids(notLeft), []string{"7-1-1"}) {
		t.Errorf("answered %+v, never left %+v: want the second checkpoint, never left", answered, notLeft)
	}
	must(t, rec.Done())
}

// A pair run reads its number's journals only; a whole run reads all of
// the campaign's, and no other campaign's.
func TestRecoverByNumber(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"111", "222"} {
		j, err := Open(dir, Key{Campaign: 7, Created: created, Number: n})
		must(t, err)
		_, err = j.Begin([]store.Attempt{attempt("7-"+n+"-1", 1)})
		must(t, err)
		must(t, j.Close(false))
	}
	other, err := Open(dir, Key{Campaign: 8, Created: created})
	must(t, err)
	_, err = other.Begin([]store.Attempt{attempt("8-1-1", 1)})
	must(t, err)
	must(t, other.Close(false))

	rec, err := Recover(dir, Key{Campaign: 7, Created: created, Number: "111"})
	must(t, err)
	if got := rec.Attempts(); !slices.Equal(got, []string{"7-111-1"}) {
		t.Errorf("pair run of 111 read %v", got)
	}
	rec.Release()
	rec, err = Recover(dir, key7)
	must(t, err)
	if got := rec.Attempts(); !slices.Equal(got, []string{"7-111-1", "7-222-1"}) {
		t.Errorf("whole run read %v", got)
	}
	must(t, rec.Done())
	if left := files(t, dir); len(left) != 1 {
		t.Errorf("left %v, want campaign 8's journal only", left)
	}
}

// A long run's journal starts a new file when full; a full file goes once
// every checkpoint noted in it is settled, and only then.
func TestSegmentsRemovedWhenSettled(t *testing.T) {
	defer func(n int64) { segmentBytes = n }(segmentBytes)
	segmentBytes = 1
	dir := t.TempDir()
	j, err := Open(dir, key7)
	must(t, err)
	s1, err := j.Begin([]store.Attempt{attempt("7-1-1", 1), attempt("7-2-1", 2)})
	must(t, err)
	s2, err := j.Begin([]store.Attempt{attempt("7-3-1", 3)})
	must(t, err)
	if s1 == s2 || len(files(t, dir)) != 2 {
		t.Fatalf("no new file when full: %v", files(t, dir))
	}
	j.Settled(s1, 1)
	if len(files(t, dir)) != 2 {
		t.Fatalf("a file was removed with a checkpoint unsettled")
	}
	j.Settled(s1, 1)
	if got := files(t, dir); len(got) != 1 || filepath.Join(dir, got[0]) != s2.path {
		t.Errorf("files %v, want only the current one", got)
	}
	must(t, j.Close(true))
}

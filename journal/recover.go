package journal

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/whatsend/whatsend/store"
)

// Recovered is what the journals of dead runs of a campaign say about the
// attempts they checkpointed.
type Recovered struct {
	files []*os.File // the journals read (and locked), or ignored as untrusted
	paths []string

	begun   map[string]int64 // attempt -> recipient
	left    map[string]bool
	answers map[string]store.Outcome
	// Trusted and Ignored count the journals read and those ignored (another
	// boot, or unreadable).
	Trusted, Ignored int
}

// Recover reads the journals in dir of key's campaign left by runs that
// are gone: for a pair run (key.Number set) those of that number, for a
// whole run all of them. A journal whose writer still runs (its lock is
// held) is left alone. The caller applies what it learnt, then calls Done,
// which removes the journals; until then they stay locked.
func Recover(dir string, key Key) (*Recovered, error) {
	rec := &Recovered{begun: map[string]int64{}, left: map[string]bool{}, answers: map[string]store.Outcome{}}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return rec, nil
	}
	if err != nil {
		return nil, fmt.Errorf("send journal: %w", err)
	}
	boot, err := bootID()
	if err != nil {
		return nil, fmt.Errorf("send journal: %w", err)
	}
	type file struct {
		name    string
		created int64
	}
	var files []file
	prefix := strconv.FormatInt(key.Campaign, 10) + "-"
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, prefix) || !strings.HasSuffix(name, ".journal") {
			continue
		}
		// <campaign>-<number|all>-<created>-<pid>.journal
		parts := strings.Split(strings.TrimSuffix(name, ".journal"), "-")
		if len(parts) < 4 {
			continue
		}
		if num := strings.Join(parts[1:len(parts)-2], "-"); key.Number != "" && num != numberPart(key.Number) {
			continue
		}
		created, err := strconv.ParseInt(parts[len(parts)-2], 10, 64)
		if err != nil {
			continue
		}
		files = append(files, file{name, created})
	}
	slices.SortFunc(files, func(a, b file) int { return int(a.created - b.created) })
	for _, fl := range files {
		path := filepath.Join(dir, fl.name)
		f, err := os.Open(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed meanwhile by its own writer
		}
		if err != nil {
			rec.Release()
			return nil, fmt.Errorf("send journal: %w", err)
		}
		if err := lockFile(f, false); err != nil {
			f.Close() // its run is alive
			continue
		}
		rec.files, rec.paths = append(rec.files, f), append(rec.paths, path)
		if err := rec.read(f, boot, key); err != nil {
			rec.Ignored++
			continue
		}
		rec.Trusted++
	}
	return rec, nil
}

// errUntrusted: a journal of another boot, or of a deleted campaign whose
// id was used again; what it lacks proves nothing.
var errUntrusted = errors.New("journal of another boot")

// read adds one journal's records. A torn last record (no newline, or an
// answer that does not parse) is not counted: its write never returned.
func (rec *Recovered) read(f *os.File, boot string, key Key) error {
	r := bufio.NewReaderSize(f, 64<<10)
	head, err := r.ReadString('\n')
	if err != nil {
		return errUntrusted
	}
	// The number is the file's own: a whole run reads every number's.
	k := key
	if fields := strings.Fields(head); len(fields) == 6 {
		k.Number = fields[5]
		if k.Number == numberPart("") {
			k.Number = ""
		}
		if u, err := url.PathUnescape(k.Number); err == nil {
			k.Number = u
		}
	}
	if head != k.head(boot) {
		return errUntrusted
	}
	for {
		line, err := r.ReadBytes('\n')
		if err != nil {
			return nil // the end, or a torn last record
		}
		line = bytes.TrimSuffix(line, []byte("\n"))
		if len(line) < 3 || line[1] != ' ' {
			continue
		}
		body := string(line[2:])
		switch line[0] {
		case 'B':
			id, rid, ok := strings.Cut(body, " ")
			n, err := strconv.ParseInt(rid, 10, 64)
			if !ok || err != nil {
				continue
			}
			// A withdrawn attempt's id is used again by the next attempt:
			// its checkpoint starts it over.
			rec.begun[id] = n
			delete(rec.left, id)
			delete(rec.answers, id)
		case 'S':
			rec.left[body] = true
		case 'A':
			var a answer
			if json.Unmarshal(line[2:], &a) != nil {
				continue
			}
			rec.answers[a.Attempt] = a.outcome()
		}
	}
}

// Outcomes returns, of the attempts the journals checkpointed and that
// inFlight keeps (those still in flight in the store), the answers not
// committed before the crash, and an outcome NotSent for each whose
// request never left. The others were in flight at the crash: they are
// left to the store's account (uncertain).
func (rec *Recovered) Outcomes(inFlight func(attemptID string) bool) (answered, notLeft []store.Outcome) {
	for id, rid := range rec.begun {
		if !inFlight(id) {
			continue
		}
		if o, ok := rec.answers[id]; ok {
			answered = append(answered, o)
			continue
		}
		if !rec.left[id] {
			notLeft = append(notLeft, store.Outcome{AttemptID: id, RecipientID: rid, State: store.StatePending, NotSent: true})
		}
	}
	byID := func(a, b store.Outcome) int { return strings.Compare(a.AttemptID, b.AttemptID) }
	slices.SortFunc(answered, byID)
	slices.SortFunc(notLeft, byID)
	return answered, notLeft
}

// Attempts lists the attempts the journals checkpointed.
func (rec *Recovered) Attempts() []string {
	ids := make([]string, 0, len(rec.begun))
	for id := range rec.begun {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Done removes the journals read, once what they said is committed.
func (rec *Recovered) Done() error {
	var errs []error
	for i, f := range rec.files {
		if err := os.Remove(rec.paths[i]); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
		f.Close()
	}
	rec.files, rec.paths = nil, nil
	return errors.Join(errs...)
}

// Release lets the journals go without removing them (what they say was
// not committed).
func (rec *Recovered) Release() {
	for _, f := range rec.files {
		f.Close()
	}
	rec.files, rec.paths = nil, nil
}

// Package journal keeps a run's send journal: append-only files in a
// directory beside the store where a sending run notes, with no sync and
// one write each, the checkpoints it commits (B), each request just before
// it leaves (S) and each answer (A).
//
// The store's synced checkpoint stays what proves that a request may have
// left: nothing leaves without it, and a machine that loses power recovers
// from the store alone (every checkpoint without a committed answer is
// uncertain). The journal adds what a kill -9 would otherwise lose: a
// write(2) that returned is in the kernel's page cache and survives the
// death of its process. So the next run on this machine (Recover) knows,
// of each recipient left in flight, whether its request never left (it is
// pending again), was answered (the answer is recorded) or was in flight
// at the kill (uncertain). The run can therefore hand recipients to the
// store well ahead of their slot and commit answers seldom, without
// growing what a kill leaves uncertain.
//
// A journal is trusted only when the kernel that wrote it is still
// running (its boot id) and its writer is gone (the writer's lock on the
// file is free); any other journal is ignored, which leaves the store's
// own account.
package journal

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/whatsend/whatsend/store"
)

// magic opens every journal file; the version follows it.
const magic = "whatsend-journal 1"

// segmentBytes is the size past which a journal starts a new file; a file
// whose checkpoints are all answered and committed is removed.
var segmentBytes int64 = 4 << 20

// A Journal is one run's send journal. Its methods may be called from
// several goroutines.
type Journal struct {
	dir  string
	key  Key
	boot string

	mu  sync.Mutex
	cur *Segment
}

// A Segment is one file of a journal. The run keeps, with each attempt, the
// segment its checkpoint was noted in, and tells the journal once the
// attempt's answer is committed (Settled).
type Segment struct {
	j    *Journal
	f    *os.File
	path string
	size int64
	open int // checkpoints noted here whose answers are not committed
	done bool
}

// Key names whose journal it is: a run of a campaign, whole or of one
// phone number of its pool (a pair run).
type Key struct {
	Campaign int64
	// Created is when the campaign was created: a campaign id used again
	// after a deletion does not take the deleted campaign's journals.
	Created time.Time
	Number  string // a pair run's phone number; "" for a whole run
}

// head is the first line of a journal file.
func (k Key) head(boot string) string {
	return fmt.Sprintf("%s %s %d %d %s\n", magic, boot, k.Campaign, k.Created.UnixNano(), numberPart(k.Number))
}

// Open starts the journal of a run in dir, creating dir. It fails where
// the journal cannot be trusted on recovery (no boot id, no file locks):
// the run then goes without one.
func Open(dir string, key Key) (*Journal, error) {
	boot, err := bootID()
	if err != nil {
		return nil, fmt.Errorf("send journal: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("send journal: %w", err)
	}
	j := &Journal{dir: dir, key: key, boot: boot}
	s, err := j.newSegment()
	if err != nil {
		return nil, err
	}
	j.cur = s
	return j, nil
}

// newSegment creates and locks a new file. Its name orders the files of
// a campaign by creation.
func (j *Journal) newSegment() (*Segment, error) {
	now := time.Now()
	name := fmt.Sprintf("%d-%s-%020d-%d.journal", j.key.Campaign, numberPart(j.key.Number), now.UnixNano(), os.Getpid())
	path := filepath.Join(j.dir, name)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("send journal: %w", err)
	}
	if err := lockFile(f, true); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("send journal %s: %w", path, err)
	}
	head := j.key.head(j.boot)
	if _, err := f.WriteString(head); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("send journal %s: %w", path, err)
	}
	return &Segment{j: j, f: f, path: path, size: int64(len(head))}, nil
}

// numberPart is a number as it appears in file names and headers.
func numberPart(number string) string {
	if number == "" {
		return "all"
	}
	return url.PathEscape(number)
}

// Begin notes checkpoints about to be committed, in one write, and
// returns the segment they are noted in. A failed write leaves the
// checkpoints unnoted: their requests must not leave.
func (j *Journal) Begin(as []store.Attempt) (*Segment, error) {
	var b bytes.Buffer
	for _, a := range as {
		b.WriteString("B ")
		b.WriteString(a.ID)
		b.WriteByte(' ')
		b.WriteString(strconv.FormatInt(a.RecipientID, 10))
		b.WriteByte('\n')
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.cur.size >= segmentBytes {
		s, err := j.newSegment()
		if err != nil {
			return nil, err
		}
		old := j.cur
		j.cur = s
		old.retire()
	}
	s := j.cur
	if err := s.write(b.Bytes()); err != nil {
		return nil, err
	}
	s.open += len(as)
	return s, nil
}

// Leaving notes that an attempt's request is about to leave. Its request
// must not leave when this fails.
func (j *Journal) Leaving(attemptID string) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.cur.write([]byte("S " + attemptID + "\n"))
}

// answer is an outcome as a journal holds it.
type answer struct {
	Attempt   string    `json:"a"`
	Recipient int64     `json:"r"`
	State     string    `json:"s,omitempty"`
	Code      int       `json:"c,omitempty"`
	Error     string    `json:"e,omitempty"`
	WAMID     string    `json:"w,omitempty"`
	Status    string    `json:"m,omitempty"`
	Next      time.Time `json:"n,omitzero"`
	Finished  time.Time `json:"f"`
	NotSent   bool      `json:"x,omitempty"`
}

func toAnswer(o store.Outcome) answer {
	return answer{Attempt: o.AttemptID, Recipient: o.RecipientID, State: string(o.State), Code: o.Code, Error: o.Error,
		WAMID: o.WAMID, Status: o.MessageStatus, Next: o.NextAttemptAt, Finished: o.FinishedAt, NotSent: o.NotSent}
}

func (a answer) outcome() store.Outcome {
	return store.Outcome{AttemptID: a.Attempt, RecipientID: a.Recipient, State: store.State(a.State), Code: a.Code, Error: a.Error,
		WAMID: a.WAMID, MessageStatus: a.Status, NextAttemptAt: a.Next, FinishedAt: a.Finished, NotSent: a.NotSent}
}

// Answer notes an attempt's outcome before it is committed to the store.
func (j *Journal) Answer(o store.Outcome) error {
	line, err := json.Marshal(toAnswer(o))
	if err != nil {
		return err
	}
	line = append(append([]byte("A "), line...), '\n')
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.cur.write(line)
}

// Settled tells the journal that n answers of checkpoints noted in s are
// committed to the store. A full segment whose checkpoints are all
// settled is removed.
func (j *Journal) Settled(s *Segment, n int) {
	if s == nil {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	s.open -= n
	if s.done && s.open <= 0 {
		s.remove()
	}
}

// Close ends the journal. With settled (every checkpoint of the run
// answered and committed) its files are removed; otherwise they stay for
// the next run to recover, their locks released.
func (j *Journal) Close(settled bool) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	s := j.cur
	if settled {
		return s.remove()
	}
	return s.f.Close()
}

func (s *Segment) write(p []byte) error {
	if _, err := s.f.Write(p); err != nil {
		return fmt.Errorf("send journal %s: %w", s.path, err)
	}
	s.size += int64(len(p))
	return nil
}

// retire marks a segment full; it goes once its checkpoints are settled.
func (s *Segment) retire() {
	s.done = true
	if s.open <= 0 {
		s.remove()
	}
}

func (s *Segment) remove() error {
	err := os.Remove(s.path)
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	return err
}

package csvimport

import (
	"encoding/csv"
	"errors"
	"io"
	"runtime"
	"sync"
)

// The records of a file are checked (phone normalisation is most of a
// read's CPU) by several goroutines, in batches, and handed back in file
// order: the reader reads records, the workers check batches, and Read's
// caller takes the batches in order from p.order. At most two batches per
// worker are in flight, so memory stays bounded whatever the file's size.
const batchRecords = 256

// batch is a run of consecutive records and, once done is closed, their
// verdicts; err, when set, ends the file after them.
type batch struct {
	recs    [][]string
	lines   []int
	parse   []*csv.ParseError // per record: an unreadable row
	items   []item
	err     error // not a row's problem: the read fails here
	errLine int
	done    chan struct{}
}

type pipeline struct {
	order chan *batch // batches in file order
	quit  chan struct{}
	wg    sync.WaitGroup
	once  sync.Once
}

func startPipeline(cr *csv.Reader, c checker) *pipeline {
	workers := max(1, runtime.GOMAXPROCS(0))
	p := &pipeline{order: make(chan *batch, 2*workers), quit: make(chan struct{})}
	work := make(chan *batch)
	for range workers {
		p.wg.Go(func() {
			for b := range work {
				b.items = make([]item, len(b.recs))
				for i, rec := range b.recs {
					if pe := b.parse[i]; pe != nil {
						b.items[i] = item{skip: Skip{Line: pe.StartLine, Reason: ReasonBadRow, Detail: "unreadable row: " + pe.Err.Error()}}
						continue
					}
					b.items[i] = c.check(rec, b.lines[i])
				}
				close(b.done)
			}
		})
	}
	p.wg.Go(func() {
		defer close(work)
		defer close(p.order)
		for {
			b, more := readBatch(cr)
			select {
			case p.order <- b:
			case <-p.quit:
				return
			}
			if len(b.recs) == 0 {
				close(b.done)
			} else {
				select {
				case work <- b:
				case <-p.quit:
					return
				}
			}
			if !more {
				return
			}
		}
	})
	return p
}

// readBatch reads up to batchRecords records; more is false at the end of
// the file or when the read failed (b.err).
func readBatch(cr *csv.Reader) (b *batch, more bool) {
	b = &batch{done: make(chan struct{})}
	for len(b.recs) < batchRecords {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return b, false
		}
		line := recordLine(cr, rec)
		var pe *csv.ParseError
		if err != nil && !errors.As(err, &pe) {
			b.err, b.errLine = err, line
			return b, false
		}
		b.recs = append(b.recs, rec)
		b.lines = append(b.lines, line)
		b.parse = append(b.parse, pe)
	}
	return b, true
}

// stop ends the reader and the workers, whether or not the file was read
// to its end, and waits for them.
func (p *pipeline) stop() {
	p.once.Do(func() { close(p.quit) })
	for b := range p.order { // unblock the reader
		_ = b
	}
	p.wg.Wait()
}

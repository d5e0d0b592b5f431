package report

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gocarina/gocsv"

	"github.com/whatsend/whatsend/campaign"
	"github.com/whatsend/whatsend/store"
)

// CSVOptions tune the per-recipient export.
type CSVOptions struct {
	Only []store.State // keep only recipients in these states; empty: all
	Mask bool          // mask phone numbers
}

// csvRow is one line of the export. The campaign's --params columns are
// spliced in after phone, under their CSV names, by paramWriter: the
// export of the failed recipients can be run again as it is.
type csvRow struct {
	Line     int    `csv:"line"`
	Phone    string `csv:"phone"`
	State    string `csv:"state"`
	Reason   string `csv:"reason"` // the skip reason
	Attempts int    `csv:"attempts"`
	Code     string `csv:"error_code"`
	Meaning  string `csv:"error_meaning"`
	Detail   string `csv:"detail"`
	WAMID    string `csv:"wamid"`
	SentAt   string `csv:"sent_at"`
	Delivery string `csv:"delivery"`

	params []string
}

// paramAt is where the parameter columns go: after line and phone.
const paramAt = 2

// csvBatch is how many rows are handed to gocsv at a time, and csvBuffers
// how many batches exist at once: memory stays bounded whatever the
// campaign's size.
const (
	csvBatch   = 1024
	csvBuffers = 4
)

// WriteCSV streams one row per CSV data row of the campaign, in line order:
// every recipient with its state, attempts, last error code and meaning,
// wamid and send time, and every row skipped at import with its reason.
// Every cell is neutralised against spreadsheet formulas (see Neutralise).
// Rows skipped at import carry the --params values they had, so the export
// of the skipped rows can be fixed and imported again.
func WriteCSV(ctx context.Context, st Store, campaignID int64, w io.Writer, opts CSVOptions) error {
	c, err := st.Campaign(ctx, campaignID)
	if err != nil {
		return err
	}
	// Skipped rows are only the CSV's bad rows, but store.Skipped returns
	// them all at once: the one part of the export that does not stream.
	skipped, err := st.Skipped(ctx, campaignID)
	if err != nil {
		return err
	}
	keep := func(s store.State) bool { return len(opts.Only) == 0 || slices.Contains(opts.Only, s) }

	pw := &paramWriter{w: csv.NewWriter(w), header: paramHeader(c.Params), n: len(c.Params)}
	if err := gocsv.MarshalCSV([]csvRow{}, pw); err != nil {
		return err
	}

	// Reading the store and encoding the CSV each take about half the time:
	// the store's iteration fills batches that a second goroutine encodes.
	// Memory holds at most csvBuffers batches, whatever the campaign's size.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	full := make(chan []csvRow, csvBuffers-2)
	free := make(chan []csvRow, csvBuffers)
	for range csvBuffers {
		free <- make([]csvRow, 0, csvBatch)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for batch := range full {
			if context.Cause(ctx) == nil {
				pw.batch, pw.i = batch, 0
				if err := gocsv.MarshalCSVWithoutHeaders(batch, pw); err != nil {
					cancel(err)
				}
			}
			free <- batch[:0]
		}
	})
	batch := <-free
	send := func() error {
		if len(batch) > 0 {
			full <- batch
			batch = <-free
		}
		return context.Cause(ctx)
	}
	add := func(row csvRow) error {
		batch = append(batch, row)
		if len(batch) == csvBatch {
			return send()
		}
		return nil
	}
	addSkipped := func(before int) error {
		for len(skipped) > 0 && (before < 0 || skipped[0].Line < before) {
			k := skipped[0]
			skipped = skipped[1:]
			if !keep(store.StateSkipped) {
				continue
			}
			if err := add(importSkipRow(k, opts.Mask)); err != nil {
				return err
			}
		}
		return nil
	}
	err = st.Recipients(ctx, campaignID, func(rc store.Recipient) error {
		if err := addSkipped(rc.Line); err != nil {
			return err
		}
		if !keep(rc.State) {
			return nil
		}
		return add(recipientRow(rc, opts.Mask))
	})
	if err == nil {
		err = addSkipped(-1)
	}
	if err == nil {
		err = send()
	}
	close(full)
	wg.Wait()
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return cause // the encoder's error (a full disk) explains the rest
	}
	return err
}

func recipientRow(rc store.Recipient, mask bool) csvRow {
	row := csvRow{Line: rc.Line, Phone: rc.Phone, State: string(rc.State), Attempts: rc.Attempts,
		Detail: rc.LastError, WAMID: rc.WAMID, Delivery: string(rc.Delivery), params: rc.Params}
	if rc.State == store.StateSkipped {
		row.Reason = rc.SkipReason
	}
	if rc.LastCode != 0 {
		row.Code, row.Meaning = strconv.Itoa(rc.LastCode), meaningOf(rc.LastCode)
	}
	if !rc.SentAt.IsZero() {
		row.SentAt = rc.SentAt.UTC().Format(time.RFC3339)
	}
	if mask {
		row.Phone, row.Detail = MaskPhone(row.Phone), MaskText(row.Detail)
	}
	return row
}

// importSkipRow is a row skipped at import. Its raw value is the phone
// cell as the CSV had it, except for a bad row, whose raw value is the row
// itself: that goes to the detail.
func importSkipRow(k store.SkippedRow, mask bool) csvRow {
	raw, detail := k.Raw, k.Detail
	if mask {
		raw, detail = maskSkip(k.Reason, raw, detail)
	}
	row := csvRow{Line: k.Line, State: string(store.StateSkipped), Reason: k.Reason, Detail: detail, params: k.Params}
	if k.Reason != reasonBadRow {
		row.Phone = raw
	} else if raw != "" {
		row.Detail += ": " + raw
	}
	return row
}

// reasonBadRow is csvimport.ReasonBadRow (not imported: the report does not
// need the importer).
const reasonBadRow = "bad_row"

// paramHeader names the parameter columns after the CSV's own columns; a
// name that collides with one of the export's columns gets a "param_"
// prefix.
func paramHeader(params []string) []string {
	fixed := map[string]bool{}
	for _, f := range []string{"line", "phone", "state", "reason", "attempts", "error_code", "error_meaning", "detail", "wamid", "sent_at", "delivery"} {
		fixed[f] = true
	}
	out := make([]string, len(params))
	for i, p := range params {
		if fixed[strings.ToLower(strings.TrimSpace(p))] {
			p = "param_" + p
		}
		out[i] = p
	}
	return out
}

// paramWriter is the gocsv.CSVWriter under the export: it splices the
// parameter columns of each row (or their names, for the header) in after
// the phone column and neutralises every cell. gocsv writes the rows of a
// batch in order, one Write each.
type paramWriter struct {
	w      *csv.Writer
	header []string
	n      int      // parameter columns
	batch  []csvRow // the rows being written; nil while writing the header
	i      int
	buf    []string
}

func (p *paramWriter) Write(row []string) error {
	var extra []string
	if p.batch == nil {
		extra = p.header
	} else {
		if p.i >= len(p.batch) {
			return fmt.Errorf("csv export: row %d of a batch of %d", p.i, len(p.batch))
		}
		extra = p.batch[p.i].params
		p.i++
	}
	out := append(p.buf[:0], row[:paramAt]...)
	for j := range p.n {
		v := ""
		if j < len(extra) {
			v = extra[j]
		}
		out = append(out, v)
	}
	out = append(out, row[paramAt:]...)
	for j, v := range out {
		out[j] = Neutralise(v)
	}
	p.buf = out
	return p.w.Write(out)
}

func (p *paramWriter) Flush()       { p.w.Flush() }
func (p *paramWriter) Error() error { return p.w.Error() }

// ParseStates reads --only values: state names (pending, in_flight, sent,
// retry, deferred, failed, skipped, uncertain, cancelled, expired; in-flight also
// accepted) and
// "remaining" for campaign.RemainingStates (pending, retry and deferred).
func ParseStates(values []string) ([]store.State, error) {
	var out []store.State
	for _, v := range values {
		v = strings.ToLower(strings.TrimSpace(v))
		switch v {
		case "":
			continue
		case "remaining":
			out = append(out, campaign.RemainingStates...)
			continue
		case "in-flight", "inflight":
			v = string(store.StateInFlight)
		}
		s := store.State(v)
		switch s {
		case store.StatePending, store.StateInFlight, store.StateSent, store.StateRetry, store.StateDeferred,
			store.StateFailed, store.StateSkipped, store.StateUncertain, store.StateCancelled, store.StateExpired:
			out = append(out, s)
		default:
			return nil, fmt.Errorf("unknown state %q (want failed, uncertain, skipped, cancelled, expired, sent, remaining, pending, retry, deferred or in_flight)", v)
		}
	}
	return out, nil
}

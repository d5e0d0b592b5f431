// Package csvimport reads recipients from what spreadsheets really export:
// UTF-8 with or without a BOM, UTF-16 with a BOM (Excel's "Unicode text"),
// Windows-1252, CRLF, comma, semicolon or tab delimiters, quoted fields
// with newlines, stray quotes, blank lines and ragged rows. It streams: the
// file is never held in memory.
//
// Row rules: a row with fewer fields than the columns it needs is skipped
// (bad_row); extra fields are ignored. A field longer than MaxFieldBytes
// skips its row. Every skip carries the CSV line where its record starts.
package csvimport

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// ErrRefused matches every RefusalError. Package campaign uses it for
// every refusal of the user's input (campaign.ErrRefused, exit 2).
var ErrRefused = errors.New("input refused")

// RefusalError refuses a whole file, naming the file, line and column like
// encoding/csv's ParseError.
type RefusalError struct {
	File   string
	Line   int // 0 when the whole file is concerned
	Column int // 1-based; 0 when not known
	Err    error
}

func (e *RefusalError) Error() string {
	switch {
	case e.Line > 0 && e.Column > 0:
		return fmt.Sprintf("%s: line %d, column %d: %v", e.File, e.Line, e.Column, e.Err)
	case e.Line > 0:
		return fmt.Sprintf("%s: line %d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.File, e.Err)
}

func (e *RefusalError) Unwrap() error { return e.Err }

// Is makes a RefusalError match ErrRefused.
func (e *RefusalError) Is(target error) bool { return target == ErrRefused }

// Config configures a read.
type Config struct {
	PhoneColumn   string   // the phone column's name; default: detected
	Params        []string // columns mapped to body parameters, in order
	DefaultRegion string   // for numbers without a country code
	MaxFieldBytes int      // default 64 KiB
	Dedupe        bool     // detect duplicates in memory (validate only)
	// Columns are further columns a row's template values come from (the
	// header, buttons, language); a missing one refuses the file, naming
	// its flag.
	Columns []Column
	// Check, when set, is called with each row that passed the phone and
	// --params checks and the values of Columns (trimmed), from several
	// goroutines at once. It may set the row's Components; a reason skips
	// the row, with detail (the skip's Raw stays the phone, as for every
	// row reason, so that a report of the skipped rows can be fixed).
	Check func(r *Row, values []string) (reason, detail string)
}

// Column is a CSV column a flag asks for.
type Column struct {
	Name string
	Flag string // e.g. --header
}

// Row is a valid recipient.
type Row struct {
	Line   int
	Phone  string // E.164
	Params []string
	// Components are the row's other template values, frozen by
	// Config.Check; nil without it.
	Components []byte
	// Values are the row's Config.Columns values, in order.
	Values []string
}

// Skip is a row that will not be sent, with its reason.
type Skip struct {
	Line   int
	Reason string
	Detail string
	Raw    string
	// Params are the row's --params values as far as it has them (empty
	// strings for the columns it lacks), then its Config.Columns values,
	// for an export that can be fixed and imported again.
	Params []string
}

// Result sums up a read.
type Result struct {
	Rows        int // data rows seen (blank lines not counted)
	Valid       int
	Skipped     int
	Header      []string
	PhoneColumn string
	Delimiter   rune
	Encoding    string
}

// phoneNames are the phone column names recognised, normalised.
var phoneNames = []string{"phone", "phonenumber", "mobile", "msisdn", "waid", "to"}

// normName folds a column name: case, spaces, '_' and '-' do not matter.
func normName(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	return strings.NewReplacer(" ", "", "_", "", "-", "").Replace(s)
}

const (
	maxLine     = 1 << 20 // longer physical lines are cut (their row is skipped)
	maxRaw      = 200
	sniffBytes  = 64 << 10
	defaultMaxF = 64 << 10
)

// Read streams the CSV in r, calling onRow for each valid row and onSkip
// for each skipped one, in line order. It returns a *RefusalError when the
// whole file must be refused.
func Read(r io.Reader, file string, cfg Config, onRow func(Row) error, onSkip func(Skip) error) (Result, error) {
	if cfg.MaxFieldBytes <= 0 {
		cfg.MaxFieldBytes = defaultMaxF
	}
	refuse := func(line, col int, format string, args ...any) (Result, error) {
		return Result{}, &RefusalError{File: file, Line: line, Column: col, Err: fmt.Errorf(format, args...)}
	}
	text, enc, err := decode(r)
	if err != nil {
		return refuse(0, 0, "%w", err)
	}
	br := bufio.NewReaderSize(&lineBound{r: text, max: maxLine}, 64<<10)
	head, err := br.Peek(sniffBytes)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return refuse(0, 0, "read: %w", err)
	}
	if len(bytes.TrimSpace(head)) == 0 {
		return refuse(0, 0, "the file is empty: a header row is required")
	}
	res := Result{Encoding: enc, Delimiter: sniffDelimiter(head)}
	cr := csv.NewReader(br)
	cr.Comma = res.Delimiter
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	cr.ReuseRecord = false // records are handed to other goroutines

	// The header is the first record that is not blank: blank lines and
	// rows of empty cells (",,,") before it are skipped.
	var header []string
	for {
		header, err = cr.Read()
		if errors.Is(err, io.EOF) {
			return refuse(0, 0, "the file is empty: a header row is required")
		}
		if err != nil {
			return refuse(recordLine(cr, header), 0, "cannot read the header row: %w", err)
		}
		if !blankRecord(header) {
			break
		}
	}
	headerLine := recordLine(cr, header)
	res.Header = append([]string(nil), header...)
	for i := range res.Header {
		res.Header[i] = strings.TrimSpace(res.Header[i])
	}
	phoneIdx := -1
	if cfg.PhoneColumn != "" {
		phoneIdx = indexOf(res.Header, cfg.PhoneColumn)
		if phoneIdx < 0 {
			return refuse(headerLine, 0, "no column %q (columns: %s)", cfg.PhoneColumn, strings.Join(res.Header, ", "))
		}
	} else {
		for _, n := range phoneNames {
			if phoneIdx = indexOf(res.Header, n); phoneIdx >= 0 {
				break
			}
		}
		if phoneIdx < 0 {
			return refuse(headerLine, 0, "no phone column (looked for phone, phone_number, mobile, msisdn, wa_id, to; use --phone-column)")
		}
	}
	res.PhoneColumn = res.Header[phoneIdx]
	paramIdx := make([]int, len(cfg.Params))
	need := phoneIdx
	for i, p := range cfg.Params {
		if paramIdx[i] = indexOf(res.Header, p); paramIdx[i] < 0 {
			return refuse(headerLine, 0, "no column %q for --params (columns: %s)", p, strings.Join(res.Header, ", "))
		}
		need = max(need, paramIdx[i])
	}
	colIdx := make([]int, len(cfg.Columns))
	for i, col := range cfg.Columns {
		if colIdx[i] = indexOf(res.Header, col.Name); colIdx[i] < 0 {
			return refuse(headerLine, 0, "no column %q for %s (columns: %s)", col.Name, col.Flag, strings.Join(res.Header, ", "))
		}
		need = max(need, colIdx[i])
	}

	var seen map[string]int
	if cfg.Dedupe {
		seen = map[string]int{}
	}
	check := checker{cfg: cfg, header: res.Header, phoneIdx: phoneIdx, paramIdx: paramIdx, colIdx: colIdx, need: need, delim: res.Delimiter}
	p := startPipeline(cr, check)
	defer p.stop()
	for b := range p.order {
		<-b.done
		for _, it := range b.items {
			if it.blank {
				continue
			}
			res.Rows++
			if it.skip.Reason == "" && seen != nil {
				if first, dup := seen[it.row.Phone]; dup {
					it.skip = Skip{Line: it.row.Line, Reason: ReasonDuplicate,
						Detail: fmt.Sprintf("%s is the same number as line %d", it.row.Phone, first), Raw: sanitizeRaw(it.rawPhone)}
				} else {
					seen[it.row.Phone] = it.row.Line
				}
			}
			if it.skip.Reason != "" {
				res.Skipped++
				if err := onSkip(it.skip); err != nil {
					return res, err
				}
				continue
			}
			res.Valid++
			if err := onRow(it.row); err != nil {
				return res, err
			}
		}
		if b.err != nil {
			return res, &RefusalError{File: file, Line: b.errLine, Err: b.err}
		}
	}
	if res.Valid == 0 {
		return res, &RefusalError{File: file, Err: fmt.Errorf("no valid row among %d (%d skipped)", res.Rows, res.Skipped)}
	}
	return res, nil
}

// checker decides what one record is: a row, a skip, or blank.
type checker struct {
	cfg      Config
	header   []string
	phoneIdx int
	paramIdx []int
	colIdx   []int // Config.Columns
	need     int   // the highest column index a row must have
	delim    rune
}

// item is one record's verdict.
type item struct {
	row      Row
	skip     Skip // Reason set when the record is skipped
	rawPhone string
	blank    bool
}

func (c *checker) check(rec []string, line int) item {
	if blankRecord(rec) {
		return item{blank: true} // a line with only spaces, or a row of empty cells
	}
	skip := func(reason, detail, raw string) item {
		params := make([]string, len(c.paramIdx)+len(c.colIdx))
		for i, idx := range c.paramIdx {
			if idx < len(rec) {
				params[i] = sanitizeRaw(strings.TrimSpace(rec[idx]))
			}
		}
		for i, idx := range c.colIdx {
			if idx < len(rec) {
				params[len(c.paramIdx)+i] = sanitizeRaw(strings.TrimSpace(rec[idx]))
			}
		}
		return item{skip: Skip{Line: line, Reason: reason, Detail: detail, Raw: sanitizeRaw(raw), Params: params}}
	}
	if len(rec) <= c.need {
		return skip(ReasonBadRow, fmt.Sprintf("the row has %d fields, the header has %d", len(rec), len(c.header)), strings.Join(rec, string(c.delim)))
	}
	if reason, detail := checkRecord(rec, c.cfg.MaxFieldBytes); reason != "" {
		return skip(reason, detail, "")
	}
	raw := rec[c.phoneIdx]
	phone, reason, detail := Normalize(raw, c.cfg.DefaultRegion)
	if reason != "" {
		return skip(reason, c.header[c.phoneIdx]+": "+detail, raw)
	}
	params := make([]string, len(c.paramIdx))
	for i, idx := range c.paramIdx {
		params[i] = strings.TrimSpace(rec[idx])
		if params[i] == "" {
			return skip(ReasonMissingParam, fmt.Sprintf("%s is empty (needed by --params)", c.header[idx]), raw)
		}
	}
	row := Row{Line: line, Phone: phone, Params: params}
	if len(c.colIdx) > 0 {
		row.Values = make([]string, len(c.colIdx))
		for i, idx := range c.colIdx {
			row.Values[i] = strings.TrimSpace(rec[idx])
		}
	}
	if c.cfg.Check != nil {
		if reason, detail := c.cfg.Check(&row, row.Values); reason != "" {
			return skip(reason, detail, raw)
		}
	}
	return item{row: row, rawPhone: raw}
}

// sanitizeRaw keeps a raw value fit for reports: valid UTF-8 (a stray
// byte in a file read as UTF-8 is replaced) and at most maxRaw bytes, cut
// at a rune boundary.
func sanitizeRaw(raw string) string {
	raw = strings.ToValidUTF8(raw, "\uFFFD")
	if len(raw) > maxRaw {
		n := maxRaw
		for n > 0 && !utf8.RuneStart(raw[n]) {
			n--
		}
		raw = raw[:n]
	}
	return raw
}

// checkRecord refuses a row whose fields are too long or not valid text.
func checkRecord(rec []string, maxField int) (string, string) {
	for i, f := range rec {
		if len(f) > maxField {
			return ReasonBadRow, fmt.Sprintf("field %d is %d bytes long (at most %d)", i+1, len(f), maxField)
		}
		if !utf8.ValidString(f) {
			return ReasonBadRow, fmt.Sprintf("field %d is not valid UTF-8 text", i+1)
		}
	}
	return "", ""
}

// recordLine is the line where the record last read by cr starts, or 0
// when the read failed before the record's first field was complete
// (FieldPos would panic).
func recordLine(cr *csv.Reader, rec []string) int {
	if len(rec) == 0 {
		return 0
	}
	line, _ := cr.FieldPos(0)
	return line
}

// blankRecord reports whether every field of rec is empty or spaces: a
// blank line, or a spreadsheet row of empty cells exported as ",,,".
func blankRecord(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

func indexOf(header []string, name string) int {
	want := normName(name)
	for i, h := range header {
		if normName(h) == want {
			return i
		}
	}
	return -1
}

// sniffDelimiter picks comma, semicolon or tab from the header line (the
// first line that is not blank), counting only outside quotes.
func sniffDelimiter(head []byte) rune {
	counts := map[rune]int{}
	inQuote, text := false, false
	for _, b := range head {
		switch b {
		case '"':
			inQuote, text = !inQuote, true
		case '\n':
			if !inQuote && text {
				goto done
			}
		case ',', ';', '\t':
			if !inQuote {
				counts[rune(b)]++
				text = true
			}
		case ' ', '\r':
		default:
			text = true
		}
	}
done:
	best, n := ',', 0
	for _, d := range []rune{',', ';', '\t'} {
		if counts[d] > n {
			best, n = d, counts[d]
		}
	}
	return best
}

// decode detects the encoding from a BOM or the first bytes and returns a
// UTF-8 stream. Binary files are refused.
func decode(r io.Reader) (io.Reader, string, error) {
	br := bufio.NewReaderSize(r, sniffBytes)
	head, err := br.Peek(sniffBytes)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, "", err
	}
	switch {
	case bytes.HasPrefix(head, []byte{0xEF, 0xBB, 0xBF}):
		_, _ = br.Discard(3)
		return br, "UTF-8 with BOM", nil
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}):
		return transform.NewReader(br, unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder()), "UTF-16LE", nil
	case bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		return transform.NewReader(br, unicode.UTF16(unicode.BigEndian, unicode.ExpectBOM).NewDecoder()), "UTF-16BE", nil
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		return nil, "", errors.New("this is a ZIP file (an Excel .xlsx workbook?), not CSV text: save it as CSV and try again")
	case bytes.IndexByte(head, 0) >= 0:
		return nil, "", errors.New("this is not CSV text (it contains NUL bytes)")
	}
	// Whole runes only: a multi-byte character may straddle the sniff end.
	// When the whole file fits in head nothing straddles, and trimming
	// would hide a Windows-1252 byte near the end ("José\r\n").
	valid := head
	if len(head) == sniffBytes {
		for i := 1; i < utf8.UTFMax && i <= len(valid); i++ {
			if utf8.RuneStart(valid[len(valid)-i]) {
				if !utf8.FullRune(valid[len(valid)-i:]) {
					valid = valid[:len(valid)-i]
				}
				break
			}
		}
	}
	// Old Mac exports end lines with CR alone: read them as LF.
	var text io.Reader = br
	lineEnd := ""
	if bytes.IndexByte(head, '\r') >= 0 && bytes.IndexByte(head, '\n') < 0 {
		text, lineEnd = crLines{br}, ", CR line ends"
	}
	if utf8.Valid(valid) {
		return text, "UTF-8" + lineEnd, nil
	}
	return transform.NewReader(text, charmap.Windows1252.NewDecoder()), "Windows-1252" + lineEnd, nil
}

// crLines reads a text whose lines end with CR alone as lines ending in LF.
type crLines struct{ r io.Reader }

func (c crLines) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	for i, b := range p[:n] {
		if b == '\r' {
			p[i] = '\n'
		}
	}
	return n, err
}

// lineBound cuts physical lines longer than max bytes so that a runaway
// field cannot hold the memory; the cut line's row is then skipped as too
// long.
type lineBound struct {
	r    io.Reader
	max  int
	cur  int  // bytes in the current line
	drop bool // dropping the rest of an over-long line
	buf  [32 << 10]byte
	out  []byte
}

func (l *lineBound) Read(p []byte) (int, error) {
	for len(l.out) == 0 {
		n, err := l.r.Read(l.buf[:])
		chunk := l.buf[:n]
		kept := l.buf[:0]
		for _, b := range chunk {
			if b == '\n' {
				l.cur, l.drop = 0, false
				kept = append(kept, b)
				continue
			}
			if l.drop {
				continue
			}
			l.cur++
			if l.cur > l.max {
				l.drop = true
				continue
			}
			kept = append(kept, b)
		}
		l.out = kept
		if err != nil {
			if len(l.out) == 0 {
				return 0, err
			}
			break
		}
	}
	n := copy(p, l.out)
	l.out = l.out[n:]
	return n, nil
}

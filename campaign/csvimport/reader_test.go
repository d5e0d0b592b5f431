package csvimport

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
)

var update = flag.Bool("update", false, "rewrite the testdata/bad/*.want golden files")

// badDir holds the bad-input CSVs, shared with the end-to-end scripts.
const badDir = "../../testdata/bad"

// badFiles lists every file in testdata/bad with the configuration it is
// read with and the outcome checked by hand; the golden NAME.want holds
// the whole outcome.
var badFiles = []struct {
	name    string
	cfg     Config
	valid   int
	refused bool
	why     string
}{
	{"excel_utf16_tab.csv", Config{Params: []string{"Name", "Order ID"}, Dedupe: true}, 4, false,
		`Excel "Unicode text": UTF-16LE with a BOM, tabs, CRLF, accents`},
	{"windows1252.csv", Config{Params: []string{"name", "city"}, Dedupe: true}, 5, false,
		"Windows-1252 bytes (José, curly quotes), one of them near the end of the file"},
	{"semicolon_european.csv", Config{Params: []string{"Name", "Betrag"}, DefaultRegion: "DE", Dedupe: true}, 4, false,
		"German Excel: semicolons, decimal commas, local numbers"},
	{"scientific_notation.csv", Config{Params: []string{"name"}, Dedupe: true}, 2, false,
		"numbers a spreadsheet turned into floats (5.51199E+12)"},
	{"no_phone_column.csv", Config{Dedupe: true}, 0, true,
		"no recognised phone column"},
	{"xlsx_renamed.csv", Config{Dedupe: true}, 0, true,
		"an .xlsx workbook (a ZIP) renamed .csv"},
	{"nul_bytes.csv", Config{Dedupe: true}, 0, true,
		"NUL bytes: a corrupt or binary file"},
	{"all_invalid.csv", Config{Dedupe: true}, 0, true,
		"every row is skipped, so the file is refused"},
	{"duplicates.csv", Config{Params: []string{"name"}, Dedupe: true}, 3, false,
		"the same numbers written differently"},
	{"missing_params.csv", Config{Params: []string{"name", "order_id"}, Dedupe: true}, 2, false,
		"empty or blank parameter cells"},
	{"ragged_rows.csv", Config{Params: []string{"name", "order_id"}, Dedupe: true}, 3, false,
		"rows with too few and too many fields"},
	{"stray_quotes.csv", Config{Params: []string{"name", "link"}, Dedupe: true}, 5, false,
		`stray quotes: =HYPERLINK("x"), 5" tall, a quote never closed`},
	{"multiline_quoted.csv", Config{Params: []string{"name", "address"}, Dedupe: true}, 4, false,
		"quoted fields holding newlines; later rows keep their line numbers"},
	{"blank_lines.csv", Config{Params: []string{"name"}, Dedupe: true}, 3, false,
		"blank lines, lines of spaces, rows of empty cells, before and after the header"},
	{"apostrophe_whitespace.csv", Config{Params: []string{"name"}, Dedupe: true}, 7, false,
		"a leading apostrophe, spaces, tabs and NBSP around numbers"},
	{"no_plus_no_region.csv", Config{Params: []string{"name"}, Dedupe: true}, 4, false,
		"numbers without + and no --default-region"},
	{"header_only.csv", Config{Dedupe: true}, 0, true,
		"a header and no data row"},
	{"utf8_bom_crlf.csv", Config{Params: []string{"name"}, Dedupe: true}, 2, false,
		"UTF-8 with a BOM before an upper-case dashed header, CRLF"},
	{"portuguese_headers.csv", Config{PhoneColumn: "celular", Params: []string{"Nome", "Pedido"}, DefaultRegion: "BR", Dedupe: true}, 4, false,
		"Brazilian export: --phone-column celular, semicolons, local numbers"},
	{"us_local_formats.csv", Config{Params: []string{"name"}, DefaultRegion: "US", Dedupe: true}, 3, false,
		"US local formats with --default-region US"},
	{"mac_cr_only.csv", Config{Params: []string{"name", "order_id"}, Dedupe: true}, 2, false,
		"old Mac CSV: lines end with CR alone"},
}

// outcome is everything Read reports about one input.
type outcome struct {
	res    Result
	err    error
	events []string // rows and skips, in callback order
	rows   []Row
	skips  []Skip
}

// readAll runs Read over r, keeping every callback.
func readAll(t testing.TB, r io.Reader, file string, cfg Config) outcome {
	t.Helper()
	var o outcome
	o.res, o.err = Read(r, file, cfg, func(row Row) error {
		row.Params = slices.Clone(row.Params)
		o.rows = append(o.rows, row)
		o.events = append(o.events, fmt.Sprintf("row %d: %s %q", row.Line, row.Phone, row.Params))
		return nil
	}, func(s Skip) error {
		o.skips = append(o.skips, s)
		o.events = append(o.events, fmt.Sprintf("skip %d: %s: %s (raw %q)", s.Line, s.Reason, s.Detail, s.Raw))
		return nil
	})
	return o
}

func readString(t testing.TB, in string, cfg Config) outcome {
	t.Helper()
	return readAll(t, strings.NewReader(in), "in.csv", cfg)
}

// render writes an outcome in the golden files' form.
func (o outcome) render(file string, cfg Config) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Read(%s)\n", file)
	fmt.Fprintf(&b, "# config: phone_column=%q params=%q default_region=%q dedupe=%t\n", cfg.PhoneColumn, cfg.Params, cfg.DefaultRegion, cfg.Dedupe)
	fmt.Fprintf(&b, "encoding: %s\n", o.res.Encoding)
	fmt.Fprintf(&b, "delimiter: %q\n", o.res.Delimiter)
	fmt.Fprintf(&b, "header: %q\n", o.res.Header)
	fmt.Fprintf(&b, "phone column: %q\n", o.res.PhoneColumn)
	fmt.Fprintf(&b, "rows: %d, valid: %d, skipped: %d\n", o.res.Rows, o.res.Valid, o.res.Skipped)
	for _, e := range o.events {
		fmt.Fprintln(&b, e)
	}
	if o.err != nil {
		fmt.Fprintf(&b, "refused: %v\n", o.err)
	} else {
		fmt.Fprintln(&b, "refused: no")
	}
	return b.String()
}

// checkInvariants checks what must hold for any input.
func checkInvariants(t testing.TB, name string, cfg Config, o outcome) {
	t.Helper()
	if o.err != nil {
		if !errors.Is(o.err, ErrRefused) {
			t.Errorf("%s: error %v is not ErrRefused", name, o.err)
		}
		if re, ok := errors.AsType[*RefusalError](o.err); !ok || !strings.HasPrefix(o.err.Error(), re.File+": ") {
			t.Errorf("%s: error %q does not start with the file name", name, o.err)
		}
	} else if o.res.Valid == 0 {
		t.Errorf("%s: no valid row but no refusal", name)
	}
	if got, want := len(o.rows), o.res.Valid; got != want {
		t.Errorf("%s: %d onRow calls, Result.Valid %d", name, got, want)
	}
	if got, want := len(o.skips), o.res.Skipped; got != want {
		t.Errorf("%s: %d onSkip calls, Result.Skipped %d", name, got, want)
	}
	if o.res.Rows != o.res.Valid+o.res.Skipped {
		t.Errorf("%s: Rows %d != Valid %d + Skipped %d", name, o.res.Rows, o.res.Valid, o.res.Skipped)
	}
	last := 0
	lines := func(line int, what string) {
		if line < 2 || line <= last {
			t.Errorf("%s: %s at line %d after line %d: want line ≥ 2 and increasing", name, what, line, last)
		}
		last = line
	}
	ri, si := 0, 0
	for _, e := range o.events { // rows and skips in callback order
		if strings.HasPrefix(e, "row ") {
			r := o.rows[ri]
			ri++
			lines(r.Line, "row")
			if !isE164(r.Phone) {
				t.Errorf("%s: line %d: phone %q is not E.164", name, r.Line, r.Phone)
			}
			if len(r.Params) != len(cfg.Params) {
				t.Errorf("%s: line %d: %d params, want %d", name, r.Line, len(r.Params), len(cfg.Params))
			}
			for i, p := range r.Params {
				if p == "" || p != strings.TrimSpace(p) {
					t.Errorf("%s: line %d: param %d is %q: want trimmed and not empty", name, r.Line, i, p)
				}
			}
			continue
		}
		s := o.skips[si]
		si++
		lines(s.Line, "skip")
		if !slices.Contains(readReasons, s.Reason) || s.Detail == "" {
			t.Errorf("%s: line %d: skip reason %q detail %q", name, s.Line, s.Reason, s.Detail)
		}
		if len(s.Raw) > maxRaw || !utf8.ValidString(s.Raw) {
			t.Errorf("%s: line %d: raw %q is longer than %d bytes or not UTF-8", name, s.Line, s.Raw, maxRaw)
		}
	}
}

// readReasons are the reasons Read itself gives (opted_out is the
// campaign's, from the store).
var readReasons = []string{ReasonInvalidNumber, ReasonMangledNumber, ReasonMissingNumber, ReasonDuplicate, ReasonMissingParam, ReasonBadRow}

// isE164 reports whether s is a + and digits, not starting with 0. It
// allows more than E.164's 15 digits: libphonenumber holds some longer
// German numbers valid (+4920100000000000, 16 digits).
func isE164(s string) bool {
	if len(s) < 2 || len(s) > 18 || s[0] != '+' || s[1] == '0' {
		return false
	}
	for _, r := range s[1:] {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func TestBadFiles(t *testing.T) {
	csvs, err := filepath.Glob(filepath.Join(badDir, "*.csv"))
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, f := range badFiles {
		listed = append(listed, f.name)
	}
	for _, p := range csvs {
		if !slices.Contains(listed, filepath.Base(p)) {
			t.Errorf("%s is not in badFiles: add it with its configuration and expected outcome", p)
		}
	}
	wants, err := filepath.Glob(filepath.Join(badDir, "*.want"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range wants {
		if !slices.Contains(listed, strings.TrimSuffix(filepath.Base(p), ".want")+".csv") {
			t.Errorf("%s has no input in badFiles: remove it", p)
		}
	}
	if len(badFiles) < 15 {
		t.Errorf("%d bad inputs, want at least 15", len(badFiles))
	}
	for _, tc := range badFiles {
		t.Run(strings.TrimSuffix(tc.name, ".csv"), func(t *testing.T) {
			path := filepath.Join(badDir, tc.name)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if len(data) > 20<<10 {
				t.Errorf("%s is %d bytes: keep committed inputs under 20 KB", tc.name, len(data))
			}
			// The name a user would type from the repository root.
			file := "testdata/bad/" + tc.name
			o := readAll(t, bytes.NewReader(data), file, tc.cfg)
			checkInvariants(t, tc.name, tc.cfg, o)
			if got := o.err != nil; got != tc.refused {
				t.Errorf("%s (%s): refused = %t (%v), want %t", tc.name, tc.why, got, o.err, tc.refused)
			}
			if o.res.Valid != tc.valid {
				t.Errorf("%s (%s): %d valid rows, want %d", tc.name, tc.why, o.res.Valid, tc.valid)
			}
			got := o.render(file, tc.cfg)
			golden := strings.TrimSuffix(path, ".csv") + ".want"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update, then check the file by hand)", err)
			}
			if got != string(want) {
				t.Errorf("Read(%s) differs from %s:\n--- got\n%s--- want\n%s", tc.name, golden, got, want)
			}
		})
	}
}

// TestRefusals checks the refusals' exact text, file, line and column:
// users and scripts read them.
func TestRefusals(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		cfg      Config
		line     int
		msg      string
	}{
		{"empty", "", Config{}, 0, "in.csv: the file is empty: a header row is required"},
		{"only blank lines", "\n \r\n\t\n", Config{}, 0, "in.csv: the file is empty: a header row is required"},
		{"only empty cells", ",,\n , ,\n", Config{}, 0, "in.csv: the file is empty: a header row is required"},
		{"no phone column", "name,telefone\nAna,+5511987654321\n", Config{}, 1,
			"in.csv: line 1: no phone column (looked for phone, phone_number, mobile, msisdn, wa_id, to; use --phone-column)"},
		{"no phone column after blank lines", "\n\n,,\nname;telefone\nAna;+5511987654321\n", Config{}, 4,
			"in.csv: line 4: no phone column (looked for phone, phone_number, mobile, msisdn, wa_id, to; use --phone-column)"},
		{"unknown --phone-column", "name,phone\nAna,+5511987654321\n", Config{PhoneColumn: "celular"}, 1,
			`in.csv: line 1: no column "celular" (columns: name, phone)`},
		{"unknown --params column", "name,phone\nAna,+5511987654321\n", Config{Params: []string{"name", "order_id"}}, 1,
			`in.csv: line 1: no column "order_id" for --params (columns: name, phone)`},
		{"header only", "name,phone\n", Config{}, 0, "in.csv: no valid row among 0 (0 skipped)"},
		{"no valid row", "phone\n123\n\nabc\n", Config{}, 0, "in.csv: no valid row among 2 (2 skipped)"},
		{"zip", "PK\x03\x04\x14\x00\x00\x00", Config{}, 0,
			"in.csv: this is a ZIP file (an Excel .xlsx workbook?), not CSV text: save it as CSV and try again"},
		{"NUL", "phone\n+5511987654321\x00\n", Config{}, 0, "in.csv: this is not CSV text (it contains NUL bytes)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := readString(t, tc.in, tc.cfg)
			re, ok := errors.AsType[*RefusalError](o.err)
			if !ok || !errors.Is(o.err, ErrRefused) {
				t.Fatalf("Read(%q) = %v, want a refusal", tc.in, o.err)
			}
			if re.File != "in.csv" || re.Line != tc.line || re.Column != 0 {
				t.Errorf("Read(%q): refusal at %s line %d column %d, want in.csv line %d column 0", tc.in, re.File, re.Line, re.Column, tc.line)
			}
			if got := o.err.Error(); got != tc.msg {
				t.Errorf("Read(%q) refused with\n%s\nwant\n%s", tc.in, got, tc.msg)
			}
		})
	}
}

func TestRefusalErrorText(t *testing.T) {
	cause := errors.New("boom")
	for _, tc := range []struct {
		e    RefusalError
		want string
	}{
		{RefusalError{File: "a.csv", Err: cause}, "a.csv: boom"},
		{RefusalError{File: "a.csv", Line: 3, Err: cause}, "a.csv: line 3: boom"},
		{RefusalError{File: "a.csv", Line: 3, Column: 7, Err: cause}, "a.csv: line 3, column 7: boom"},
	} {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
		if !errors.Is(&tc.e, ErrRefused) || !errors.Is(&tc.e, cause) {
			t.Errorf("%q: errors.Is ErrRefused %t, cause %t: want both", tc.want, errors.Is(&tc.e, ErrRefused), errors.Is(&tc.e, cause))
		}
	}
	if errors.Is(errors.New("input refused"), ErrRefused) {
		t.Error("an error with the same text matches ErrRefused")
	}
}

// TestReasonCodes pins the skip codes: reports and scripts rely on them.
func TestReasonCodes(t *testing.T) {
	for got, want := range map[string]string{
		ReasonInvalidNumber: "invalid_number",
		ReasonMangledNumber: "mangled_number",
		ReasonMissingNumber: "missing_number",
		ReasonDuplicate:     "duplicate",
		ReasonMissingParam:  "missing_param",
		ReasonBadRow:        "bad_row",
		ReasonOptedOut:      "opted_out",
	} {
		if got != want {
			t.Errorf("reason code %q, want %q", got, want)
		}
	}
}

// TestSkipReasons checks each skip reason on the smallest input giving
// it: exactly one skip, its line, detail and raw value.
func TestSkipReasons(t *testing.T) {
	const head = "name,phone,order_id\nOk,+14155552671,A-0\n"
	for _, tc := range []struct {
		name     string
		in       string
		cfg      Config
		skip     Skip
		wantRows int
	}{
		{"invalid_number letters", head + "Ana,call me,A-1\n", Config{},
			Skip{3, ReasonInvalidNumber, "phone: not a phone number: call me", "call me", nil}, 1},
		{"invalid_number wrong length", head + "Ana,+55 11 98765-432,A-1\n", Config{},
			Skip{3, ReasonInvalidNumber, "phone: +55 11 98765-432 is not a valid number for its country", "+55 11 98765-432", nil}, 1},
		{"invalid_number local without region", head + "Ana,98765-4321,A-1\n", Config{},
			Skip{3, ReasonInvalidNumber, "phone: 98765-4321 has no country code: pass --default-region (e.g. BR)", "98765-4321", nil}, 1},
		{"mangled_number", head + "Ana,5.51199E+12,A-1\n", Config{},
			Skip{3, ReasonMangledNumber, "phone: a spreadsheet turned the number into 5.51199E+12: format the column as text and export again", "5.51199E+12", nil}, 1},
		{"missing_number", head + "Ana,,A-1\n", Config{},
			Skip{3, ReasonMissingNumber, "phone: the phone number is empty", "", nil}, 1},
		{"missing_number spaces", head + "Ana,  ' ,A-1\n", Config{},
			Skip{3, ReasonMissingNumber, "phone: the phone number is empty", "  ' ", nil}, 1},
		{"duplicate", head + "Ana,+1 (415) 555-2671,A-1\n", Config{Dedupe: true},
			Skip{3, ReasonDuplicate, "+14155552671 is the same number as line 2", "+1 (415) 555-2671", nil}, 1},
		{"missing_param", head + "Ana,+5511987654321,\n", Config{Params: []string{"name", "order_id"}},
			Skip{3, ReasonMissingParam, "order_id is empty (needed by --params)", "+5511987654321", []string{"Ana", ""}}, 1},
		{"missing_param first of several", head + ",+5511987654321, \n", Config{Params: []string{"order_id", "name"}},
			Skip{3, ReasonMissingParam, "order_id is empty (needed by --params)", "+5511987654321", []string{"", ""}}, 1},
		{"bad_row too few fields", head + "Ana\n", Config{},
			Skip{3, ReasonBadRow, "the row has 1 fields, the header has 3", "Ana", nil}, 1},
		{"bad_row too few for params", head + "Ana,+5511987654321\n", Config{Params: []string{"order_id"}},
			Skip{3, ReasonBadRow, "the row has 2 fields, the header has 3", "Ana,+5511987654321", []string{""}}, 1},
		{"bad_row field too long", head + "Ana,+5511987654321,A-12345678901234\n", Config{MaxFieldBytes: 14},
			Skip{3, ReasonBadRow, "field 3 is 16 bytes long (at most 14)", "", nil}, 1},
		{"bad_row not UTF-8", head + strings.Repeat("Ok,+14155552671,A-0\n", 4000) + "Jos\xe9,+5511987654321,A-1\n", Config{},
			Skip{4003, ReasonBadRow, "field 1 is not valid UTF-8 text", "", nil}, 4001},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := readString(t, tc.in, tc.cfg)
			checkInvariants(t, tc.name, tc.cfg, o)
			if o.err != nil {
				t.Fatalf("Read: %v", o.err)
			}
			if len(o.skips) != 1 || !sameSkip(o.skips[0], tc.skip) {
				t.Errorf("skips %+v, want [%+v]", o.skips, tc.skip)
			}
			if len(o.rows) != tc.wantRows {
				t.Errorf("%d valid rows, want %d", len(o.rows), tc.wantRows)
			}
		})
	}
}

// TestDedupeOff checks that without Dedupe duplicates are left to the
// store (the import), not skipped here.
func TestDedupeOff(t *testing.T) {
	o := readString(t, "phone\n+5511987654321\n5511987654321\n", Config{})
	if o.err != nil || len(o.rows) != 2 || len(o.skips) != 0 {
		t.Errorf("without Dedupe: %d rows, skips %+v, err %v; want 2 rows", len(o.rows), o.skips, o.err)
	}
}

func TestHeaderMatching(t *testing.T) {
	for _, tc := range []struct {
		header string
		want   string // the phone column found
	}{
		{"name,phone", "phone"},
		{"name,Phone Number", "Phone Number"},
		{"name,phone_number", "phone_number"},
		{"name,PHONE-NUMBER", "PHONE-NUMBER"},
		{"name, Phone ", "Phone"},
		{`name,"Phone number"`, "Phone number"},
		{"name,Mobile", "Mobile"},
		{"name,MSISDN", "MSISDN"},
		{"name,wa_id", "wa_id"},
		{"name,WA-ID", "WA-ID"},
		{"name,To", "To"},
		// phone wins over the other names, wherever it stands.
		{"mobile,name,phone", "phone"},
		{"to,mobile", "mobile"},
	} {
		in := tc.header + "\n"
		fields := strings.Split(tc.header, ",")
		row := make([]string, len(fields))
		for i := range row {
			row[i] = "+5511987654321"
		}
		in += strings.Join(row, ",") + "\n"
		o := readString(t, in, Config{})
		if o.err != nil {
			t.Errorf("header %q: %v", tc.header, o.err)
			continue
		}
		if o.res.PhoneColumn != tc.want {
			t.Errorf("header %q: phone column %q, want %q", tc.header, o.res.PhoneColumn, tc.want)
		}
	}
	for _, header := range []string{"name,telefone", "name,phones", "name,phone no", "name,cell"} {
		o := readString(t, header+"\nAna,+5511987654321\n", Config{})
		if !errors.Is(o.err, ErrRefused) {
			t.Errorf("header %q: err %v, want a refusal (no phone column)", header, o.err)
		}
	}
}

func TestPhoneColumnOverride(t *testing.T) {
	const in = "Phone,Nome,Celular\n+14155552671,Ana,(11) 98765-4321\n"
	for _, col := range []string{"Celular", "celular", " CELULAR "} {
		o := readString(t, in, Config{PhoneColumn: col, DefaultRegion: "BR"})
		if o.err != nil {
			t.Fatalf("PhoneColumn %q: %v", col, o.err)
		}
		if o.res.PhoneColumn != "Celular" || len(o.rows) != 1 || o.rows[0].Phone != "+5511987654321" {
			t.Errorf("PhoneColumn %q: column %q rows %+v, want Celular and +5511987654321", col, o.res.PhoneColumn, o.rows)
		}
	}
	// The override finds the column even when no name is recognised.
	o := readString(t, "Nome;Zap\nAna;+5511987654321\n", Config{PhoneColumn: "zap"})
	if o.err != nil || len(o.rows) != 1 {
		t.Errorf("PhoneColumn zap: rows %+v err %v, want one row", o.rows, o.err)
	}
}

func TestDelimiterSniffing(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     rune
	}{
		{"comma", "name,phone,order_id\nAna,+5511987654321,A-1\n", ','},
		{"semicolon", "name;phone;order_id\nAna;+5511987654321;A-1\n", ';'},
		{"tab", "name\tphone\torder_id\nAna\t+5511987654321\tA-1\n", '\t'},
		{"one column", "phone\n+5511987654321\n", ','},
		{"commas inside quotes", "\"name, full\";phone;\"a,b,c\"\nAna;+5511987654321;x\n", ';'},
		{"semicolon with decimal commas in rows", "name;phone;amount\nAna;+5511987654321;1,5\n", ';'},
		{"quoted header with a newline", "\"full\nname\";phone\nAna;+5511987654321\n", ';'},
		{"leading blank lines", "\n  \n\r\nname;phone\nAna;+5511987654321\n", ';'},
		{"leading empty cells", ";;\nname;phone;x\nAna;+5511987654321;1\n", ';'},
		{"majority wins", "name;phone;x;note,a\nAna;+5511987654321;1;2\n", ';'},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := readString(t, tc.in, Config{})
			if o.res.Delimiter != tc.want {
				t.Errorf("delimiter %q, want %q", o.res.Delimiter, tc.want)
			}
			if o.err != nil || len(o.rows) != 1 || o.rows[0].Phone != "+5511987654321" {
				t.Errorf("rows %+v, err %v; want one row +5511987654321", o.rows, o.err)
			}
		})
	}
}

func TestCRLF(t *testing.T) {
	lf := "name,phone,note\nAna,+5511987654321,\"two\nlines\"\n\nBia,+5511987654322,last\n"
	crlf := strings.ReplaceAll(lf, "\n", "\r\n")
	cfg := Config{Params: []string{"name", "note"}}
	a, b := readString(t, lf, cfg), readString(t, crlf, cfg)
	if a.err != nil || b.err != nil {
		t.Fatalf("LF: %v, CRLF: %v", a.err, b.err)
	}
	want := []Row{
		{Line: 2, Phone: "+5511987654321", Params: []string{"Ana", "two\nlines"}},
		{Line: 5, Phone: "+5511987654322", Params: []string{"Bia", "last"}},
	}
	for name, o := range map[string]outcome{"LF": a, "CRLF": b} {
		if !rowsEqual(o.rows, want) {
			t.Errorf("%s: rows %+v, want %+v", name, o.rows, want)
		}
	}
	// A last line without its newline, and a lone CR before EOF.
	o := readString(t, "phone,name\r\n+5511987654321,Ana\r", Config{Params: []string{"name"}})
	if !rowsEqual(o.rows, []Row{{Line: 2, Phone: "+5511987654321", Params: []string{"Ana"}}}) {
		t.Errorf("no final newline: rows %+v", o.rows)
	}
}

func rowsEqual(a, b []Row) bool {
	return slices.EqualFunc(a, b, func(x, y Row) bool {
		return x.Line == y.Line && x.Phone == y.Phone && slices.Equal(x.Params, y.Params)
	})
}

func TestEncodings(t *testing.T) {
	const text = "Phone,Name\r\n+5511987654321,José Müller\r\n+14155552671,Zoë\r\n"
	utf16 := func(e unicode.Endianness) string {
		s, err := unicode.UTF16(e, unicode.UseBOM).NewEncoder().String(text)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	latin, err := charmap.Windows1252.NewEncoder().String(text)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, in, enc string
	}{
		{"UTF-8", text, "UTF-8"},
		{"UTF-8 BOM", "\uFEFF" + text, "UTF-8 with BOM"},
		{"UTF-16LE", utf16(unicode.LittleEndian), "UTF-16LE"},
		{"UTF-16BE", utf16(unicode.BigEndian), "UTF-16BE"},
		{"Windows-1252", latin, "Windows-1252"},
		// The only non-ASCII byte among the last four of the file.
		{"Windows-1252 at the very end", "phone,name\r\n+5511987654321,Jos\xe9", "Windows-1252"},
		{"Windows-1252 after 64 KiB of ASCII", "phone,name\n" + strings.Repeat("+14155552671,Bob\n", 4000) + "+5511987654321,Jos\xe9\n", "UTF-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := readString(t, tc.in, Config{Params: []string{"name"}})
			if o.err != nil {
				t.Fatalf("Read: %v", o.err)
			}
			if o.res.Encoding != tc.enc {
				t.Errorf("encoding %q, want %q", o.res.Encoding, tc.enc)
			}
			if o.res.Header[0] != "Phone" && o.res.Header[0] != "phone" {
				t.Errorf("header %q: the BOM was not removed", o.res.Header)
			}
			for _, r := range o.rows {
				if !utf8.ValidString(r.Params[0]) || strings.ContainsRune(r.Params[0], utf8.RuneError) {
					t.Errorf("line %d: param %q badly decoded", r.Line, r.Params[0])
				}
			}
			if tc.name == "Windows-1252 after 64 KiB of ASCII" {
				// Read as UTF-8 from its first 64 KiB: the late Latin-1 row
				// is skipped, not silently mis-decoded.
				if len(o.skips) != 1 || o.skips[0].Line != 4002 || o.skips[0].Reason != ReasonBadRow {
					t.Errorf("skips %+v, want one bad_row at line 4002", o.skips)
				}
				return
			}
			if o.rows[0].Params[0] != "José Müller" && o.rows[0].Params[0] != "José" {
				t.Errorf("first name %q, want José…", o.rows[0].Params[0])
			}
		})
	}
}

// TestLongField checks that a 100 KB field skips its row, and a line
// longer than the line bound (1 MiB) is cut without losing the following
// rows or their line numbers.
func TestLongField(t *testing.T) {
	var b strings.Builder
	b.WriteString("name,phone,note\n")
	b.WriteString("Ana,+5511987654321,ok\n")
	b.WriteString("Bia,+5511987654322," + strings.Repeat("x", 100<<10) + "\n")
	b.WriteString("Caio,+5511987654323,ok\n")
	b.WriteString("Duda,+5511987654324," + strings.Repeat("y", 3<<20) + "\n")
	b.WriteString("Eva,+5511987654325,\"" + strings.Repeat("z", 200<<10) + "\"\n")
	b.WriteString("Fabio,+5511987654326,ok\n")
	o := readString(t, b.String(), Config{Params: []string{"name"}})
	checkInvariants(t, "long fields", Config{Params: []string{"name"}}, o)
	if o.err != nil {
		t.Fatal(o.err)
	}
	wantSkips := []Skip{
		{3, ReasonBadRow, "field 3 is 102400 bytes long (at most 65536)", "", []string{"Bia"}},
		{5, ReasonBadRow, fmt.Sprintf("field 3 is %d bytes long (at most 65536)", maxLine-len("Duda,+5511987654324,")), "", []string{"Duda"}},
		{6, ReasonBadRow, "field 3 is 204800 bytes long (at most 65536)", "", []string{"Eva"}},
	}
	if !slices.EqualFunc(o.skips, wantSkips, sameSkip) {
		t.Errorf("skips\n%+v\nwant\n%+v", o.skips, wantSkips)
	}
	var lines []int
	for _, r := range o.rows {
		lines = append(lines, r.Line)
	}
	if !slices.Equal(lines, []int{2, 4, 7}) {
		t.Errorf("valid rows at lines %v, want [2 4 7]", lines)
	}
}

func TestRawIsBoundedUTF8(t *testing.T) {
	long := "xx" + strings.Repeat("ção", 100) // byte 200 is inside a rune
	o := readString(t, "phone,name\n+5511987654321,Ana\n"+long+",x\n", Config{})
	if len(o.skips) != 1 {
		t.Fatalf("skips %+v, want one", o.skips)
	}
	raw := o.skips[0].Raw
	if len(raw) != maxRaw-1 || !utf8.ValidString(raw) || !strings.HasPrefix(long, raw) {
		t.Errorf("raw is %d bytes (%q): want a valid UTF-8 prefix of at most %d bytes", len(raw), raw, maxRaw)
	}
}

// errAfter returns its error instead of io.EOF.
type errAfter struct {
	r   io.Reader
	err error
}

func (e *errAfter) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err == io.EOF {
		err = e.err
	}
	return n, err
}

func TestReadError(t *testing.T) {
	disk := errors.New("disk on fire")
	rows := "phone\n" + strings.Repeat("+5511987654321\n", 10000)
	for _, tc := range []struct {
		name, in string
		valid    int
	}{
		{"while sniffing", "phone\n+5511987654321\n", 0},
		{"after the sniff, in a quoted field", rows + "\"+5511", 10000},
		{"after the sniff, in a plain field", rows + "+5511", 10000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := readAll(t, &errAfter{strings.NewReader(tc.in), disk}, "in.csv", Config{})
			if !errors.Is(o.err, disk) || !errors.Is(o.err, ErrRefused) {
				t.Errorf("err %v, want a refusal wrapping %v", o.err, disk)
			}
			if len(o.rows) != tc.valid {
				t.Errorf("%d rows before the error, want %d", len(o.rows), tc.valid)
			}
		})
	}
}

func TestCallbackErrorStops(t *testing.T) {
	stop := errors.New("stop")
	const in = "phone\n+5511987654321\nbad\n+5511987654322\n"
	n := 0
	_, err := Read(strings.NewReader(in), "in.csv", Config{}, func(Row) error { n++; return stop }, func(Skip) error { return nil })
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("onRow error: err %v after %d rows, want stop after 1", err, n)
	}
	n = 0
	_, err = Read(strings.NewReader(in), "in.csv", Config{}, func(Row) error { n++; return nil }, func(Skip) error { return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("onSkip error: err %v after %d rows, want stop after 1", err, n)
	}
}

// genCSV produces a CSV of n rows on demand, counting the bytes it hands
// out, so that a test can see how far ahead of its callbacks Read reads.
type genCSV struct {
	n, i int
	buf  []byte
	out  []byte
	sent int
}

func (g *genCSV) Read(p []byte) (int, error) {
	for len(g.out) == 0 {
		switch {
		case g.i > g.n:
			return 0, io.EOF
		case g.i == 0:
			g.buf = append(g.buf[:0], "name,phone,order_id,note\n"...)
		default:
			g.buf = fmt.Appendf(g.buf[:0], "Customer %d,+55119%08d,A-%d,%s\n", g.i, g.i, g.i, "a note long enough to make each row about a hundred bytes")
		}
		g.out = g.buf
		g.i++
	}
	n := copy(p, g.out)
	g.out = g.out[n:]
	g.sent += n
	return n, nil
}

// TestReadStreams reads 200,000 generated rows and checks that Read hands
// rows over while reading, and that the live heap stays far below the
// input's size.
func TestReadStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 200,000 rows")
	}
	const rows = 200_000
	g := &genCSV{n: rows}
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var peak uint64
	firstRowAt, n := -1, 0
	res, err := Read(g, "gen.csv", Config{Params: []string{"name", "order_id"}}, func(r Row) error {
		if n++; n == 1 {
			firstRowAt = g.sent
		}
		if n%20_000 == 0 {
			runtime.GC()
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
		return nil
	}, func(s Skip) error {
		return fmt.Errorf("line %d skipped: %s: %s", s.Line, s.Reason, s.Detail)
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Valid != rows || n != rows {
		t.Fatalf("%d valid rows (%d callbacks), want %d", res.Valid, n, rows)
	}
	if g.sent < 16<<20 {
		t.Fatalf("the input is only %d bytes: the test needs at least 16 MiB to mean anything", g.sent)
	}
	if firstRowAt > 1<<20 {
		t.Errorf("the first row came after %d bytes read: Read buffers the input", firstRowAt)
	}
	var grew uint64
	if peak > base {
		grew = peak - base
	}
	if grew > 4<<20 {
		t.Errorf("live heap grew by %d bytes while reading %d: Read holds the input", grew, g.sent)
	}
	t.Logf("input %d bytes, live heap growth %d bytes, first row after %d bytes", g.sent, grew, firstRowAt)
}

// sameSkip compares skips, an empty Params list equal to none.
func sameSkip(a, b Skip) bool {
	return a.Line == b.Line && a.Reason == b.Reason && a.Detail == b.Detail && a.Raw == b.Raw && slices.Equal(a.Params, b.Params)
}

package csvimport

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

// FuzzRead checks that any input ends in a refusal or in rows and skips
// that account for every data row, whatever the reads' sizes.
func FuzzRead(f *testing.F) {
	for _, s := range []string{
		"phone\n+5511987654321\n",
		"name,phone,order_id\r\nAna,+55 11 98765-4321,A-1\r\nBia,,A-2\r\n",
		"name;phone\n\"Ana\nSilva\";5.51199E+12\n;\n\nBia;'5511987654321\n",
		"name\tmobile\n\"x\"\"y\"\t0055 11 98765 4321\nCaio\t=HYPERLINK(\"x\")\n",
		"\xef\xbb\xbfphone,name\n+14155552671,Zo\xc3\xab\n+14155552671,dup\n",
		"\xff\xfep\x00h\x00o\x00n\x00e\x00\n\x00+\x001\x004\x001\x005\x005\x005\x002\x006\x007\x001\x00",
		"phone,name\r\n+5511987654321,Jos\xe9",
		"\"phone\nname,x\n\"a",
		"PK\x03\x04",
		"",
	} {
		f.Add([]byte(s), "", true)
		f.Add([]byte(s), "BR", false)
	}
	paths, err := filepath.Glob(filepath.Join(badDir, "*.csv"))
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, "", true)
	}
	f.Fuzz(func(t *testing.T, data []byte, region string, dedupe bool) {
		for _, cfg := range []Config{
			{DefaultRegion: region, Dedupe: dedupe},
			{Params: []string{"name"}, DefaultRegion: region, Dedupe: !dedupe, MaxFieldBytes: 16},
		} {
			o := readAll(t, bytes.NewReader(data), "fuzz.csv", cfg)
			checkInvariants(t, "fuzz", cfg, o)
			if len(data) > 4<<10 {
				continue
			}
			// Reads of one byte at a time give the same outcome.
			b := readAll(t, iotest.OneByteReader(bytes.NewReader(data)), "fuzz.csv", cfg)
			if got, want := b.render("fuzz.csv", cfg), o.render("fuzz.csv", cfg); got != want {
				t.Errorf("one-byte reads differ:\n%s\nwhole reads:\n%s", got, want)
			}
		}
	})
}

// FuzzNormalize checks that Normalize gives either E.164 or a reason
// with a detail, and that its E.164 is a fixed point.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{
		"+5511987654321", "+55 (11) 98765-4321", "5511987654321", "11987654321",
		"0055 11 98765 4321", "'+14155552671", "+49 151 23456789", "5.51199E+12",
		"5,51199e+012", "(415) 555-2671", "0151 23456789", "", "'", "+", "00", "0",
		"+55\u00a011\u00a098765\u00a04321", "call me", "+80012345678", "++5511987654321",
		"0000000000000", "+1 (", "+0 1234",
	} {
		for _, region := range []string{"", "BR", "US", "DE", "xx"} {
			f.Add(s, region)
		}
	}
	f.Fuzz(func(t *testing.T, raw, region string) {
		e164, reason, detail := Normalize(raw, region)
		if reason != "" {
			if e164 != "" || detail == "" || !slices.Contains([]string{ReasonInvalidNumber, ReasonMangledNumber, ReasonMissingNumber}, reason) {
				t.Fatalf("Normalize(%q, %q) = %q, %q, %q", raw, region, e164, reason, detail)
			}
			return
		}
		if !isE164(e164) || detail != "" {
			t.Fatalf("Normalize(%q, %q) = %q, %q, %q: want E.164 and no detail", raw, region, e164, reason, detail)
		}
		for _, r := range []string{"", region, "BR"} {
			if again, reason, detail := Normalize(e164, r); again != e164 {
				t.Errorf("Normalize(%q, %q) = %q, %q, %q: want it unchanged (from %q)", e164, r, again, reason, detail, raw)
			}
		}
		if Region(e164) == "" {
			t.Errorf("Region(%q) is empty (from %q, %q)", e164, raw, region)
		}
		// An explicit country code does not depend on the region.
		if strings.HasPrefix(strings.TrimSpace(raw), "+") {
			if other, _, _ := Normalize(raw, "BR"); other != e164 {
				t.Errorf("Normalize(%q, BR) = %q, with %q: %q", raw, other, region, e164)
			}
		}
	})
}

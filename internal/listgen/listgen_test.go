package listgen

import (
	"bytes"
	"testing"

	"github.com/whatsend/whatsend/campaign/csvimport"
)

// Every number of a scattered list is a valid, distinct Brazilian mobile,
// and the rows are not in number order; the sequential list is.
func TestListsAreValidDistinctAndOrderedAsSaid(t *testing.T) {
	const n = 20000
	for _, tc := range []struct {
		name      string
		write     func(*bytes.Buffer) error
		scattered bool
	}{
		{"scattered", func(b *bytes.Buffer) error { return Scattered(b, n, 1) }, true},
		{"sequential", func(b *bytes.Buffer) error { return Sequential(b, n) }, false},
	} {
		var b bytes.Buffer
		if err := tc.write(&b); err != nil {
			t.Fatal(err)
		}
		descents, prev := 0, ""
		res, err := csvimport.Read(&b, "list.csv", csvimport.Config{Params: []string{"name", "order_id"}, Dedupe: true},
			func(r csvimport.Row) error {
				if r.Phone < prev {
					descents++
				}
				prev = r.Phone
				return nil
			}, func(s csvimport.Skip) error {
				t.Errorf("%s: line %d skipped: %s %s", tc.name, s.Line, s.Reason, s.Detail)
				return nil
			})
		if err != nil || res.Valid != n {
			t.Fatalf("%s: %d valid, %v; want %d", tc.name, res.Valid, err, n)
		}
		if tc.scattered && descents < n/3 {
			t.Errorf("scattered: only %d of %d rows go down in number order", descents, n)
		}
		if !tc.scattered && descents != 0 {
			t.Errorf("sequential: %d rows go down in number order", descents)
		}
	}
}

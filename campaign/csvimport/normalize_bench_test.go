package csvimport

import (
	"fmt"
	"math"
	"testing"

	"github.com/whatsend/whatsend/internal/listgen"
)

// BenchmarkNormalize normalises the numbers of a scattered list (Brazilian
// mobiles over 67 area codes), one per op.
func BenchmarkNormalize(b *testing.B) {
	phones := make([]string, 4096)
	for i := range phones {
		phones[i] = listgen.Phone(i * 7919)
	}
	i := 0
	for b.Loop() {
		if e, reason, _ := Normalize(phones[i%len(phones)], ""); e == "" {
			b.Fatal(reason)
		}
		i++
	}
}

// TestCleanBrazilIsParse: Normalize's shortcut for clean Brazilian E.164
// gives exactly what the full libphonenumber path gives, on the numbers of
// a scattered list and on every shape of number the shortcut could take:
// each two-digit area code (those with a 0 too) and first two digits of
// the subscriber, 10 and 11 national digits, with and without a default
// region.
func TestCleanBrazilIsParse(t *testing.T) {
	var cells []string
	for i := range 5_000 {
		cells = append(cells, listgen.Phone(i*200+i%200))
	}
	tail := uint64(0x9e3779b97f4a7c15)
	for ddd := range 100 {
		for first := range 100 {
			for _, rest := range []int{6, 7} {
				tail = tail*6364136223846793005 + 1442695040888963407
				cells = append(cells, fmt.Sprintf("+55%02d%02d%0*d", ddd, first, rest, tail%uint64(math.Pow10(rest))))
			}
		}
	}
	cells = append(cells, "+5511987654321", "+551198765432", "+55119876543210", "+55 11 98765-4321", "+550987654321", "+5501987654321")
	fast := 0
	for _, region := range []string{"", "BR", "US"} {
		for _, c := range cells {
			e, reason, detail := normalize(c, region, true)
			se, sreason, sdetail := normalize(c, region, false)
			if e != se || reason != sreason || detail != sdetail {
				t.Fatalf("Normalize(%q, %q) = %q %q %q, the full path gives %q %q %q", c, region, e, reason, detail, se, sreason, sdetail)
			}
			if _, ok := cleanBrazil(c); ok && e != "" {
				fast++
			}
		}
	}
	if fast < 3*5_000 {
		t.Errorf("the shortcut took %d valid cells, want at least the 15,000 of the scattered list", fast)
	}
}

// Package listgen writes recipient lists shaped like users' lists, for
// benchmarks and load tests: Brazilian mobile numbers spread over the 67
// area codes in random order (what a CRM export looks like), or the same
// count in one ascending run (the friendliest case for an index).
package listgen

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
)

// areaCodes are Brazil's 67 area codes (DDD).
var areaCodes = []int{
	11, 12, 13, 14, 15, 16, 17, 18, 19, 21, 22, 24, 27, 28, 31, 32, 33, 34, 35, 37, 38,
	41, 42, 43, 44, 45, 46, 47, 48, 49, 51, 53, 54, 55, 61, 62, 63, 64, 65, 66, 67, 68, 69,
	71, 73, 74, 75, 77, 79, 81, 82, 83, 84, 85, 86, 87, 88, 89, 91, 92, 93, 94, 95, 96, 97, 98, 99,
}

// Phone is the i-th distinct number of the scattered list: area code
// i mod 67, and a subscriber number that walks a bijection of the eight
// digits, so numbers are distinct and valid mobiles (9 then [1-9]).
func Phone(i int) string {
	ddd := areaCodes[i%len(areaCodes)]
	k := int64(i / len(areaCodes))
	sub := 10_000_000 + (k*1_000_003)%90_000_000
	return fmt.Sprintf("+55%d9%d", ddd, sub)
}

// Scattered writes a header and n rows (name, phone, order_id) with distinct
// numbers in random order (seeded: the same n and seed give the same file).
// It holds one int per row in memory for the order.
func Scattered(w io.Writer, n int, seed uint64) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	fmt.Fprintln(bw, "name,phone,order_id")
	order := rand.New(rand.NewPCG(seed, 0x5eed)).Perm(n)
	for row, i := range order {
		fmt.Fprintf(bw, "Customer %d,%s,A-%07d\n", row, Phone(i), row)
	}
	return bw.Flush()
}

// Sequential writes n rows whose numbers ascend in one area code.
func Sequential(w io.Writer, n int) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	fmt.Fprintln(bw, "name,phone,order_id")
	for i := range n {
		fmt.Fprintf(bw, "Customer %d,+55119%08d,A-%07d\n", i, 10_000_000+i, i)
	}
	return bw.Flush()
}

// Command listgen writes a recipient list for measuring whatsend on data
// shaped like users' lists:
//
//	go run ./internal/cmd/listgen -n 1000000 -o big.csv          # scattered (default)
//	go run ./internal/cmd/listgen -n 1000000 -o seq.csv -sequential
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/whatsend/whatsend/internal/listgen"
)

func main() {
	n := flag.Int("n", 1_000_000, "rows")
	out := flag.String("o", "", "output file (required)")
	seq := flag.Bool("sequential", false, "ascending numbers in one area code instead of a scattered list")
	seed := flag.Uint64("seed", 1, "seed of the scattered order")
	flag.Parse()
	if *out == "" || *n < 1 {
		fmt.Fprintln(os.Stderr, "listgen: -o FILE and -n > 0 are required")
		os.Exit(2)
	}
	f, err := os.Create(*out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "listgen:", err)
		os.Exit(1)
	}
	if *seq {
		err = listgen.Sequential(f, *n)
	} else {
		err = listgen.Scattered(f, *n, *seed)
	}
	if err == nil {
		err = f.Close()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "listgen:", err)
		os.Exit(1)
	}
}

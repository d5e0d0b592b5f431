package csvimport

import ("testing";"fmt";"strings";"io";"errors")

type errAfter struct{ r io.Reader; err error }
func (e *errAfter) Read(p []byte) (int, error) { n, err := e.r.Read(p); if err == io.EOF { return n, e.err }; return n, err }

func TestZZScratch(t *testing.T) {
	in := "phone,name\r\n+5511987654321,Jos\xe9\r\n"
	res, err := Read(strings.NewReader(in), "x.csv", Config{Params: []string{"name"}}, func(r Row) error { fmt.Println(r); return nil }, func(s Skip) error { fmt.Println(s); return nil })
	fmt.Println(res, err)
	in2 := "\n\nname;phone\nAna;+5511987654321\n"
	res, err = Read(strings.NewReader(in2), "x.csv", Config{}, func(r Row) error { fmt.Println(r); return nil }, func(s Skip) error { fmt.Println(s); return nil })
	fmt.Println(res, err)
	big := "phone\n" + strings.Repeat("+5511987654321\n", 10000) + "\"+5511"
	func() {
		defer func() { fmt.Println("recovered:", recover()) }()
		res, err = Read(&errAfter{strings.NewReader(big), errors.New("disk on fire")}, "x.csv", Config{}, func(r Row) error { return nil }, func(s Skip) error { return nil })
		fmt.Println(res, err)
	}()
}

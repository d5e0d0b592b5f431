package campaign

import (
	"os/exec"
	"testing"
)

// A quoted name reads back as itself through a real shell.
func TestQuoteArg(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"spring-sale", "spring-sale"},
		{"clientes_b-order_update-en_US-4ccc3970", "clientes_b-order_update-en_US-4ccc3970"},
		{"Pedidos prontos - dezembro", "'Pedidos prontos - dezembro'"},
		{"it's $HOME; rm -rf `x`", `'it'\''s $HOME; rm -rf ` + "`x`'"},
		{"", "''"},
	} {
		got := QuoteArg(tc.in)
		if got != tc.want {
			t.Errorf("QuoteArg(%q) = %s, want %s", tc.in, got, tc.want)
		}
		out, err := exec.Command("sh", "-c", "printf %s "+got).Output()
		if err != nil || string(out) != tc.in {
			t.Errorf("sh read %s back as %q (%v), want %q", got, out, err, tc.in)
		}
	}
}

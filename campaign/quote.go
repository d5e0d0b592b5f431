package campaign

import "strings"

// QuoteArg quotes s for a POSIX shell when it needs it, so that a command
// suggested to the user ("whatsend resume 'Pedidos prontos - dezembro'")
// can be pasted as it is.
func QuoteArg(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.,:/@%+=", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

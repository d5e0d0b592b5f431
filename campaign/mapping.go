package campaign

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/whatsend/whatsend/sender"
)

// ComponentMapping is how a campaign fills a template's components: what
// the pre-flight checks against the template's definition.
type ComponentMapping struct {
	Params       []string           // --params: the body's columns
	Header       string             // --header [FORMAT:]COLUMN: the header's column
	HeaderFormat string             // the FORMAT given with --header, "" when none
	HeaderMedia  string             // --header-media FILE_OR_URL: one header for every row
	Buttons      map[int]ButtonFlag // --button INDEX[:TYPE]=COLUMN by index
}

// IsLink reports whether a --header-media value is a link rather than a
// local file.
func IsLink(v string) bool {
	l := strings.ToLower(v)
	return strings.HasPrefix(l, "https://") || strings.HasPrefix(l, "http://")
}

// MappingProblems lists every way the mapping does not fit the template's
// header and buttons, each naming the component and the flag to fix. The
// body's parameters are checked by templateProblem.
func MappingProblems(t sender.Template, m ComponentMapping) []string {
	var out []string
	out = append(out, headerProblems(t, m)...)
	return append(out, buttonProblems(t, m)...)
}

// article is "a" or "an" before a header format.
func article(format string) string {
	if strings.ContainsAny(format[:1], "AEIOU") {
		return "an"
	}
	return "a"
}

func headerProblems(t sender.Template, m ComponentMapping) []string {
	given := m.Header != "" || m.HeaderMedia != ""
	h := t.Header
	switch {
	case h == nil && given:
		return []string{fmt.Sprintf("template %s has no header: drop %s", t.Name, headerFlag(m))}
	case h == nil:
		return nil
	case h.ParamCount == 0 && given:
		return []string{fmt.Sprintf("template %s has a TEXT header without a parameter: drop %s", t.Name, headerFlag(m))}
	case h.ParamCount == 0:
		return nil
	case m.Header != "" && m.HeaderMedia != "":
		return []string{fmt.Sprintf("template %s's header takes one parameter: give --header COLUMN or --header-media FILE, not both", t.Name)}
	case !given && h.Media():
		return []string{fmt.Sprintf("template %s has %s %s header: give --header COLUMN or --header-media FILE", t.Name, article(h.Format), h.Format)}
	case !given && h.Format == sender.HeaderLocation:
		return []string{fmt.Sprintf("template %s has a LOCATION header: give --header COLUMN (lat,lng[,name[,address]])", t.Name)}
	case !given:
		return []string{fmt.Sprintf("template %s has a TEXT header with a parameter: give --header COLUMN", t.Name)}
	case m.HeaderMedia != "" && !h.Media():
		return []string{fmt.Sprintf("template %s has %s %s header: --header-media is for IMAGE, VIDEO and DOCUMENT headers; give --header COLUMN", t.Name, article(h.Format), h.Format)}
	case m.HeaderMedia != "" && !IsLink(m.HeaderMedia):
		return headerFileProblems(t, m.HeaderMedia)
	case m.HeaderMedia != "" && !strings.HasPrefix(strings.ToLower(m.HeaderMedia), "https://"):
		return []string{fmt.Sprintf("--header-media %s: Meta fetches header media over https only: give an https link or a file", m.HeaderMedia)}
	case m.HeaderFormat != "" && m.HeaderFormat != h.Format && !(h.Format == sender.HeaderGIF && m.HeaderFormat == sender.HeaderVideo):
		return []string{fmt.Sprintf("--header %s:%s: template %s has %s %s header: write --header %s:%s or --header %s",
			m.HeaderFormat, m.Header, t.Name, article(h.Format), h.Format, strings.ToLower(h.Format), m.Header, m.Header)}
	}
	return nil
}

// headerFileProblems checks a local --header-media file: it exists, its
// type fills the header's format, its size is within Meta's limit.
func headerFileProblems(t sender.Template, file string) []string {
	format := t.Header.Format
	want := fmt.Sprintf("template %s has %s %s header: give --header-media a file of type %s", t.Name, article(format), format, sender.MediaKinds(format))
	mt, ok := sender.MediaTypeByName(file)
	if !ok {
		return []string{fmt.Sprintf("--header-media %s: not a media type WhatsApp takes in a header; %s", file, want)}
	}
	if !mt.Fills(format) {
		return []string{fmt.Sprintf("--header-media %s is %s (%s); %s", file, strings.ToLower(mt.Format), mt.MIME, want)}
	}
	fi, err := os.Stat(file)
	switch {
	case err != nil:
		return []string{fmt.Sprintf("--header-media %s: %v", file, unwrapPath(err))}
	case !fi.Mode().IsRegular():
		return []string{fmt.Sprintf("--header-media %s: not a regular file", file)}
	case fi.Size() > mt.MaxBytes:
		return []string{fmt.Sprintf("--header-media %s is %s bytes; WhatsApp takes %s up to %s", file, groupDigits(fi.Size()), mt.MIME, bytesText(mt.MaxBytes))}
	case fi.Size() == 0:
		return []string{fmt.Sprintf("--header-media %s is empty", file)}
	}
	return nil
}

// unwrapPath drops the *PathError's copy of the path the message names.
func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// bytesText is a size for a person: 5 MB, 4.2 MB, 812 KB.
func bytesText(n int64) string {
	switch {
	case n >= 1<<20:
		return strings.TrimSuffix(fmt.Sprintf("%.1f", float64(n)/(1<<20)), ".0") + " MB"
	case n >= 1<<10:
		return fmt.Sprintf("%d KB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// groupDigits writes n with thousands separators: 5,242,881.
func groupDigits(n int64) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func headerFlag(m ComponentMapping) string {
	if m.HeaderMedia != "" {
		return "--header-media"
	}
	return "--header"
}

func buttonProblems(t sender.Template, m ComponentMapping) []string {
	var out []string
	for _, b := range t.Buttons {
		if _, ok := m.Buttons[b.Index]; ok || !b.NeedsParam() {
			continue
		}
		switch b.Type {
		case sender.ButtonTypeURL:
			out = append(out, fmt.Sprintf("template %s's button %d (URL %s) has a dynamic suffix: give --button %d=COLUMN", t.Name, b.Index, b.URL, b.Index))
		case sender.ButtonTypeCopyCode:
			out = append(out, fmt.Sprintf("template %s's button %d is a copy-code button: give --button %d:copy_code=COLUMN with the codes", t.Name, b.Index, b.Index))
		default:
			out = append(out, fmt.Sprintf("template %s's button %d (%s) takes a parameter: give --button %d%s=COLUMN", t.Name, b.Index, b.Type, b.Index, typeSuffix(b)))
		}
	}
	idx := make([]int, 0, len(m.Buttons))
	for i := range m.Buttons {
		idx = append(idx, i)
	}
	slices.Sort(idx)
	for _, i := range idx {
		f := m.Buttons[i]
		flag := fmt.Sprintf("--button %d%s=%s", i, flagSuffix(f.SubType), f.Column)
		if i < 0 || i >= len(t.Buttons) {
			out = append(out, fmt.Sprintf("%s: template %s has no button %d (%s): drop it", flag, t.Name, i, buttonCount(len(t.Buttons))))
			continue
		}
		b := t.Buttons[i]
		switch {
		case !b.TakesParam():
			kind := b.Type
			if b.Type == sender.ButtonTypeURL {
				kind = "URL without a {{1}} suffix"
			}
			out = append(out, fmt.Sprintf("%s: template %s's button %d (%s) takes no parameter: drop it", flag, t.Name, i, kind))
		case f.SubType != "" && f.SubType != b.SubType():
			out = append(out, fmt.Sprintf("%s: template %s's button %d is %s button: write --button %d%s=%s", flag, t.Name, i, buttonKind(b), i, typeSuffix(b), f.Column))
		}
	}
	return out
}

// typeSuffix is the :TYPE a --button needs for the button ("" for url,
// the default).
func typeSuffix(b sender.TemplateButton) string { return flagSuffix(b.SubType()) }

func flagSuffix(subType string) string {
	if subType == "" || subType == sender.ButtonURL {
		return ""
	}
	return ":" + subType
}

// buttonKind names a button for a person: "a URL", "a copy-code", ...
func buttonKind(b sender.TemplateButton) string {
	switch b.Type {
	case sender.ButtonTypeURL:
		return "a URL"
	case sender.ButtonTypeCopyCode:
		return "a copy-code"
	case sender.ButtonTypeQuickReply:
		return "a quick-reply"
	}
	return "a " + b.Type
}

func buttonCount(n int) string {
	switch n {
	case 0:
		return "it has no buttons"
	case 1:
		return "it has button 0 only"
	}
	return fmt.Sprintf("its buttons are 0 to %d", n-1)
}

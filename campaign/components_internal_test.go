package campaign

import (
	"reflect"
	"strings"
	"testing"

	"github.com/whatsend/whatsend/campaign/csvimport"
	"github.com/whatsend/whatsend/sender"
)

// readMapped reads csv with the mapping of s, returning the valid rows and
// the skips.
func readMapped(t *testing.T, s Settings, langs map[string]bool, csv string) ([]csvimport.Row, []csvimport.Skip) {
	t.Helper()
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	var rows []csvimport.Row
	var skips []csvimport.Skip
	_, err := csvimport.Read(strings.NewReader(csv), "t.csv", NewMapping(s, langs).CSV(csvimport.Config{}),
		func(r csvimport.Row) error { rows = append(rows, r); return nil },
		func(k csvimport.Skip) error { skips = append(skips, k); return nil })
	if err != nil {
		t.Fatal(err)
	}
	return rows, skips
}

// message is the message the runner builds for a row.
func message(s Settings, r csvimport.Row) sender.Message {
	return withComponents(sender.Message{To: r.Phone, Template: s.Template, Language: s.Language, Format: s.Format(),
		Params: r.Params, Names: s.placeholders()}, r.Components, s)
}

// Every value is frozen at import and the runner builds the message from
// it alone: header by kind, buttons, typed body values, the row's language.
func TestFrozenComponentsMakeTheMessage(t *testing.T) {
	s := Settings{Template: "spring_promo", Language: "en_US", Params: []string{"name", "total:currency", "due:date_time"},
		Header: "header", Buttons: []string{"0=path", "1:quick_reply=payload", "2:copy_code=code"}, LangColumn: "lang"}
	csv := "phone,name,total,due,header,path,payload,code,lang\n" +
		"+5511987650001,Ana,12.50 BRL,March 3,https://cdn.example.com/a.jpg,c/ana,stop,ANA25,pt_BR\n" +
		"+5511987650002,Bia,BRL 7,March 4,1013859600285441,c/bia,stop,BIA25,\n" +
		"+5511987650003,Caio,\"1,5 USD\",March 5,\"-23.5614,-46.6559,Loja Paulista,Av. Paulista 1000, São Paulo\",c/caio,stop,C25,en_US\n" +
		"+5511987650004,Duda,3 EUR,March 6,https://cdn.example.com/terms.pdf,c/duda,stop,D25,\n" +
		"+5511987650005,Edu,3 EUR,March 6,Spring sale,c/edu,stop,E25,\n"
	rows, skips := readMapped(t, s, nil, csv)
	if len(skips) != 0 || len(rows) != 5 {
		t.Fatalf("rows %d, skips %+v; want 5 rows", len(rows), skips)
	}
	// The stored form, read back by every later run and resume: keep it
	// readable by older values when it changes.
	const stored = `{"header":{"type":"image","link":"https://cdn.example.com/a.jpg"},` +
		`"buttons":[{"index":0,"sub_type":"url","value":"c/ana"},{"index":1,"sub_type":"quick_reply","value":"stop"},{"index":2,"sub_type":"copy_code","value":"ANA25"}],` +
		`"body":[{"at":1,"currency":{"fallback_value":"12.50 BRL","code":"BRL","amount_1000":12500}},{"at":2,"date_time":"March 3"}],"lang":"pt_BR"}`
	if string(rows[0].Components) != stored {
		t.Errorf("line 2 stored as\n%s\nwant\n%s", rows[0].Components, stored)
	}
	buttons := func(path, code string) []sender.Button {
		return []sender.Button{{Index: 0, SubType: sender.ButtonURL, Value: path}, {Index: 1, SubType: sender.ButtonQuickReply, Value: "stop"},
			{Index: 2, SubType: sender.ButtonCopyCode, Value: code}}
	}
	body := func(name, total, code string, amount int64, due string) []sender.Param {
		return []sender.Param{{Type: sender.ParamText, Text: name},
			{Type: sender.ParamCurrency, Currency: &sender.Currency{FallbackValue: total, Code: code, Amount1000: amount}},
			{Type: sender.ParamDateTime, DateTime: due}}
	}
	want := []struct {
		lang   string
		header sender.Param
		body   []sender.Param
		btns   []sender.Button
	}{
		{"pt_BR", sender.Param{Type: sender.ParamImage, Link: "https://cdn.example.com/a.jpg"}, body("Ana", "12.50 BRL", "BRL", 12500, "March 3"), buttons("c/ana", "ANA25")},
		{"en_US", sender.Param{Type: sender.ParamImage, MediaID: "1013859600285441"}, body("Bia", "BRL 7", "BRL", 7000, "March 4"), buttons("c/bia", "BIA25")},
		{"en_US", sender.Param{Type: sender.ParamLocation, Location: &sender.Location{Latitude: -23.5614, Longitude: -46.6559,
			Name: "Loja Paulista", Address: "Av. Paulista 1000, São Paulo"}}, body("Caio", "1,5 USD", "USD", 1500, "March 5"), buttons("c/caio", "C25")},
		{"en_US", sender.Param{Type: sender.ParamDocument, Link: "https://cdn.example.com/terms.pdf", Filename: "terms.pdf"}, body("Duda", "3 EUR", "EUR", 3000, "March 6"), buttons("c/duda", "D25")},
		{"en_US", sender.Param{Type: sender.ParamText, Text: "Spring sale"}, body("Edu", "3 EUR", "EUR", 3000, "March 6"), buttons("c/edu", "E25")},
	}
	for i, r := range rows {
		m := message(s, r)
		w := want[i]
		if m.Language != w.lang || !reflect.DeepEqual(*m.Header, w.header) || !reflect.DeepEqual(m.Body, w.body) || !reflect.DeepEqual(m.Buttons, w.btns) {
			t.Errorf("line %d: message\n%+v %+v\n%+v\n%+v\nwant\n%+v %+v\n%+v\n%+v", r.Line, m.Language, *m.Header, m.Body, m.Buttons, w.lang, w.header, w.body, w.btns)
		}
	}
}

// A NAMED template's text header and body carry parameter_name; a row
// without components sends its body as today.
func TestNamedAndPlain(t *testing.T) {
	s := Settings{Template: "t", Language: "en_US", Params: []string{"first_name=nome"}, Header: "text:sale_name=venda", ParamFormat: string(sender.Named)}
	rows, _ := readMapped(t, s, nil, "phone,nome,venda\n+5511987650001,Ana,Spring\n")
	m := message(s, rows[0])
	if m.Header == nil || m.Header.Name != "sale_name" || m.Header.Text != "Spring" || !reflect.DeepEqual(m.Names, []string{"first_name"}) || m.Params[0] != "Ana" || m.Body != nil {
		t.Errorf("named message = %+v, header %+v", m, m.Header)
	}
	plain := Settings{Template: "t", Language: "en_US", Params: []string{"nome"}}
	rows, _ = readMapped(t, plain, nil, "phone,nome\n+5511987650001,Ana\n")
	if rows[0].Components != nil {
		t.Errorf("components %s for a campaign that maps none", rows[0].Components)
	}
}

// Each rule Meta enforces on a value skips its row at import with a reason
// and the row's line.
func TestTemplateValuesRefusedPerRow(t *testing.T) {
	s := Settings{Template: "t", Language: "en_US", Params: []string{"name", "total:currency", "due:date_time"},
		Header: "image:header", Buttons: []string{"0=path", "1:copy_code=code"}, LangColumn: "lang"}
	langs := map[string]bool{"en_US": true, "pt_BR": true}
	ok := []string{"+5511987650001", "Ana", "12.50 BRL", "March 3", "https://cdn.example.com/a.jpg", "c/ana", "ANA25", "pt_BR"}
	cases := []struct {
		col    int
		value  string
		reason string
	}{
		{1, "Ana\tMaria", ReasonBadParam},
		{1, "Ana      Maria", ReasonBadParam},
		{1, strings.Repeat("a", MaxBodyText+1), ReasonBadParam},
		{2, "12.50", ReasonBadCurrency},
		{2, "12.5555 BRL", ReasonBadCurrency},
		{2, "12.50 brl", ReasonBadCurrency},
		{3, "March\t3", ReasonBadDateTime},
		{4, "http://cdn.example.com/a.jpg", ReasonBadHeader},
		{4, "cdn.example.com/a.jpg", ReasonBadHeader},
		{6, "THIRTYPERCENTOFF", ReasonBadButton},
		{5, "c/a b", ReasonBadButton},
		{7, "es_MX", ReasonNoTranslation},
	}
	var b strings.Builder
	b.WriteString("phone,name,total,due,header,path,code,lang\n")
	quote := func(v string) string { return `"` + strings.ReplaceAll(v, `"`, `""`) + `"` }
	for i, c := range cases {
		row := append([]string(nil), ok...)
		row[0] = "+55119876500" + string(rune('1'+i/10)) + string(rune('0'+i%10))
		row[c.col] = c.value
		for j := range row {
			row[j] = quote(row[j])
		}
		b.WriteString(strings.Join(row, ",") + "\n")
	}
	b.WriteString(strings.Join(ok, ",") + "\n")
	rows, skips := readMapped(t, s, langs, b.String())
	if len(rows) != 1 || len(skips) != len(cases) {
		t.Fatalf("%d rows and %d skips, want 1 and %d: %+v", len(rows), len(skips), len(cases), skips)
	}
	for i, k := range skips {
		if k.Line != i+2 || k.Reason != cases[i].reason || k.Detail == "" {
			t.Errorf("value %q: skip %+v, want line %d reason %s", cases[i].value, k, i+2, cases[i].reason)
		}
	}
	// Without the template's languages the column is trusted.
	rows, skips = readMapped(t, s, nil, "phone,name,total,due,header,path,code,lang\n"+strings.Join(append(ok[:7:7], "es_MX"), ",")+"\n")
	if len(rows) != 1 || len(skips) != 0 {
		t.Errorf("trusted language column: %d rows, skips %+v", len(rows), skips)
	}
	bad := Settings{Template: "t", Language: "en_US", Header: "h", LangColumn: "lang"}
	_, err := csvimport.Read(strings.NewReader("phone,h\n+5511987650001,x\n"), "t.csv", NewMapping(bad, nil).CSV(csvimport.Config{}),
		func(csvimport.Row) error { return nil }, func(csvimport.Skip) error { return nil })
	if err == nil || !strings.Contains(err.Error(), `no column "lang" for --lang-column`) {
		t.Errorf("missing column: %v, want it named with its flag", err)
	}
}

func TestComponentFlagsRefused(t *testing.T) {
	for _, tc := range []struct {
		set  func(*Settings)
		want string
	}{
		{func(s *Settings) { s.Buttons = []string{"coupon"} }, "--button \"coupon\": want INDEX=COLUMN"},
		{func(s *Settings) { s.Buttons = []string{"10=c"} }, "want 0 to 9"},
		{func(s *Settings) { s.Buttons = []string{"0:phone=c"} }, "want url, quick_reply or copy_code"},
		{func(s *Settings) { s.Buttons = []string{"0=a", "0=b"} }, "index 0 given twice"},
		{func(s *Settings) { s.Params = []string{"total:money"} }, "want text, currency or date_time"},
		{func(s *Settings) { s.Params = []string{"a", "a"} }, `"a" given twice`},
		{func(s *Settings) { s.Header = "image:" }, "--header"},
	} {
		s := Settings{Template: "t", Language: "en_US"}
		tc.set(&s)
		if err := s.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", s, err, tc.want)
		}
	}
}

func TestParseCurrency(t *testing.T) {
	for _, tc := range []struct {
		in     string
		code   string
		amount int64
		ok     bool
	}{
		{"12.50 BRL", "BRL", 12500, true},
		{"BRL 12.50", "BRL", 12500, true},
		{"12,5 EUR", "EUR", 12500, true},
		{"0.001 USD", "USD", 1, true},
		{"100990 USD", "USD", 100990000, true},
		{"1.2345 USD", "", 0, false},
		{"1,234.50 USD", "", 0, false},
		{"-5 USD", "", 0, false},
		{"1e3 USD", "", 0, false},
		{"12.50 R$", "", 0, false},
		{"12.50", "", 0, false},
		{"99999999999999999999 USD", "", 0, false},
	} {
		c, err := parseCurrency(tc.in)
		if (err == nil) != tc.ok || tc.ok && (c.Code != tc.code || c.Amount1000 != tc.amount || c.FallbackValue != tc.in) {
			t.Errorf("parseCurrency(%q) = %+v, %v; want %s %d ok=%v", tc.in, c, err, tc.code, tc.amount, tc.ok)
		}
	}
}

// With the template's definition read, a --header without FORMAT: takes
// the template's header format and a --button without :TYPE the template's
// button type: a link with no telling extension goes out as the VIDEO the
// template has, not as a guessed image, and a quick reply as quick_reply.
// A type the flag names is kept.
func TestDefinitionDecidesHeaderAndButtonTypes(t *testing.T) {
	s := Settings{Template: "clip", Language: "en_US", Params: []string{"name"},
		Header: "media", Buttons: []string{"0=path", "1=payload", "2:url=code"}}
	def := &sender.Template{Name: "clip", Language: "en_US",
		Header: &sender.TemplateHeader{Format: sender.HeaderVideo, ParamCount: 1},
		Buttons: []sender.TemplateButton{
			{Index: 0, Type: sender.ButtonTypeURL, Dynamic: true},
			{Index: 1, Type: sender.ButtonTypeQuickReply},
			{Index: 2, Type: sender.ButtonTypeCopyCode},
		}}
	guessed := NewMapping(s, nil)
	m := guessed.WithDefinition(def)
	if guessed.HeaderFormat != "" || guessed.Buttons[1].SubType != sender.ButtonURL {
		t.Fatalf("WithDefinition changed the mapping it was called on: %+v", guessed)
	}
	if m.HeaderFormat != HeaderVideo {
		t.Errorf("header format %q, want the template's VIDEO", m.HeaderFormat)
	}
	want := []string{sender.ButtonURL, sender.ButtonQuickReply, sender.ButtonURL}
	for i, b := range m.Buttons {
		if b.SubType != want[i] {
			t.Errorf("button %d: sub_type %q, want %q", b.Index, b.SubType, want[i])
		}
	}
	if NewMapping(s, nil).WithDefinition(nil).HeaderFormat != "" {
		t.Error("no definition: the header format must stay to each value")
	}

	var rows []csvimport.Row
	_, err := csvimport.Read(strings.NewReader("phone,name,media,path,payload,code\n+5511987650001,Ana,https://cdn.example.com/clip?id=7,a1,p1,c1\n"),
		"t.csv", m.CSV(csvimport.Config{}), func(r csvimport.Row) error { rows = append(rows, r); return nil },
		func(k csvimport.Skip) error {
			t.Errorf("skipped line %d: %s %s", k.Line, k.Reason, k.Detail)
			return nil
		})
	if err != nil || len(rows) != 1 {
		t.Fatalf("read: %v, %d rows", err, len(rows))
	}
	msg := message(s, rows[0])
	if msg.Header == nil || msg.Header.Type != sender.ParamVideo || msg.Header.Link != "https://cdn.example.com/clip?id=7" {
		t.Errorf("header %+v, want the link as a video", msg.Header)
	}
	if len(msg.Buttons) != 3 || msg.Buttons[1].SubType != sender.ButtonQuickReply || msg.Buttons[1].Value != "p1" {
		t.Errorf("buttons %+v, want index 1 a quick reply with payload p1", msg.Buttons)
	}
}

package campaign_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/whatsend/whatsend/campaign"
	"github.com/whatsend/whatsend/campaign/csvimport"
	"github.com/whatsend/whatsend/sender/simulator"
	"github.com/whatsend/whatsend/store"
)

// A 300-row campaign with an image header (a link column) and a URL button,
// against the simulator's spring_promo: every accepted message's template
// object, as the simulator received it, is Meta's shape with its own row's
// header link, body values and URL suffix (frozen at import); a row whose
// link is not https is skipped at import with its line.
func TestRunSendsEachRowsComponents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st, dir := openStore(t)
		sim := simulator.New(simulator.Config{Latency: -1, Tier: -1, MPS: 1000}) // its built-in spring_promo
		client := simClient(t, sim)
		const n = 300
		nums := phones(n, 0)
		var b strings.Builder
		b.WriteString("phone,name,discount,coupon_path,image_url\n")
		for i, p := range nums {
			link := fmt.Sprintf("https://cdn.example.com/promo/%d.jpg", i)
			if i == 7 {
				link = "http://cdn.example.com/promo/7.jpg"
			}
			fmt.Fprintf(&b, "%s,Customer %d,%d%%,c/%05d,%s\n", p, i, 10+i%40, i, link)
		}
		path := filepath.Join(dir, "promo.csv")
		if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		s := campaign.Settings{Template: "spring_promo", Language: "en_US", Params: []string{"name", "discount"},
			Header: "image_url", Buttons: []string{"0=coupon_path"}, PhoneNumberID: testPhoneID, Tier: "unlimited", Rate: 500}
		if err := s.Validate(); err != nil {
			t.Fatal(err)
		}
		imp := importMapped(t, st, path, "promo", s)
		sk, err := st.Skipped(t.Context(), imp.Campaign.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(sk) != 1 || sk[0].Line != 9 || sk[0].Reason != campaign.ReasonBadHeader {
			t.Fatalf("skipped = %+v, want line 9 (the http link) as %s", sk, campaign.ReasonBadHeader)
		}
		deps := campaign.Deps{Store: st, Sender: client, Prober: imageLinks{},
			Owner: campaign.Owner{ID: "test-owner", PID: os.Getpid(), Host: "test", Alive: func(int) bool { return true }}}
		if _, err := campaign.Run(t.Context(), deps, imp.Campaign.ID, campaign.RunOptions{}); err != nil {
			t.Fatal(err)
		}
		msgs := sim.Messages()
		if len(msgs) != n-1 {
			t.Fatalf("simulator accepted %d messages, want %d", len(msgs), n-1)
		}
		row := map[string]int{}
		for i, p := range nums {
			row[p] = i
		}
		seen := map[string]bool{}
		for _, m := range msgs {
			i, ok := row[m.To]
			if !ok || i == 7 {
				t.Fatalf("a message to %s, not a valid row", m.To)
			}
			seen[m.To] = true
			// The template object exactly as sent: Meta's shape, this row's values.
			want := fmt.Sprintf(`{"name":"spring_promo","language":{"code":"en_US"},"components":[`+
				`{"type":"header","parameters":[{"type":"image","image":{"link":"https://cdn.example.com/promo/%d.jpg"}}]},`+
				`{"type":"body","parameters":[{"type":"text","text":"Customer %d"},{"type":"text","text":"%d%%"}]},`+
				`{"type":"button","sub_type":"url","index":"0","parameters":[{"type":"text","text":"c/%05d"}]}]}`, i, i, 10+i%40, i)
			if string(m.Template) != want {
				t.Errorf("row %d sent\n%s\nwant\n%s", i, m.Template, want)
			}
		}
		if len(seen) != n-1 {
			t.Errorf("%d rows got a message, want %d", len(seen), n-1)
		}
	})
}

// Read before the import, a NAMED template maps its placeholders to the
// columns of the same names without --params, and a row whose language
// has no APPROVED translation is skipped no_translation; the others are
// sent in their own language.
func TestRunNamedTemplateWithLanguageColumn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		named := func(lang, status string) simulator.Template {
			return simulator.Template{Name: "promo_named", Language: lang, Category: "MARKETING", Status: status, Format: "NAMED",
				Params: 2, ParamNames: []string{"first_name", "discount"}}
		}
		e := newEnv(t, simulator.Config{Tier: -1, MPS: 1000,
			Templates: []simulator.Template{named("en_US", "APPROVED"), named("pt_BR", "APPROVED"), named("es_MX", "PAUSED")}})
		s := campaign.Settings{Template: "promo_named", Language: "en_US", LangColumn: "lang", PhoneNumberID: testPhoneID, Tier: "unlimited"}
		info, err := campaign.ResolveTemplate(t.Context(), e.client, &s)
		if err != nil {
			t.Fatal(err)
		}
		langs := info.Languages
		if strings.Join(s.Params, ",") != "first_name,discount" || len(langs) != 2 || !langs["en_US"] || !langs["pt_BR"] {
			t.Fatalf("params %v, languages %v; want the placeholders and en_US, pt_BR", s.Params, langs)
		}
		csv := "phone,discount,first_name,lang\n+5511920000001,10%,Ana,pt_BR\n+5511920000002,15%,Bia,\n+5511920000003,20%,Caio,es_MX\n"
		path := filepath.Join(e.dir, "named.csv")
		if err := os.WriteFile(path, []byte(csv), 0o600); err != nil {
			t.Fatal(err)
		}
		imp, err := campaign.Import(t.Context(), e.st, campaign.ImportConfig{
			File: path, CSV: campaign.NewMapping(s, langs).CSV(csvimport.Config{}),
			Campaign: store.Campaign{Name: "named", Template: s.Template, Language: s.Language, Params: s.ParamColumns(),
				PhoneNumberID: testPhoneID, Scope: s.Scope(), Settings: s.Encode()},
			ExplicitName: true,
		})
		if err != nil {
			t.Fatal(err)
		}
		sk, _ := e.st.Skipped(t.Context(), imp.Campaign.ID)
		if len(sk) != 1 || sk[0].Line != 4 || sk[0].Reason != campaign.ReasonNoTranslation {
			t.Fatalf("skipped = %+v, want line 4 as %s", sk, campaign.ReasonNoTranslation)
		}
		if _, err := e.run(imp.Campaign, nil, campaign.RunOptions{}); err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, m := range e.sim.Messages() {
			got[m.To] = m.Language + " " + strings.Join(m.Params, ",")
		}
		want := map[string]string{"+5511920000001": "pt_BR Ana,10%", "+5511920000002": "en_US Bia,15%"}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("simulator accepted %v, want %v", got, want)
		}
	})
}

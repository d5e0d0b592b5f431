package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/whatsend/whatsend/sender/simulator"
)

// TestTemplateComponentsEndToEnd: a 300-row campaign with an image header
// (a column of https links) and a URL button, run by the binary against
// `whatsend sim --templates-file` (spring_promo in Meta's shape), ends with every row
// accepted once and each accepted message's template object, as the
// simulator received it, holding that row's link, body values and URL
// suffix, across a stop (the allowance) and a resume given no flag. A row
// with an http link is skipped at import with its line; the same command
// again continues the campaign and sends nothing.
func TestTemplateComponentsEndToEnd(t *testing.T) {
	// testdata/templates.json: spring_promo in the shape of Meta's
	// message_templates answer.
	sim := startSim(t, "--templates-file", filepath.Join("..", "..", "testdata", "templates.json"),
		"--latency", "0ms", "--tier", "unlimited", "--mps", "1000")
	p := newProc(t, sim)
	const n = 300
	var b strings.Builder
	b.WriteString("phone,name,discount,coupon_path,image_url\n")
	for i := range n {
		link := fmt.Sprintf("https://cdn.example.com/promo/%d.jpg", i)
		if i == 41 {
			link = "http://cdn.example.com/promo/41.jpg"
		}
		fmt.Fprintf(&b, "+55119%08d,Customer %d,%d%%,c/%05d,%s\n", 20000000+i, i, 5+i%50, i, link)
	}
	csv := filepath.Join(p.dir, "promo.csv")
	if err := os.WriteFile(csv, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"run", csv, "--template", "spring_promo", "--lang", "en_US", "--params", "name,discount",
		"--header", "image_url", "--button", "0=coupon_path", "--api-url", sim.url, "--waba-id", simulator.DefaultWABAID,
		"--tier", "100", "--rate", "500", "--name", "promo", "--skip-link-check"} // the links are not served
	// The allowance stops the run at 100 (exit 10); resume, given no flag,
	// sends the rest from the values frozen at import.
	if code := p.exec(args...); code != 10 {
		t.Fatalf("run exited %d, want 10 (allowance used up)\nstdout: %s\nstderr: %s", code, p.stdout.String(), p.stderr.String())
	}
	if !strings.Contains(p.stderr.String(), "300 rows, 299 valid, 1 skipped") {
		t.Errorf("import line missing; stderr:\n%s", p.stderr.String())
	}
	if code := p.exec("campaign", "set", "promo", "--tier", "unlimited"); code != 0 {
		t.Fatalf("campaign set exited %d: %s", code, p.stderr.String())
	}
	if code := p.exec("resume", "promo", "--skip-link-check"); code != 0 {
		t.Fatalf("resume exited %d\nstdout: %s\nstderr: %s", code, p.stdout.String(), p.stderr.String())
	}

	var got struct {
		Messages []struct {
			To       string          `json:"to"`
			Template json.RawMessage `json:"template"`
		} `json:"messages"`
	}
	sim.getJSON(t, "/_sim/messages", &got)
	if len(got.Messages) != n-1 {
		t.Fatalf("simulator accepted %d messages, want %d", len(got.Messages), n-1)
	}
	seen := map[string]bool{}
	for _, m := range got.Messages {
		var i int
		if _, err := fmt.Sscanf(m.To, "+55119%08d", &i); err != nil || i < 20000000 || i >= 20000000+n {
			t.Fatalf("message to %q, not a row of the CSV", m.To)
		}
		i -= 20000000
		if i == 41 || seen[m.To] {
			t.Fatalf("row %d sent (again): %s", i, m.Template)
		}
		seen[m.To] = true
		want := fmt.Sprintf(`{"name":"spring_promo","language":{"code":"en_US"},"components":[`+
			`{"type":"header","parameters":[{"type":"image","image":{"link":"https://cdn.example.com/promo/%d.jpg"}}]},`+
			`{"type":"body","parameters":[{"type":"text","text":"Customer %d"},{"type":"text","text":"%d%%"}]},`+
			`{"type":"button","sub_type":"url","index":"0","parameters":[{"type":"text","text":"c/%05d"}]}]}`, i, i, 5+i%50, i)
		if string(m.Template) != want {
			t.Errorf("row %d: template sent\n%s\nwant\n%s", i, m.Template, want)
		}
	}

	if code := p.exec("report", "promo", "--format", "csv", "--only", "skipped"); code != 0 {
		t.Fatalf("report exited %d: %s", code, p.stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(p.stdout.String()), "\n")
	// The export keeps every column the campaign reads, so the row can be
	// fixed and imported again with the same flags.
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "line,phone,name,discount,image_url,coupon_path,state,reason,") ||
		!strings.HasPrefix(lines[1], `43,+5511920000041,Customer 41,46%,http://cdn.example.com/promo/41.jpg,c/00041,skipped,bad_header,0,,,"image_url (--header): the link is not https`) {
		t.Errorf("the skipped report, want line 43 alone as bad_header with its values:\n%s", p.stdout.String())
	}
	// The same command again continues the finished campaign: nothing more
	// is sent.
	if code := p.exec(append(args, "--update", "--tier", "unlimited")...); code != 0 {
		t.Fatalf("second run exited %d: %s", code, p.stderr.String())
	}
	sim.getJSON(t, "/_sim/messages", &got)
	if len(got.Messages) != n-1 {
		t.Errorf("after the second run the simulator has %d messages, want %d", len(got.Messages), n-1)
	}
}

// TestTemplateKindsEndToEnd runs one small campaign per header kind and
// button type against `whatsend sim --templates-file` with the
// simulator's sample templates, which it checks sends against as Meta
// does: a NAMED text header with a copy-code button and currency and
// date_time body values, the same with no --params (the placeholders come
// from the template), a DOCUMENT header, a LOCATION header, a VIDEO header with no
// body values. Every row is accepted and its template object is the
// expected one.
func TestTemplateKindsEndToEnd(t *testing.T) {
	sim := startSim(t, "--templates-file", filepath.Join("..", "..", "sender", "simulator", "testdata", "templates.json"),
		"--latency", "0ms", "--tier", "unlimited", "--mps", "1000")
	p := newProc(t, sim)
	for i, tc := range []struct {
		template, lang string
		csv            string
		flags          []string
		want           string // the template object of the row's message
	}{
		{"coupon_named", "en_US", "phone,first_name,code,when,total,coupon\n+5511930000001,Ana,SPRING20,March 3,100.99 USD,SPRING20\n",
			[]string{"--params", "code,when:date_time,total:currency", "--header", "text:first_name", "--button", "0:copy_code=coupon"},
			`{"name":"coupon_named","language":{"code":"en_US"},"components":[` +
				`{"type":"header","parameters":[{"type":"text","parameter_name":"first_name","text":"Ana"}]},` +
				`{"type":"body","parameters":[{"type":"text","parameter_name":"code","text":"SPRING20"},` +
				`{"type":"date_time","parameter_name":"when","date_time":{"fallback_value":"March 3"}},` +
				`{"type":"currency","parameter_name":"total","currency":{"fallback_value":"100.99 USD","code":"USD","amount_1000":100990}}]},` +
				`{"type":"button","sub_type":"copy_code","index":"0","parameters":[{"type":"coupon_code","coupon_code":"SPRING20"}]}]}`},
		// No --params: the NAMED template's placeholders are read before
		// the import and taken from the columns of the same names.
		{"coupon_named", "en_US", "phone,total,first_name,when,code,coupon\n+5511930000005,$20,Bia,April 1,BIA20,BIA20\n",
			[]string{"--header", "text:first_name", "--button", "0:copy_code=coupon", "--name", "no-params"},
			`{"name":"coupon_named","language":{"code":"en_US"},"components":[` +
				`{"type":"header","parameters":[{"type":"text","parameter_name":"first_name","text":"Bia"}]},` +
				`{"type":"body","parameters":[{"type":"text","parameter_name":"code","text":"BIA20"},` +
				`{"type":"text","parameter_name":"when","text":"April 1"},{"type":"text","parameter_name":"total","text":"$20"}]},` +
				`{"type":"button","sub_type":"copy_code","index":"0","parameters":[{"type":"coupon_code","coupon_code":"BIA20"}]}]}`},
		{"invoice_ready", "pt_BR", "phone,invoice,pdf\n+5511930000002,F-1001,https://shop.example.com/f/F-1001.pdf\n",
			[]string{"--params", "invoice", "--header", "pdf"},
			`{"name":"invoice_ready","language":{"code":"pt_BR"},"components":[` +
				`{"type":"header","parameters":[{"type":"document","document":{"link":"https://shop.example.com/f/F-1001.pdf","filename":"F-1001.pdf"}}]},` +
				`{"type":"body","parameters":[{"type":"text","text":"F-1001"}]}]}`},
		{"store_visit", "en_US", "phone,store,where\n+5511930000003,Paulista,\"-23.5614,-46.6559,Loja Paulista,Av. Paulista 1000, São Paulo\"\n",
			[]string{"--params", "store", "--header", "where"},
			`{"name":"store_visit","language":{"code":"en_US"},"components":[` +
				`{"type":"header","parameters":[{"type":"location","location":{"latitude":"-23.5614","longitude":"-46.6559","name":"Loja Paulista","address":"Av. Paulista 1000, São Paulo"}}]},` +
				`{"type":"body","parameters":[{"type":"text","text":"Paulista"}]}]}`},
		{"video_teaser", "en_US", "phone,clip\n+5511930000004,https://cdn.example.com/spring.mp4\n",
			[]string{"--header", "clip"},
			`{"name":"video_teaser","language":{"code":"en_US"},"components":[` +
				`{"type":"header","parameters":[{"type":"video","video":{"link":"https://cdn.example.com/spring.mp4"}}]}]}`},
	} {
		csv := filepath.Join(p.dir, fmt.Sprintf("%s-%d.csv", tc.template, i))
		if err := os.WriteFile(csv, []byte(tc.csv), 0o600); err != nil {
			t.Fatal(err)
		}
		args := append([]string{"run", csv, "--template", tc.template, "--lang", tc.lang, "--api-url", sim.url,
			"--waba-id", simulator.DefaultWABAID, "--tier", "unlimited", "--skip-link-check"}, tc.flags...)
		if code := p.exec(args...); code != 0 {
			t.Fatalf("%s: run exited %d\nstdout: %s\nstderr: %s", tc.template, code, p.stdout.String(), p.stderr.String())
		}
		var got struct {
			Messages []struct {
				Template json.RawMessage `json:"template"`
			} `json:"messages"`
		}
		sim.getJSON(t, "/_sim/messages", &got)
		if len(got.Messages) != i+1 {
			t.Fatalf("%s: the simulator has %d messages, want %d", tc.template, len(got.Messages), i+1)
		}
		if m := string(got.Messages[i].Template); m != tc.want {
			t.Errorf("%s: template sent\n%s\nwant\n%s", tc.template, m, tc.want)
		}
	}
}

// TestLangColumnEndToEnd: --lang-column sends each row in its language; a
// row in a language the template has no approved translation of is
// skipped no_translation at import, with its line; an empty cell takes
// --lang.
func TestLangColumnEndToEnd(t *testing.T) {
	sim := startSim(t, "--templates-file", filepath.Join("..", "..", "testdata", "templates.json"),
		"--latency", "0ms", "--tier", "unlimited", "--mps", "1000")
	p := newProc(t, sim)
	csv := filepath.Join(p.dir, "langs.csv")
	rows := "phone,name,discount,coupon_path,image_url,lang\n" +
		"+5511940000001,Ana,10%,c/ana,https://cdn.example.com/a.jpg,pt_BR\n" +
		"+5511940000002,Bob,15%,c/bob,https://cdn.example.com/b.jpg,\n" +
		"+5511940000003,Carmen,20%,c/carmen,https://cdn.example.com/c.jpg,es_MX\n"
	if err := os.WriteFile(csv, []byte(rows), 0o600); err != nil {
		t.Fatal(err)
	}
	if code := p.exec("run", csv, "--template", "spring_promo", "--lang", "en_US", "--params", "name,discount", "--header", "image_url",
		"--button", "0=coupon_path", "--lang-column", "lang", "--api-url", sim.url, "--waba-id", simulator.DefaultWABAID, "--tier", "unlimited", "--name", "langs"); code != 0 {
		t.Fatalf("run exited %d\nstdout: %s\nstderr: %s", code, p.stdout.String(), p.stderr.String())
	}
	var got struct {
		Messages []struct {
			To       string `json:"to"`
			Language string `json:"language"`
		} `json:"messages"`
	}
	sim.getJSON(t, "/_sim/messages", &got)
	langs := map[string]string{}
	for _, m := range got.Messages {
		langs[m.To] = m.Language
	}
	if want := map[string]string{"+5511940000001": "pt_BR", "+5511940000002": "en_US"}; fmt.Sprint(langs) != fmt.Sprint(want) {
		t.Errorf("languages sent %v, want %v", langs, want)
	}
	if code := p.exec("report", "langs", "--format", "csv", "--only", "skipped"); code != 0 {
		t.Fatalf("report exited %d: %s", code, p.stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(p.stdout.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[1], "4,+5511940000003,Carmen,20%,https://cdn.example.com/c.jpg,c/carmen,es_MX,skipped,no_translation,") {
		t.Errorf("the skipped report, want line 4 alone as no_translation:\n%s", p.stdout.String())
	}
}

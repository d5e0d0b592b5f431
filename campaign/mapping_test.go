package campaign_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/whatsend/whatsend/campaign"
	"github.com/whatsend/whatsend/campaign/csvimport"
	"github.com/whatsend/whatsend/sender"
	"github.com/whatsend/whatsend/sender/simulator"
	"github.com/whatsend/whatsend/store"
)

// springPromo is the simulator's demo template (templates-contract.md).
func springPromo() sender.Template {
	return sender.Template{Name: "spring_promo", Language: "en_US", Status: "APPROVED", Category: "MARKETING", Format: sender.Positional,
		ParamCount: 2, Header: &sender.TemplateHeader{Format: sender.HeaderImage, ParamCount: 1}, Footer: "Reply STOP to opt out",
		Buttons: []sender.TemplateButton{
			{Index: 0, Type: sender.ButtonTypeURL, Text: "Shop now", URL: "https://shop.example.com/c/{{1}}", Dynamic: true},
			{Index: 1, Type: sender.ButtonTypeQuickReply, Text: "Stop promotions"},
		}}
}

func writeFile(t *testing.T, name string, size int) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, make([]byte, size), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestMappingProblems: each mismatch between the mapping and the
// template's components is named with its component and the flag to fix;
// a mapping that fits gives none.
func TestMappingProblems(t *testing.T) {
	jpg := writeFile(t, "promo.jpg", 1000)
	bigJPG := writeFile(t, "big.jpg", 5<<20+1)
	mp4 := writeFile(t, "clip.mp4", 1000)
	empty := writeFile(t, "empty.png", 0)
	video := springPromo()
	video.Header = &sender.TemplateHeader{Format: sender.HeaderVideo, ParamCount: 1}
	textHeader := springPromo()
	textHeader.Header = &sender.TemplateHeader{Format: sender.HeaderText, Text: "Hi {{1}}", ParamCount: 1}
	staticText := springPromo()
	staticText.Header = &sender.TemplateHeader{Format: sender.HeaderText, Text: "Sale"}
	location := springPromo()
	location.Header = &sender.TemplateHeader{Format: sender.HeaderLocation, ParamCount: 1}
	noHeader := springPromo()
	noHeader.Header = nil
	coupon := sender.Template{Name: "coupon", Buttons: []sender.TemplateButton{{Index: 0, Type: sender.ButtonTypeCopyCode}, {Index: 1, Type: sender.ButtonTypePhone}}}
	ok := buttons(t, "0=coupon_path")

	for _, tt := range []struct {
		name string
		t    sender.Template
		m    campaign.ComponentMapping
		want []string // substrings, one problem each; nil: fits
	}{
		{"fits with a file", springPromo(), campaign.ComponentMapping{HeaderMedia: jpg, Buttons: ok}, nil},
		{"fits with a column", springPromo(), campaign.ComponentMapping{Header: "image_url", Buttons: ok}, nil},
		{"fits with a link", springPromo(), campaign.ComponentMapping{HeaderMedia: "https://cdn.example.com/a.jpg", Buttons: ok}, nil},
		{"quick reply payload may be given", springPromo(), campaign.ComponentMapping{Header: "img", Buttons: buttons(t, "0=c", "1:quick_reply=payload")}, nil},
		{"image header without a mapping", springPromo(), campaign.ComponentMapping{Buttons: ok},
			[]string{"template spring_promo has an IMAGE header: give --header COLUMN or --header-media FILE"}},
		{"jpg for a video header", video, campaign.ComponentMapping{HeaderMedia: jpg, Buttons: ok},
			[]string{"--header-media " + jpg + " is image (image/jpeg); template spring_promo has a VIDEO header: give --header-media a file of type mp4 or 3gp"}},
		{"mp4 fits a video header", video, campaign.ComponentMapping{HeaderMedia: mp4, Buttons: ok}, nil},
		{"unknown media type", springPromo(), campaign.ComponentMapping{HeaderMedia: "/tmp/x.gif", Buttons: ok},
			[]string{"--header-media /tmp/x.gif: not a media type WhatsApp takes in a header"}},
		{"missing file", springPromo(), campaign.ComponentMapping{HeaderMedia: "/nonexistent/promo.jpg", Buttons: ok},
			[]string{"--header-media /nonexistent/promo.jpg: no such file or directory"}},
		{"file over Meta's limit", springPromo(), campaign.ComponentMapping{HeaderMedia: bigJPG, Buttons: ok},
			[]string{"--header-media " + bigJPG + " is 5,242,881 bytes; WhatsApp takes image/jpeg up to 5 MB"}},
		{"empty file", springPromo(), campaign.ComponentMapping{HeaderMedia: empty, Buttons: ok}, []string{"is empty"}},
		{"both header flags", springPromo(), campaign.ComponentMapping{Header: "img", HeaderMedia: jpg, Buttons: ok},
			[]string{"give --header COLUMN or --header-media FILE, not both"}},
		{"header-media for a text header", textHeader, campaign.ComponentMapping{HeaderMedia: jpg, Buttons: ok},
			[]string{"template spring_promo has a TEXT header: --header-media is for IMAGE, VIDEO and DOCUMENT headers; give --header COLUMN"}},
		{"text header without a column", textHeader, campaign.ComponentMapping{Buttons: ok},
			[]string{"template spring_promo has a TEXT header with a parameter: give --header COLUMN"}},
		{"location header without a column", location, campaign.ComponentMapping{Buttons: ok},
			[]string{"template spring_promo has a LOCATION header: give --header COLUMN (lat,lng[,name[,address]])"}},
		{"header for a template without one", noHeader, campaign.ComponentMapping{Header: "img", Buttons: ok},
			[]string{"template spring_promo has no header: drop --header"}},
		{"header for a static text header", staticText, campaign.ComponentMapping{HeaderMedia: jpg, Buttons: ok},
			[]string{"template spring_promo has a TEXT header without a parameter: drop --header-media"}},
		{"dynamic URL without a column", springPromo(), campaign.ComponentMapping{HeaderMedia: jpg},
			[]string{"template spring_promo's button 0 (URL https://shop.example.com/c/{{1}}) has a dynamic suffix: give --button 0=COLUMN"}},
		{"copy code without a column", coupon, campaign.ComponentMapping{},
			[]string{"template coupon's button 0 is a copy-code button: give --button 0:copy_code=COLUMN"}},
		{"button that does not exist", springPromo(), campaign.ComponentMapping{HeaderMedia: jpg, Buttons: buttons(t, "0=c", "3=x")},
			[]string{"--button 3=x: template spring_promo has no button 3 (its buttons are 0 to 1): drop it"}},
		{"button without a parameter", coupon, campaign.ComponentMapping{Buttons: buttons(t, "0:copy_code=code", "1=x")},
			[]string{"--button 1=x: template coupon's button 1 (PHONE_NUMBER) takes no parameter: drop it"}},
		{"a payload for a URL button", springPromo(), campaign.ComponentMapping{HeaderMedia: jpg, Buttons: buttons(t, "0:quick_reply=c")},
			[]string{"--button 0:quick_reply=c: template spring_promo's button 0 is a URL button: write --button 0=c"}},
		{"a quick reply given as a URL", springPromo(), campaign.ComponentMapping{HeaderMedia: jpg, Buttons: buttons(t, "0=c", "1=p")},
			[]string{"--button 1=p: template spring_promo's button 1 is a quick-reply button: write --button 1:quick_reply=p"}},
		{"a copy code given as a URL", coupon, campaign.ComponentMapping{Buttons: buttons(t, "0=code")},
			[]string{"--button 0=code: template coupon's button 0 is a copy-code button: write --button 0:copy_code=code"}},
		{"a header format that is not the template's", springPromo(), campaign.ComponentMapping{Header: "clip", HeaderFormat: "VIDEO", Buttons: ok},
			[]string{"--header VIDEO:clip: template spring_promo has an IMAGE header: write --header image:clip or --header clip"}},
		{"every problem at once", video, campaign.ComponentMapping{Buttons: buttons(t, "5=x")},
			[]string{"VIDEO header: give --header COLUMN or --header-media FILE", "give --button 0=COLUMN", "--button 5=x"}},
	} {
		got := campaign.MappingProblems(tt.t, tt.m)
		if len(got) != len(tt.want) {
			t.Errorf("%s: %d problems %q, want %d %q", tt.name, len(got), got, len(tt.want), tt.want)
			continue
		}
		for i, w := range tt.want {
			if !strings.Contains(got[i], w) {
				t.Errorf("%s: problem %d = %q, want it to say %q", tt.name, i, got[i], w)
			}
		}
	}
}

// fakeProber answers from a table and counts the probes of each link and
// the most at once.
type fakeProber struct {
	answers      map[string]sender.LinkInfo
	mu           sync.Mutex
	calls        map[string]int
	active, peak atomic.Int32
	release      chan struct{} // nil: answer at once
}

func (p *fakeProber) Probe(ctx context.Context, link string) (sender.LinkInfo, error) {
	n := p.active.Add(1)
	defer p.active.Add(-1)
	for {
		old := p.peak.Load()
		if n <= old || p.peak.CompareAndSwap(old, n) {
			break
		}
	}
	p.mu.Lock()
	p.calls[link]++
	p.mu.Unlock()
	if p.release != nil {
		<-p.release
	}
	a, ok := p.answers[link]
	if !ok {
		return sender.LinkInfo{}, errors.New("HEAD: dial tcp: connection refused")
	}
	return a, nil
}

func TestLinkProblems(t *testing.T) {
	ok := sender.LinkInfo{Method: "HEAD", Status: 200, ContentType: "image/jpeg", Size: 1000}
	p := &fakeProber{calls: map[string]int{}, answers: map[string]sender.LinkInfo{
		"https://a/ok.jpg":     ok,
		"https://a/ok2.png":    {Method: "GET", Status: 200, ContentType: "image/png", Size: -1},
		"https://a/404.jpg":    {Method: "HEAD", Status: 404},
		"https://a/video.mp4":  {Method: "HEAD", Status: 200, ContentType: "video/mp4", Size: 1000},
		"https://a/page":       {Method: "HEAD", Status: 200, ContentType: "text/html; charset=utf-8"},
		"https://a/big.jpg":    {Method: "HEAD", Status: 200, ContentType: "image/jpeg", Size: 6 << 20},
		"https://a/notype.jpg": {Method: "HEAD", Status: 200},
	}}
	links := []string{"https://a/ok.jpg", "https://a/ok.jpg", "https://a/ok2.png", "https://a/404.jpg", "https://a/video.mp4",
		"https://a/page", "https://a/big.jpg", "https://a/notype.jpg", "https://a/down.jpg", "https://a/ok.jpg"}
	got := campaign.LinkProblems(t.Context(), p, "spring_promo", sender.HeaderImage, "--header image_url", links)
	want := []string{
		"--header image_url: header link https://a/404.jpg answers HEAD with HTTP 404",
		"--header image_url: header link https://a/video.mp4 is video (video/mp4), not image",
		"--header image_url: header link https://a/page is text/html; charset=utf-8, not a media type WhatsApp takes in a header",
		"--header image_url: header link https://a/big.jpg is 6,291,456 bytes; WhatsApp takes image/jpeg up to 5 MB",
		"--header image_url: header link https://a/notype.jpg gives no Content-Type",
		"--header image_url: 1 more header links fail the same way",
		"template spring_promo has an IMAGE header: every link must answer 2xx with a file of type jpg, jpeg or png within Meta's size limit",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for l, n := range p.calls {
		if n != 1 {
			t.Errorf("%s probed %d times, want once", l, n)
		}
	}
	if len(p.calls) != 8 {
		t.Errorf("%d distinct links probed, want 8", len(p.calls))
	}
	if got := campaign.LinkProblems(t.Context(), p, "spring_promo", sender.HeaderImage, "--header-media", []string{"https://a/ok.jpg", "https://a/ok2.png"}); got != nil {
		t.Errorf("good links: %q, want none", got)
	}
}

// TestLinkProblemsBoundsConcurrency: at most 8 links are asked at once.
func TestLinkProblemsBoundsConcurrency(t *testing.T) {
	p := &fakeProber{calls: map[string]int{}, answers: map[string]sender.LinkInfo{}, release: make(chan struct{})}
	var links []string
	for i := range 50 {
		l := "https://a/" + string(rune('A'+i)) + ".jpg"
		links = append(links, l)
		p.answers[l] = sender.LinkInfo{Method: "HEAD", Status: 200, ContentType: "image/jpeg", Size: 10}
	}
	done := make(chan []string)
	go func() { done <- campaign.LinkProblems(t.Context(), p, "t", sender.HeaderImage, "--header x", links) }()
	for range links {
		p.release <- struct{}{}
	}
	if got := <-done; got != nil {
		t.Errorf("problems %q, want none", got)
	}
	if peak := p.peak.Load(); peak < 1 || peak > 8 {
		t.Errorf("%d probes at once, want at most 8", peak)
	}
}

// TestProberAgainstLinks: the real prober against a loopback server, through
// LinkProblems, HEAD refused then GET.
func TestProberAgainstLinks(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "image/png")
		w.Write([]byte("png"))
	}))
	t.Cleanup(ts.Close)
	if got := campaign.LinkProblems(t.Context(), sender.Prober{}, "t", sender.HeaderImage, "--header-media", []string{ts.URL + "/a.png"}); got != nil {
		t.Errorf("a png answered to GET: %q, want no problem", got)
	}
	if got := campaign.LinkProblems(t.Context(), sender.Prober{}, "t", sender.HeaderVideo, "--header-media", []string{ts.URL + "/a.png"}); len(got) != 2 {
		t.Errorf("a png for a VIDEO header: %q, want the link's problem and the summary", got)
	}
}

// defined answers the template read with a fixed definition, and
// accepts and counts sends.
type defined struct {
	inner campaign.Sender
	t     sender.Template
	sends atomic.Int32
}

// SendTemplate accepts every message itself: the simulator does not know
// the template this sender defines.
func (d *defined) SendTemplate(ctx context.Context, m sender.Message) (sender.Accepted, error) {
	n := d.sends.Add(1)
	return sender.Accepted{WAMID: fmt.Sprintf("wamid.test-%d", n)}, nil
}

func (d *defined) PhoneHealth(ctx context.Context) (sender.Health, error) {
	return d.inner.PhoneHealth(ctx)
}

func (d *defined) Template(ctx context.Context, name, lang string) (sender.Template, error) {
	return d.t, nil
}

// TestRunPreflightPausesBeforeAnySend: a mapping that does not fit the
// template's components, or a header link Meta could not fetch, pauses the
// campaign (exit 3) before its first send, naming the component and flag.
func TestRunPreflightPausesBeforeAnySend(t *testing.T) {
	tpl := springPromo()
	tpl.Name, tpl.Buttons = "order_update", nil // the button's column comes with --button
	for _, tt := range []struct {
		name   string
		s      campaign.Settings
		prober campaign.LinkProber
		want   string
	}{
		{"no header mapping", campaign.Settings{}, nil,
			"template order_update has an IMAGE header: give --header COLUMN or --header-media FILE"},
		{"header link not found", campaign.Settings{HeaderMedia: "https://cdn.example.com/gone.jpg"},
			&fakeProber{calls: map[string]int{}, answers: map[string]sender.LinkInfo{"https://cdn.example.com/gone.jpg": {Method: "HEAD", Status: 404}}},
			"--header-media: header link https://cdn.example.com/gone.jpg answers HEAD with HTTP 404"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, simulator.Config{MPS: 1000, Tier: -1})
			c := e.campaign("pf", phones(5, 0), tt.s)
			d := &defined{inner: e.client, t: tpl}
			deps := e.deps(d)
			deps.Prober = tt.prober
			_, err := campaign.Run(t.Context(), deps, c.ID, campaign.RunOptions{})
			if !errors.Is(err, campaign.ErrPaused) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("run: %v, want paused saying %q", err, tt.want)
			}
			if n := d.sends.Load(); n != 0 {
				t.Errorf("%d sends, want none before the pre-flight passes", n)
			}
		})
	}
}

// buttons parses --button values.
func buttons(t *testing.T, vs ...string) map[int]campaign.ButtonFlag {
	t.Helper()
	m := map[int]campaign.ButtonFlag{}
	for _, v := range vs {
		b, err := campaign.ParseButton(v)
		if err != nil {
			t.Fatal(err)
		}
		m[b.Index] = b
	}
	return m
}

// imageLinks answers every header link as a small jpeg: the pre-flight of
// a test never leaves the machine.
type imageLinks struct{}

func (imageLinks) Probe(ctx context.Context, link string) (sender.LinkInfo, error) {
	return sender.LinkInfo{Method: "HEAD", Status: 200, ContentType: "image/jpeg", Size: 1000}, nil
}

// TestRunPreflightProbesHeaderColumnLinks: the distinct links of a --header
// column are each asked once before the first send; one that is not found
// pauses the campaign with nothing sent, naming the column and the link.
func TestRunPreflightProbesHeaderColumnLinks(t *testing.T) {
	st, dir := openStore(t)
	var b strings.Builder
	b.WriteString("phone,name,discount,coupon_path,image_url\n")
	for i, p := range phones(30, 0) {
		fmt.Fprintf(&b, "%s,Customer %d,10%%,c/%d,https://cdn.example.com/%d.jpg\n", p, i, i, i%3)
	}
	path := filepath.Join(dir, "promo.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	s := campaign.Settings{Template: "spring_promo", Language: "en_US", Params: []string{"name", "discount"},
		Header: "image_url", Buttons: []string{"0=coupon_path"}, PhoneNumberID: testPhoneID, Tier: "unlimited"}
	imp := importMapped(t, st, path, "promo", s)
	sim := simulator.New(simulator.Config{Latency: -1, Tier: -1, MPS: 1000})
	client := simClient(t, sim)
	ok := sender.LinkInfo{Method: "HEAD", Status: 200, ContentType: "image/jpeg", Size: 1000}
	p := &fakeProber{calls: map[string]int{}, answers: map[string]sender.LinkInfo{
		"https://cdn.example.com/0.jpg": ok, "https://cdn.example.com/1.jpg": {Method: "HEAD", Status: 404}, "https://cdn.example.com/2.jpg": ok}}
	deps := campaign.Deps{Store: st, Sender: client, Prober: p,
		Owner: campaign.Owner{ID: "test-owner", PID: os.Getpid(), Host: "test", Alive: func(int) bool { return true }}}
	_, err := campaign.Run(t.Context(), deps, imp.Campaign.ID, campaign.RunOptions{})
	if want := "--header image_url: header link https://cdn.example.com/1.jpg answers HEAD with HTTP 404"; !errors.Is(err, campaign.ErrPaused) || !strings.Contains(err.Error(), want) {
		t.Errorf("run: %v, want paused saying %q", err, want)
	}
	if len(p.calls) != 3 {
		t.Errorf("links probed %v, want the 3 distinct links", p.calls)
	}
	for l, n := range p.calls {
		if n != 1 {
			t.Errorf("%s probed %d times, want once", l, n)
		}
	}
	if n := len(sim.Messages()); n != 0 {
		t.Errorf("the simulator accepted %d messages, want none", n)
	}

	// --skip-link-check: nothing is asked and the rows are sent.
	p.calls = map[string]int{}
	if _, err := campaign.Run(t.Context(), deps, imp.Campaign.ID, campaign.RunOptions{SkipLinkCheck: true}); err != nil {
		t.Fatalf("run with SkipLinkCheck: %v", err)
	}
	if len(p.calls) != 0 || len(sim.Messages()) != 30 {
		t.Errorf("with SkipLinkCheck: links probed %v and %d messages accepted, want none probed and 30", p.calls, len(sim.Messages()))
	}
}

// importMapped imports the CSV with the settings' component mapping.
func importMapped(t *testing.T, st store.Store, path, name string, s campaign.Settings) campaign.ImportResult {
	t.Helper()
	imp, err := campaign.Import(t.Context(), st, campaign.ImportConfig{
		File: path, CSV: campaign.NewMapping(s, nil).CSV(csvimport.Config{}),
		Campaign: store.Campaign{Name: name, Template: s.Template, Language: s.Language, Params: s.ParamColumns(),
			PhoneNumberID: testPhoneID, Scope: s.Scope(), Settings: s.Encode()},
		ExplicitName: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	return imp
}

// simClient is a client of the in-process simulator, with its WABA.
func simClient(t *testing.T, sim *simulator.Sim) *sender.Client {
	t.Helper()
	client, err := sender.New(sender.Config{BaseURL: "http://simulator.invalid", Token: "sim-token", PhoneNumberID: testPhoneID,
		WABAID: simulator.DefaultWABAID, Transport: sim.Transport()})
	if err != nil {
		t.Fatal(err)
	}
	return client
}

// TestRunPreflightChecksEachRowLanguage: with --lang-column, the mapping is
// checked against the translation of each language the rows use too; a
// pt_BR translation whose button 0 is a copy code, not the en_US URL,
// pauses the run before any send, naming the language and the flag.
func TestRunPreflightChecksEachRowLanguage(t *testing.T) {
	tpls, err := simulator.ParseTemplates([]byte(`{"data":[
 {"name":"promo","language":"en_US","status":"APPROVED","category":"MARKETING","components":[
  {"type":"BODY","text":"Hi {{1}}, {{2}} off."},
  {"type":"BUTTONS","buttons":[{"type":"URL","text":"Shop","url":"https://shop.example.com/c/{{1}}"}]}]},
 {"name":"promo","language":"pt_BR","status":"APPROVED","category":"MARKETING","components":[
  {"type":"BODY","text":"Oi {{1}}, {{2}} de desconto."},
  {"type":"BUTTONS","buttons":[{"type":"COPY_CODE","example":"SPRING20"}]}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	st, dir := openStore(t)
	path := filepath.Join(dir, "promo.csv")
	csv := "phone,name,discount,code,lang\n+5511920000001,Ana,10%,c1,pt_BR\n+5511920000002,Bia,15%,c2,\n"
	if err := os.WriteFile(path, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	s := campaign.Settings{Template: "promo", Language: "en_US", Params: []string{"name", "discount"}, Buttons: []string{"0=code"},
		LangColumn: "lang", PhoneNumberID: testPhoneID, Tier: "unlimited"}
	imp := importMapped(t, st, path, "promo", s)
	sim := simulator.New(simulator.Config{Latency: -1, Tier: -1, MPS: 1000, Templates: tpls})
	deps := campaign.Deps{Store: st, Sender: simClient(t, sim), Prober: imageLinks{},
		Owner: campaign.Owner{ID: "test-owner", PID: os.Getpid(), Host: "test", Alive: func(int) bool { return true }}}
	_, err = campaign.Run(t.Context(), deps, imp.Campaign.ID, campaign.RunOptions{})
	want := "(pt_BR, --lang-column lang) --button 0=code: template promo's button 0 is a copy-code button: write --button 0:copy_code=code"
	if !errors.Is(err, campaign.ErrPaused) || !strings.Contains(err.Error(), want) {
		t.Errorf("run: %v, want paused saying %q", err, want)
	}
	if n := len(sim.Messages()); n != 0 {
		t.Errorf("the simulator accepted %d messages, want none", n)
	}
}

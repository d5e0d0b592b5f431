package main

import (
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/whatsend/whatsend/sender/simulator"
)

// preflightTemplates is a --templates-file for the pre-flight tests: every
// template's body takes the two columns of writeCSV.
const preflightTemplates = `{"data":[
 {"name":"photo_promo","language":"en_US","status":"APPROVED","category":"MARKETING","parameter_format":"POSITIONAL",
  "components":[{"type":"HEADER","format":"IMAGE"},{"type":"BODY","text":"Hi {{1}}, order {{2}} ships today."}]},
 {"name":"video_teaser","language":"en_US","status":"APPROVED","category":"MARKETING","parameter_format":"POSITIONAL",
  "components":[{"type":"HEADER","format":"VIDEO"},{"type":"BODY","text":"Hi {{1}}, {{2}} is here."}]},
 {"name":"coupon","language":"en_US","status":"APPROVED","category":"MARKETING","parameter_format":"POSITIONAL",
  "components":[{"type":"BODY","text":"Hi {{1}}, use the code for {{2}}."},
   {"type":"BUTTONS","buttons":[{"type":"COPY_CODE","example":"SPRING20"}]}]},
 {"name":"spring_promo","language":"en_US","status":"APPROVED","category":"MARKETING","parameter_format":"POSITIONAL",
  "components":[{"type":"HEADER","format":"IMAGE"},{"type":"BODY","text":"Hi {{1}}, {{2}} off everything this week."},
   {"type":"FOOTER","text":"Reply STOP to opt out"},
   {"type":"BUTTONS","buttons":[{"type":"URL","text":"Shop now","url":"https://shop.example.com/c/{{1}}"},{"type":"QUICK_REPLY","text":"Stop promotions"}]}]},
 {"name":"order_update","language":"en_US","status":"APPROVED","category":"UTILITY","parameter_format":"POSITIONAL",
  "components":[{"type":"BODY","text":"Hi {{1}}, order {{2}}."}]}
]}`

// preflightProc starts a simulator with preflightTemplates and a whatsend
// that reads templates from it (the WABA id set).
func preflightProc(t *testing.T, simArgs ...string) (*simProc, *proc) {
	t.Helper()
	tpl := filepath.Join(t.TempDir(), "templates.json")
	if err := os.WriteFile(tpl, []byte(preflightTemplates), 0o600); err != nil {
		t.Fatal(err)
	}
	sim := startSim(t, append([]string{"--templates-file", tpl}, simArgs...)...)
	p := newProc(t, sim)
	p.extra = append(p.extra, "WHATSEND_WABA_ID="+simulator.DefaultWABAID)
	return sim, p
}

// TestPreflightMismatchesExit3: each way the mapping does not fit the
// template exits 3 before any send, the message naming the component and
// the flag to fix; the simulator accepted nothing.
func TestPreflightMismatchesExit3(t *testing.T) {
	sim, p := preflightProc(t)
	links := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/clip.mp4":
			w.Header().Set("Content-Type", "video/mp4")
		case "/page":
			w.Header().Set("Content-Type", "text/html")
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(links.Close)
	// whatsend trusts the loopback server's certificate (Go reads
	// SSL_CERT_FILE on Linux): header links are https only.
	certFile := filepath.Join(t.TempDir(), "links.pem")
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: links.Certificate().Raw})
	if err := os.WriteFile(certFile, cert, 0o600); err != nil {
		t.Fatal(err)
	}
	p.extra = append(p.extra, "SSL_CERT_FILE="+certFile)
	jpg := filepath.Join(p.dir, "promo.jpg")
	if err := os.WriteFile(jpg, []byte("\xff\xd8\xff\xe0 not much of a jpeg"), 0o600); err != nil {
		t.Fatal(err)
	}
	csv := writeCSV(t, p.dir, 20, 0)
	for i, tt := range []struct {
		name     string
		template string
		flags    []string
		want     []string
	}{
		{"image header without a mapping", "photo_promo", nil,
			[]string{"template photo_promo has an IMAGE header: give --header COLUMN or --header-media FILE"}},
		{"a jpg for a video header", "video_teaser", []string{"--header-media", jpg},
			[]string{"--header-media " + jpg + " is image (image/jpeg); template video_teaser has a VIDEO header"}},
		{"a link that is not found", "photo_promo", []string{"--header-media", links.URL + "/gone.jpg"},
			[]string{"header link " + links.URL + "/gone.jpg answers HEAD with HTTP 404"}},
		{"a link to a video for an image header", "photo_promo", []string{"--header-media", links.URL + "/clip.mp4"},
			[]string{"header link " + links.URL + "/clip.mp4 is video (video/mp4), not image"}},
		{"an http link", "photo_promo", []string{"--header-media", "http://cdn.example.com/a.jpg"},
			[]string{"--header-media http://cdn.example.com/a.jpg: Meta fetches header media over https only"}},
		{"a copy-code button without a column", "coupon", nil,
			[]string{"template coupon's button 0 is a copy-code button: give --button 0:copy_code=COLUMN"}},
		{"a dynamic URL without a column", "spring_promo", []string{"--header-media", jpg},
			[]string{"template spring_promo's button 0 (URL https://shop.example.com/c/{{1}}) has a dynamic suffix: give --button 0=COLUMN"}},
		{"a header for a template without one", "order_update", []string{"--header-media", jpg},
			[]string{"template order_update has no header: drop --header-media"}},
	} {
		args := p.runArgs(csv, "--name", fmt.Sprintf("pf%d", i))
		args[3] = tt.template // runArgs: run CSV --template NAME
		args = append(args, tt.flags...)
		code := p.exec(args...)
		out := p.stdout.String() + p.stderr.String()
		if code != 3 {
			t.Errorf("%s: exit %d, want 3\n%s", tt.name, code, out)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: output does not say %q:\n%s", tt.name, w, out)
			}
		}
	}
	var s simStats
	sim.getJSON(t, "/_sim/stats", &s)
	if s.Accepted != 0 || s.Uploads != 0 {
		t.Errorf("the simulator accepted %d messages and %d uploads, want none", s.Accepted, s.Uploads)
	}
}

// TestHeaderMediaUploadsOnceAcrossKill: a 1,000-row campaign with
// --header-media uploads the file exactly once, including across a kill -9
// and a resume, and every accepted message carries that media id.
func TestHeaderMediaUploadsOnceAcrossKill(t *testing.T) {
	sim, p := preflightProc(t, "--mps", "1000", "--tier", "unlimited", "--latency", "20ms")
	jpg := filepath.Join(p.dir, "promo.jpg")
	if err := os.WriteFile(jpg, []byte("\xff\xd8\xff\xe0 a small jpeg"), 0o600); err != nil {
		t.Fatal(err)
	}
	csv := writeCSV(t, p.dir, 1000, 0)
	args := p.runArgs(csv, "--rate", "200", "--header-media", jpg)
	args[3] = "photo_promo"
	cmd := p.command(args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sim.waitAccepted(t, 300)
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	if code := p.exec("resume"); code != 0 {
		t.Fatalf("resume: exit %d, want 0\nstdout: %s\nstderr: %s", code, p.stdout.String(), p.stderr.String())
	}
	var s simStats
	sim.getJSON(t, "/_sim/stats", &s)
	if s.Uploads != 1 {
		t.Errorf("%d uploads, want 1", s.Uploads)
	}
	var msgs struct {
		Messages []struct {
			Template json.RawMessage `json:"template"`
		} `json:"messages"`
	}
	sim.getJSON(t, "/_sim/messages", &msgs)
	ids := map[string]int{}
	for _, m := range msgs.Messages {
		var tpl struct {
			Components []struct {
				Type       string `json:"type"`
				Parameters []struct {
					Type  string `json:"type"`
					Image struct {
						ID string `json:"id"`
					} `json:"image"`
				} `json:"parameters"`
			} `json:"components"`
		}
		if err := json.Unmarshal(m.Template, &tpl); err != nil {
			t.Fatal(err)
		}
		id := ""
		for _, c := range tpl.Components {
			if c.Type == "header" && len(c.Parameters) == 1 && c.Parameters[0].Type == "image" {
				id = c.Parameters[0].Image.ID
			}
		}
		ids[id]++
	}
	if len(ids) != 1 || ids[""] != 0 || len(msgs.Messages) < 990 {
		t.Errorf("%d messages accepted with header ids %v, want ~1,000 all with the one uploaded id", len(msgs.Messages), ids)
	}
	t.Logf("%d messages accepted, %d upload(s)", len(msgs.Messages), s.Uploads)
}

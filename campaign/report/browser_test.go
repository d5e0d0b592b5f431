package report

import (
	"bytes"
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// browserPath finds Debian's chromium (or another Chrome). Missing, the
// browser test skips locally and fails in CI (CI=true), where .ci/run
// installs it.
func browserPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no chromium in PATH: CI must install it (apt-get install -y chromium)")
	}
	t.Skip("no chromium in PATH: apt-get install -y chromium to run the browser test")
	return ""
}

// screenshotDir is where the browser test leaves its screenshots for a
// person to look at: $WHATSEND_SCREENSHOTS, or the system's temp directory.
func screenshotDir() string {
	if d := os.Getenv("WHATSEND_SCREENSHOTS"); d != "" {
		return d
	}
	return os.TempDir()
}

// The HTML report renders in a real browser, offline: no console error, no
// request but the file itself, no dialog (the hostile names stay text), no
// horizontal scrolling on a phone, and it prints.
func TestHTMLInBrowser(t *testing.T) {
	exe := browserPath(t)
	st, id := goldenCampaign(t)
	r, err := Build(context.Background(), st, id, reportAt, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// The hostile recipients join the page, so the browser also sees them.
	hst, hid := importHostile(t)
	hr, err := Build(context.Background(), hst, hid, t0.Add(time.Hour), Options{})
	if err != nil {
		t.Fatal(err)
	}
	r.ToCheck = append(r.ToCheck, hr.ToCheck...)
	dir := t.TempDir()
	file := filepath.Join(dir, "report.html")
	if err := WriteFile(file, r.WriteHTML); err != nil {
		t.Fatal(err)
	}
	fileURL := (&url.URL{Scheme: "file", Path: file}).String()

	// One bound for the whole browser session.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox, // as root in a container
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.UserDataDir(filepath.Join(dir, "profile")),
	)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()

	var mu sync.Mutex
	var requests, problems []string
	if err := chromedp.Listen(bctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			requests = append(requests, ev.Request.URL)
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeWarning {
				problems = append(problems, "console "+string(ev.Type))
			}
		case *runtime.EventExceptionThrown:
			problems = append(problems, "exception: "+ev.ExceptionDetails.Text)
		case *log.EventEntryAdded:
			if ev.Entry.Level == log.EntryLevelError {
				problems = append(problems, "log error: "+ev.Entry.Text+" "+ev.Entry.URL)
			}
		case *page.EventJavascriptDialogOpening:
			problems = append(problems, "dialog: "+ev.Message)
		}
	}); err != nil {
		t.Fatalf("start %s: %v", exe, err)
	}

	if err := chromedp.Do(bctx,
		chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile),
		chromedp.Navigate(fileURL),
		chromedp.WaitVisible(chromedp.CSS("body > header h1")),
	); err != nil {
		t.Fatal(err)
	}
	h1, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.querySelector("h1").textContent`))
	if err != nil || h1 != "spring-sale" {
		t.Errorf("h1 = %q, %v; want the campaign's name", h1, err)
	}
	charts, err := chromedp.Run(bctx, chromedp.Evaluate[int](
		`[...document.querySelectorAll("svg.chart")].filter(s => s.getBoundingClientRect().height > 10 && s.querySelector("rect,polyline")).length`))
	if err != nil || charts != 4 {
		t.Errorf("%d drawn charts, %v; want 4 (sends, progress, 131056 share, failures)", charts, err)
	}
	pauses, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll("svg.chart g.pause").length`))
	if err != nil || pauses != 3 {
		t.Errorf("%d pause marks, %v; want the pause on the three time charts", pauses, err)
	}
	overflow, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth - document.documentElement.clientWidth`))
	if err != nil || overflow > 0 {
		t.Errorf("the page is %d px wider than a 390 px phone (%v): it scrolls sideways", overflow, err)
	}
	// Wide tables become stacked rows on a phone: every pause reason and
	// failure advice is within the screen's width, none cut off to the side.
	cells, err := chromedp.Run(bctx, chromedp.Evaluate[struct{ All, Visible int }](`(() => {
		const w = document.documentElement.clientWidth;
		const tds = [...document.querySelectorAll('td[data-label="Reason"], td[data-label="Advice"]')];
		return {All: tds.length, Visible: tds.filter(td => { const r = td.getBoundingClientRect(); return r.width > 0 && r.left >= 0 && r.right <= w + 1; }).length};
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	if cells.All == 0 || cells.Visible != cells.All {
		t.Errorf("on a 390 px phone %d of %d pause reasons and failure advice cells are within the screen; want all (and some)", cells.Visible, cells.All)
	}
	scripts, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.scripts.length`))
	if err != nil || scripts != 0 {
		t.Errorf("%d scripts in the page (%v), want none", scripts, err)
	}
	phone, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(bctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		t.Fatal(err)
	}
	desktop, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	pdf, err := chromedp.Run(bctx, chromedp.PrintToPDF())
	if err != nil || !bytes.HasPrefix(pdf, []byte("%PDF")) {
		t.Errorf("printing to PDF: %d bytes, %v", len(pdf), err)
	}
	for name, img := range map[string][]byte{"whatsend-report-phone.png": phone, "whatsend-report-desktop.png": desktop, "whatsend-report.pdf": pdf} {
		p := filepath.Join(screenshotDir(), name)
		if err := os.WriteFile(p, img, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", p)
	}

	mu.Lock()
	defer mu.Unlock()
	for _, u := range requests {
		if u != fileURL {
			t.Errorf("the page requested %s; want no request but the file itself", u)
		}
	}
	if len(requests) == 0 {
		t.Error("saw no request at all: the network listener is not working")
	}
	if len(problems) > 0 {
		t.Errorf("the browser reported:\n%s", strings.Join(problems, "\n"))
	}
}

package campaign_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/whatsend/whatsend/campaign"
	"github.com/whatsend/whatsend/sender"
	"github.com/whatsend/whatsend/sender/simulator"
)

// uploading is a defined template sender that uploads media and can fail
// its first sends with a fatal code.
type uploading struct {
	defined
	uploads   atomic.Int32
	failFirst atomic.Int32 // sends left to fail with 131042 (billing: fatal)
	refuse    error        // the upload's answer, when set

	mu      sync.Mutex
	headers []sender.Param  // the header of every send
	expired map[string]bool // media ids answered as no longer valid
	gather  chan struct{}   // when set, closed once cap(gather) sends saw an expired id
	held    int
}

func (u *uploading) UploadMedia(ctx context.Context, name, contentType string, data []byte) (string, error) {
	if u.refuse != nil {
		return "", u.refuse
	}
	n := u.uploads.Add(1)
	if contentType != "image/jpeg" || len(data) != 1000 {
		return "", fmt.Errorf("upload of %s: type %s, %d bytes; want image/jpeg, 1000 bytes", name, contentType, len(data))
	}
	return fmt.Sprintf("media-%d", n), nil
}

func (u *uploading) SendTemplate(ctx context.Context, m sender.Message) (sender.Accepted, error) {
	u.mu.Lock()
	if m.Header != nil {
		u.headers = append(u.headers, *m.Header)
	}
	expired := m.Header != nil && m.Header.MediaID != "" && u.expired[m.Header.MediaID]
	u.mu.Unlock()
	if expired && u.gather != nil {
		// Hold the refusals until several sends saw the old id at once.
		u.mu.Lock()
		if u.held++; u.held == cap(u.gather) {
			close(u.gather)
		}
		u.mu.Unlock()
		<-u.gather
	}
	if expired {
		u.sends.Add(1)
		return sender.Accepted{}, &sender.APIError{HTTPStatus: 400, Code: 100, Message: "(#100) Invalid parameter",
			Details: "Param image['id'] is not a valid whatsapp business account media attachment ID"}
	}
	if u.failFirst.Add(-1) >= 0 {
		u.sends.Add(1)
		return sender.Accepted{}, apiErr(131042)
	}
	return u.defined.SendTemplate(ctx, m)
}

func imageTemplate() sender.Template {
	t := springPromo()
	t.Name, t.Buttons = "order_update", nil
	return t
}

// TestHeaderMediaUploadedOnce: a --header-media file is uploaded before the
// first send, its id stored with the campaign, and a later run (resume)
// reuses it without uploading again.
func TestHeaderMediaUploadedOnce(t *testing.T) {
	// Fake time: the recipient the fatal answer left pending waits the
	// pair interval before the resume sends it.
	synctest.Test(t, testHeaderMediaUploadedOnce)
}

func testHeaderMediaUploadedOnce(t *testing.T) {
	e := newEnv(t, simulator.Config{MPS: 1000, Tier: -1})
	jpg := writeFile(t, "promo.jpg", 1000)
	c := e.campaign("media", phones(20, 0), campaign.Settings{HeaderMedia: jpg})
	u := &uploading{defined: defined{inner: e.client, t: imageTemplate()}}
	u.failFirst.Store(1)
	if _, err := campaign.Run(t.Context(), e.deps(u), c.ID, campaign.RunOptions{}); !errors.Is(err, campaign.ErrPaused) {
		t.Fatalf("first run: %v, want paused by the fatal answer", err)
	}
	stored, err := e.st.Campaign(t.Context(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := campaign.DecodeSettings(stored.Settings)
	if s.HeaderMediaID != "media-1" || s.HeaderMedia != jpg {
		t.Errorf("stored header media %q id %q, want %s id media-1", s.HeaderMedia, s.HeaderMediaID, jpg)
	}
	if _, err := campaign.Run(t.Context(), e.deps(u), c.ID, campaign.RunOptions{Force: true}); err != nil {
		t.Fatalf("resume: %v", err)
	}
	if n := u.uploads.Load(); n != 1 {
		t.Errorf("%d uploads over two runs, want 1", n)
	}
	if n := e.counts(c)["sent"]; n != 20 {
		t.Errorf("%d sent, want 20", n)
	}
}

// TestHeaderMediaUploadRefusedPauses: an upload Meta refuses pauses the
// campaign before any send, naming the flag.
func TestHeaderMediaUploadRefusedPauses(t *testing.T) {
	e := newEnv(t, simulator.Config{MPS: 1000, Tier: -1})
	jpg := writeFile(t, "promo.jpg", 1000)
	c := e.campaign("media", phones(3, 0), campaign.Settings{HeaderMedia: jpg})
	u := &uploading{defined: defined{inner: e.client, t: imageTemplate()}, refuse: apiErr(131053)}
	_, err := campaign.Run(t.Context(), e.deps(u), c.ID, campaign.RunOptions{})
	if !errors.Is(err, campaign.ErrPaused) || !errorContains(err, "--header-media "+jpg+": Meta refused the upload") {
		t.Errorf("run: %v, want paused naming --header-media", err)
	}
	if n := u.sends.Load(); n != 0 {
		t.Errorf("%d sends, want none", n)
	}
}

func errorContains(err error, s string) bool {
	return err != nil && strings.Contains(err.Error(), s)
}

// TestHeaderMediaReuploadedWhenExpired: every send carries the uploaded
// file's id; when Meta answers that the id is no longer valid, the file is
// uploaded again once (however many sends saw the old id at once), the
// new id stored, and the refused sends go again with it.
func TestHeaderMediaReuploadedWhenExpired(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, simulator.Config{MPS: 1000, Tier: -1})
		jpg := writeFile(t, "promo.jpg", 1000)
		c := e.campaign("media", phones(50, 0), campaign.Settings{HeaderMedia: jpg})
		u := &uploading{defined: defined{inner: e.client, t: imageTemplate()}, expired: map[string]bool{"media-1": true},
			gather: make(chan struct{}, 5)}
		if _, err := campaign.Run(t.Context(), e.deps(u), c.ID, campaign.RunOptions{}); err != nil {
			t.Fatalf("run: %v", err)
		}
		if n := u.uploads.Load(); n != 2 {
			t.Errorf("%d uploads, want 2 (the first id expired)", n)
		}
		if n := e.counts(c)["sent"]; n != 50 {
			t.Errorf("%d sent, want 50", n)
		}
		stored, _ := e.st.Campaign(t.Context(), c.ID)
		if s, _ := campaign.DecodeSettings(stored.Settings); s.HeaderMediaID != "media-2" {
			t.Errorf("stored media id %q, want media-2", s.HeaderMediaID)
		}
		for _, h := range u.headers {
			if h.Type != sender.ParamImage || h.Link != "" || (h.MediaID != "media-1" && h.MediaID != "media-2") {
				t.Fatalf("a send's header %+v, want an image by id media-1 or media-2", h)
			}
		}
	})
}

// TestHeaderMediaLink: a --header-media link is sent as a link, typed by
// the template's header, with nothing uploaded.
func TestHeaderMediaLink(t *testing.T) {
	e := newEnv(t, simulator.Config{MPS: 1000, Tier: -1})
	link := "https://cdn.example.com/spring.jpg"
	c := e.campaign("media", phones(3, 0), campaign.Settings{HeaderMedia: link})
	u := &uploading{defined: defined{inner: e.client, t: imageTemplate()}}
	deps := e.deps(u)
	deps.Prober = &fakeProber{calls: map[string]int{}, answers: map[string]sender.LinkInfo{link: {Method: "HEAD", Status: 200, ContentType: "image/jpeg", Size: 10}}}
	if _, err := campaign.Run(t.Context(), deps, c.ID, campaign.RunOptions{}); err != nil {
		t.Fatalf("run: %v", err)
	}
	if n := u.uploads.Load(); n != 0 {
		t.Errorf("%d uploads for a link, want 0", n)
	}
	if len(u.headers) != 3 {
		t.Fatalf("%d sends with a header, want 3", len(u.headers))
	}
	for _, h := range u.headers {
		if h != (sender.Param{Type: sender.ParamImage, Link: link}) {
			t.Errorf("header %+v, want the image link", h)
		}
	}
}

// noTemplates is a sender without template reads (no --waba-id) that can
// upload.
type noTemplates struct {
	campaign.Sender
	uploads atomic.Int32
}

func (n *noTemplates) UploadMedia(ctx context.Context, name, contentType string, data []byte) (string, error) {
	n.uploads.Add(1)
	return "m", nil
}

// TestHeaderMediaCheckedWithoutTemplate: without the template's definition
// the file is still held to Meta's limits for its own type.
func TestHeaderMediaCheckedWithoutTemplate(t *testing.T) {
	e := newEnv(t, simulator.Config{MPS: 1000, Tier: -1})
	big := writeFile(t, "big.png", 5<<20+1)
	c := e.campaign("media", phones(3, 0), campaign.Settings{HeaderMedia: big})
	n := &noTemplates{Sender: e.client}
	_, err := campaign.Run(t.Context(), e.deps(n), c.ID, campaign.RunOptions{})
	if !errors.Is(err, campaign.ErrPaused) || !errorContains(err, "--header-media "+big+" is 5,242,881 bytes; WhatsApp takes image/png up to 5 MB") {
		t.Errorf("run: %v, want paused naming the file's size", err)
	}
	if n.uploads.Load() != 0 || e.counts(c)["sent"] != 0 {
		t.Errorf("%d uploads, %d sent; want none", n.uploads.Load(), e.counts(c)["sent"])
	}
}

package campaign_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
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

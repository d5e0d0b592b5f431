package campaign

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/whatsend/whatsend/sender"
)

// MediaUploader is implemented by senders that can upload a header's media
// (sender.Client.UploadMedia).
type MediaUploader interface {
	UploadMedia(ctx context.Context, name, contentType string, data []byte) (string, error)
}

// headerMedia is a campaign's --header-media file and its media id. The id
// is uploaded once and stored with the campaign's settings, so every send
// and every resume reuse it; it is replaced only when Meta answers that it
// is no longer valid (media ids expire after 30 days).
type headerMedia struct {
	file     string
	mime     string
	format   string // the MediaType's header format: IMAGE, VIDEO, DOCUMENT
	uploader MediaUploader
	save     func(ctx context.Context, id string) error

	mu sync.Mutex
	id string
}

// prepareHeaderMedia uploads the --header-media file unless the campaign
// has its media id already. A link needs nothing: it is sent as it is.
func (r *runner) prepareHeaderMedia(ctx context.Context) error {
	if r.s.HeaderMedia == "" || IsLink(r.s.HeaderMedia) {
		return nil
	}
	mt, ok := sender.MediaTypeByName(r.s.HeaderMedia)
	if !ok {
		return r.pauseNow(ctx, &pauseCause{Kind: "preflight",
			Reason: fmt.Sprintf("pre-flight: --header-media %s: not a media type WhatsApp takes in a header (jpg, png, mp4, 3gp, pdf, ...)", r.s.HeaderMedia)})
	}
	up, ok := r.d.Sender.(MediaUploader)
	if !ok {
		return fmt.Errorf("campaign %s: --header-media %s: this sender cannot upload media", r.c.Name, r.s.HeaderMedia)
	}
	hm := &headerMedia{file: r.s.HeaderMedia, mime: mt.MIME, format: mt.Format, uploader: up, id: r.s.HeaderMediaID, save: r.saveMediaID}
	if hm.id == "" {
		if _, err := hm.upload(ctx, ""); err != nil {
			return r.mediaFailed(ctx, err)
		}
		r.d.Logger.Info("uploaded the header media", "campaign", r.c.Name, "file", hm.file, "media_id", hm.id)
	}
	r.s.HeaderMediaID = hm.id
	r.media = hm
	return nil
}

// mediaFailed pauses on an upload Meta refused; other failures (the file
// unreadable, the network) end the run with the error.
func (r *runner) mediaFailed(ctx context.Context, err error) error {
	if ae, ok := errors.AsType[*sender.APIError](err); ok {
		e := sender.Lookup(ae.Code)
		return r.pauseNow(ctx, &pauseCause{Kind: "preflight",
			Reason: fmt.Sprintf("pre-flight: --header-media %s: Meta refused the upload: %v", r.s.HeaderMedia, err),
			Detail: map[string]any{"code": ae.Code, "meaning": e.Meaning, "details": ae.Details}})
	}
	return fmt.Errorf("campaign %s: --header-media %s: %w", r.c.Name, r.s.HeaderMedia, err)
}

// saveMediaID stores the media id with the campaign's settings (as stored,
// without the defaults this run filled in).
func (r *runner) saveMediaID(ctx context.Context, id string) error {
	s, err := DecodeSettings(r.c.Settings)
	if err != nil {
		return err
	}
	s.HeaderMediaID = id
	b := s.Encode()
	if err := r.d.Store.UpdateSettings(context.WithoutCancel(ctx), r.c.ID, b); err != nil {
		return fmt.Errorf("campaign %s: store the header media id: %w", r.c.Name, err)
	}
	r.c.Settings = b
	return nil
}

// current returns the media id sends use.
func (h *headerMedia) current() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.id
}

// upload uploads the file and stores its id, unless the id is no longer
// stale: a send that saw stale refused passes it, and of several sends
// that saw the same id refused only the first uploads again.
func (h *headerMedia) upload(ctx context.Context, stale string) (string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.id != stale {
		return h.id, nil
	}
	data, err := os.ReadFile(h.file)
	if err != nil {
		return "", err
	}
	id, err := h.uploader.UploadMedia(ctx, h.file, h.mime, data)
	if err != nil {
		return "", err
	}
	if err := h.save(ctx, id); err != nil {
		return "", err
	}
	h.id = id
	return id, nil
}

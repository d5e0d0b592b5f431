package campaign

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
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

// headerSender gives every message the campaign's --header-media header.
// For an uploaded file, a send Meta refuses because the media id is no
// longer valid (expired after 30 days) uploads the file again, once for
// all the sends that saw that id, and is sent again: the refusal means
// Meta did not take the message.
type headerSender struct {
	Sender
	param sender.Param // the header: its type and link; the id comes from media
	media *headerMedia // nil for a link
}

func (h *headerSender) SendTemplate(ctx context.Context, m sender.Message) (sender.Accepted, error) {
	p := h.param
	if h.media != nil {
		p.MediaID = h.media.current()
	}
	m.Header = &p
	acc, err := h.Sender.SendTemplate(ctx, m)
	if h.media == nil || !sender.MediaIDInvalid(err) {
		return acc, err
	}
	id, uerr := h.media.upload(ctx, p.MediaID)
	if uerr != nil {
		return acc, err // the send's own answer stands
	}
	again := p
	again.MediaID = id
	m.Header = &again
	return h.Sender.SendTemplate(ctx, m)
}

// paramType is a header format's parameter type in a send.
func paramType(format string) string {
	switch format {
	case sender.HeaderVideo, sender.HeaderGIF:
		return sender.ParamVideo
	case sender.HeaderDocument:
		return sender.ParamDocument
	}
	return sender.ParamImage
}

// prepareHeaderMedia makes the --header-media header every send carries:
// a link as it is, a file by its media id, uploaded unless the campaign
// has it already.
func (r *runner) prepareHeaderMedia(ctx context.Context) error {
	if r.s.HeaderMedia == "" {
		return nil
	}
	if IsLink(r.s.HeaderMedia) {
		// The template's header says the type; without it, the link's name.
		format := sender.HeaderImage
		if h := r.tpl.def.Header; h != nil {
			format = h.Format
		} else if mt, ok := sender.MediaTypeByName(linkPath(r.s.HeaderMedia)); ok {
			format = mt.Format
		}
		p := sender.Param{Type: paramType(format), Link: r.s.HeaderMedia}
		if p.Type == sender.ParamDocument {
			p.Filename = filepath.Base(linkPath(r.s.HeaderMedia))
		}
		r.num.send = &headerSender{Sender: r.num.send, param: p}
		return nil
	}
	mt, ok := sender.MediaTypeByName(r.s.HeaderMedia)
	if !ok {
		return r.pauseNow(ctx, &pauseCause{Kind: "preflight",
			Reason: fmt.Sprintf("pre-flight: --header-media %s: not a media type WhatsApp takes in a header (jpg, png, mp4, 3gp, pdf, ...)", r.s.HeaderMedia)})
	}
	if r.tpl.def.Header == nil {
		// The template was not read (no --waba-id): the file is still
		// checked against Meta's limits for its own type.
		t := sender.Template{Name: r.s.Template, Header: &sender.TemplateHeader{Format: mt.Format, ParamCount: 1}}
		if ps := headerFileProblems(t, r.s.HeaderMedia); len(ps) > 0 {
			return r.pauseNow(ctx, &pauseCause{Kind: "preflight", Reason: "pre-flight: " + strings.Join(ps, "; ")})
		}
	}
	up, ok := r.num.send.(MediaUploader)
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
	p := sender.Param{Type: paramType(mt.Format)}
	if p.Type == sender.ParamDocument {
		p.Filename = filepath.Base(hm.file)
	}
	r.num.send = &headerSender{Sender: r.num.send, param: p, media: hm}
	return nil
}

// linkPath is a link's path, for its file name and extension.
func linkPath(link string) string {
	if u, err := url.Parse(link); err == nil {
		return u.Path
	}
	return link
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

package sender_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/whatsend/whatsend/sender"
)

// TestUploadMedia posts the file as Meta's "Upload media" asks: multipart
// with messaging_product, type and file, to /{phone-number-id}/media.
func TestUploadMedia(t *testing.T) {
	var got struct {
		path, auth, product, typ, filename, fileType, body string
	}
	ts := server(t, func(w http.ResponseWriter, r *http.Request) {
		got.path, got.auth = r.URL.Path, r.Header.Get("Authorization")
		if err := r.ParseMultipartForm(1 << 20); err != nil {
			t.Errorf("not a multipart body: %v", err)
			return
		}
		got.product, got.typ = r.FormValue("messaging_product"), r.FormValue("type")
		f, h, err := r.FormFile("file")
		if err != nil {
			t.Errorf("no file part: %v", err)
			return
		}
		b, _ := io.ReadAll(f)
		got.filename, got.fileType, got.body = h.Filename, h.Header.Get("Content-Type"), string(b)
		io.WriteString(w, `{"id":"1037543291543636"}`)
	})
	id, err := newClient(t, ts.URL).UploadMedia(t.Context(), "/tmp/x/promo.jpg", "image/jpeg", []byte("JPEGDATA"))
	if err != nil {
		t.Fatal(err)
	}
	if id != "1037543291543636" {
		t.Errorf("id %q, want 1037543291543636", id)
	}
	want := "/v24.0/" + phoneID + "/media"
	if got.path != want || got.auth != "Bearer "+testToken || got.product != "whatsapp" || got.typ != "image/jpeg" ||
		got.filename != "promo.jpg" || got.fileType != "image/jpeg" || got.body != "JPEGDATA" {
		t.Errorf("upload request %+v, want path %s, the token, messaging_product whatsapp, type image/jpeg, file promo.jpg JPEGDATA", got, want)
	}

	refuse := server(t, func(w http.ResponseWriter, r *http.Request) {
		graphError(w, 400, `{"error":{"message":"(#131053) Media upload error","type":"OAuthException","code":131053,"error_data":{"details":"Unsupported file type"}}}`)
	})
	_, err = newClient(t, refuse.URL).UploadMedia(t.Context(), "a.jpg", "image/jpeg", []byte("x"))
	if ae, ok := errors.AsType[*sender.APIError](err); !ok || ae.Code != 131053 {
		t.Errorf("refused upload: err %v, want an APIError 131053", err)
	}
}

func TestMediaTypes(t *testing.T) {
	for _, tt := range []struct {
		in, format string
		max        int64
		ok         bool
	}{
		{"image/jpeg", sender.HeaderImage, 5 << 20, true},
		{"image/png; charset=binary", sender.HeaderImage, 5 << 20, true},
		{"video/mp4", sender.HeaderVideo, 16 << 20, true},
		{"video/3gp", sender.HeaderVideo, 16 << 20, true},
		{"application/pdf", sender.HeaderDocument, 100 << 20, true},
		{"image/gif", "", 0, false},
		{"text/html; charset=utf-8", "", 0, false},
		{"", "", 0, false},
	} {
		mt, ok := sender.MediaTypeOf(tt.in)
		if ok != tt.ok || mt.Format != tt.format || mt.MaxBytes != tt.max {
			t.Errorf("MediaTypeOf(%q) = %+v, %v; want format %q max %d, %v", tt.in, mt, ok, tt.format, tt.max, tt.ok)
		}
	}
	for _, tt := range []struct{ name, mime string }{
		{"promo.jpg", "image/jpeg"}, {"PROMO.JPEG", "image/jpeg"}, {"a/b.mp4", "video/mp4"}, {"x.pdf", "application/pdf"}, {"x.gif", ""}, {"noext", ""},
	} {
		if mt, _ := sender.MediaTypeByName(tt.name); mt.MIME != tt.mime {
			t.Errorf("MediaTypeByName(%q) = %q, want %q", tt.name, mt.MIME, tt.mime)
		}
	}
	jpg, _ := sender.MediaTypeByName("a.jpg")
	mp4, _ := sender.MediaTypeByName("a.mp4")
	if jpg.Fills(sender.HeaderVideo) || !jpg.Fills(sender.HeaderImage) || !mp4.Fills(sender.HeaderGIF) || jpg.Fills(sender.HeaderGIF) {
		t.Error("Fills: a jpg fills IMAGE only; an mp4 fills VIDEO and GIF")
	}
	if got := sender.MediaKinds(sender.HeaderVideo); got != "mp4 or 3gp" {
		t.Errorf("MediaKinds(VIDEO) = %q", got)
	}
}

// TestProbe: HEAD first, GET when HEAD is refused, no credential sent, a
// bounded wait.
func TestProbe(t *testing.T) {
	var methods atomic.Value
	ts := server(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			t.Error("the probe sent an Authorization header")
		}
		switch r.URL.Path {
		case "/head.jpg":
			w.Header().Set("Content-Type", "image/jpeg")
			w.Header().Set("Content-Length", "1234")
		case "/nohead.mp4":
			methods.Store(methods.Load().(string) + r.Method)
			if r.Method == http.MethodHead {
				w.WriteHeader(http.StatusMethodNotAllowed)
				return
			}
			w.Header().Set("Content-Type", "video/mp4")
			w.Header().Set("Content-Length", "99")
			w.Write(make([]byte, 99))
		case "/slow":
			<-r.Context().Done()
		default:
			http.NotFound(w, r)
		}
	})
	methods.Store("")
	p := sender.Prober{Timeout: 200 * time.Millisecond}
	info, err := p.Probe(t.Context(), ts.URL+"/head.jpg")
	if err != nil || info.Method != "HEAD" || info.Status != 200 || info.ContentType != "image/jpeg" || info.Size != 1234 {
		t.Errorf("head.jpg: %+v, %v", info, err)
	}
	info, err = p.Probe(t.Context(), ts.URL+"/nohead.mp4")
	if err != nil || info.Method != "GET" || info.ContentType != "video/mp4" || info.Size != 99 || methods.Load() != "HEADGET" {
		t.Errorf("nohead.mp4: %+v, %v, methods %v; want HEAD then GET", info, err, methods.Load())
	}
	if info, err := p.Probe(t.Context(), ts.URL+"/missing"); err != nil || info.Status != 404 {
		t.Errorf("missing: %+v, %v; want status 404", info, err)
	}
	if _, err := p.Probe(t.Context(), ts.URL+"/slow"); err == nil || !strings.Contains(err.Error(), "no answer in time") {
		t.Errorf("slow: err %v, want no answer in time", err)
	}
	if _, err := p.Probe(t.Context(), "ftp://example.com/a.jpg"); err == nil {
		t.Error("ftp link: no error")
	}
}

func TestMediaIDInvalid(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{&sender.APIError{Code: 100, Message: "(#100) Param image['id'] is not a valid whatsapp business account media attachment ID"}, true},
		{&sender.APIError{Code: 100, Message: "(#100) Invalid parameter", Details: "Param video['id'] is not a valid WhatsApp Business Account media attachment ID"}, true},
		{&sender.APIError{Code: 100, Message: "(#100) Invalid parameter", Details: "Parameter 'text' is mandatory for component parameter type 'text'"}, false},
		{&sender.APIError{Code: 131053, Message: "(#131053) Media upload error"}, false},
		{errors.New("not a valid whatsapp business account media attachment id"), false},
		{nil, false},
	} {
		if got := sender.MediaIDInvalid(tt.err); got != tt.want {
			t.Errorf("MediaIDInvalid(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

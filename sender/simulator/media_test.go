package simulator_test

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/whatsend/whatsend/sender/simulator"
)

const mediaPath = "/v24.0/" + simulator.DefaultPhoneNumberID + "/media"

// uploadForm is a media upload as Meta's docs show it: messaging_product
// and file, the file part carrying its content type. An empty product or
// fileType leaves that part out.
func uploadForm(t *testing.T, product, fileType string, size int) (body, contentType string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	if product != "" {
		mw.WriteField("messaging_product", product)
	}
	if fileType != "" {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="file"; filename="promo"`)
		h.Set("Content-Type", fileType)
		w, err := mw.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(bytes.Repeat([]byte{0xff}, size))
	}
	mw.Close()
	return b.String(), mw.FormDataContentType()
}

type uploadAnswer struct {
	status           int
	id               string
	code             int
	message, details string
}

func postUpload(t *testing.T, s *simulator.Sim, body, contentType string) uploadAnswer {
	t.Helper()
	req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, mediaPath, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+simulator.DefaultToken)
	req.Header.Set("Content-Type", contentType)
	w := httptest.NewRecorder()
	s.ServeHTTP(w, req)
	var out struct {
		ID    string `json:"id"`
		Error *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
			Data    struct {
				Details string `json:"details"`
			} `json:"error_data"`
		} `json:"error"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		t.Fatalf("upload answer %q: %v", w.Body, err)
	}
	a := uploadAnswer{status: w.Code, id: out.ID}
	if out.Error != nil {
		a.code, a.message, a.details = out.Error.Code, out.Error.Message, out.Error.Data.Details
	}
	return a
}

func mustUpload(t *testing.T, s *simulator.Sim, fileType string) string {
	t.Helper()
	body, ct := uploadForm(t, "whatsapp", fileType, 1000)
	a := postUpload(t, s, body, ct)
	if a.status != http.StatusOK || a.id == "" {
		t.Fatalf("upload %s: HTTP %d code %d %s", fileType, a.status, a.code, a.details)
	}
	return a.id
}

func promoByID(id string) string {
	return jsonList(`{"type":"header","parameters":[{"type":"image","image":{"id":"`+id+`"}}]}`, promoBody, shopButton)
}

// TestMediaUpload: Meta's types and size limits, the required fields, and
// an id that a send can use; /_sim/stats counts the uploads.
func TestMediaUpload(t *testing.T) {
	s := simulator.New(simulator.Config{Latency: -1})
	for _, tt := range []struct {
		name, product, fileType string
		size                    int
		code                    int
		text                    string // in the message or details
	}{
		{"jpeg", "whatsapp", "image/jpeg", 1000, 0, ""},
		{"png at the 5 MB limit", "whatsapp", "image/png", 5 << 20, 0, ""},
		{"pdf", "whatsapp", "application/pdf", 1000, 0, ""},
		{"mp4", "whatsapp", "video/mp4", 1000, 0, ""},
		{"jpeg over 5 MB", "whatsapp", "image/jpeg", 5<<20 + 1, 131053, "image/jpeg files take at most 5242880"},
		{"webp sticker over 500 KB", "whatsapp", "image/webp", 500<<10 + 1, 131053, "at most 512000"},
		{"quicktime", "whatsapp", "video/quicktime", 1000, 100, "Param file must be a file with one of the following types: "},
		{"empty file", "whatsapp", "image/jpeg", 0, 131053, "the file is empty"},
		{"no messaging_product", "", "image/jpeg", 1000, 131008, "messaging_product is required"},
		{"wrong messaging_product", "sms", "image/jpeg", 1000, 100, `messaging_product must be "whatsapp"`},
		{"no file", "whatsapp", "", 0, 131008, "file is required"},
	} {
		body, ct := uploadForm(t, tt.product, tt.fileType, tt.size)
		a := postUpload(t, s, body, ct)
		if tt.code == 0 {
			if a.status != http.StatusOK || a.id == "" {
				t.Errorf("%s: HTTP %d code %d %s, want an id", tt.name, a.status, a.code, a.details)
			}
			continue
		}
		if a.status != http.StatusBadRequest || a.code != tt.code || !strings.Contains(a.message+" "+a.details, tt.text) {
			t.Errorf("%s: HTTP %d code %d %q %q, want 400 code %d with %q", tt.name, a.status, a.code, a.message, a.details, tt.code, tt.text)
		}
	}
	if a := postUpload(t, s, "not multipart", "application/json"); a.code != 100 {
		t.Errorf("JSON body: code %d, want 100", a.code)
	}
	if got := s.Stats().Uploads; got != 4 {
		t.Errorf("Stats().Uploads = %d, want the 4 accepted uploads", got)
	}
	if got := stats(t, s); !strings.Contains(got, `"uploads":4`) {
		t.Errorf("/_sim/stats %s, want \"uploads\":4", got)
	}

	id := mustUpload(t, s, "image/jpeg")
	if a := sendRaw(t, s, templateSend(phone(1), "spring_promo", "en_US", promoByID(id))); a.wamid == "" {
		t.Errorf("send by uploaded id %s: code %d %s, want accepted", id, a.code, a.details)
	}
	// An id holds one kind of media.
	video := mustUpload(t, s, "video/mp4")
	if a := sendRaw(t, s, templateSend(phone(2), "spring_promo", "en_US", promoByID(video))); a.code != 131053 || a.details != "media id "+video+" holds video/mp4, not an image" {
		t.Errorf("a video's id in an image header: code %d %q, want 131053", a.code, a.details)
	}
	// Ids are the simulator's own, per number.
	other := "/v24.0/199999999999999/media"
	body, ct := uploadForm(t, "whatsapp", "image/jpeg", 10)
	req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, other, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+simulator.DefaultToken)
	req.Header.Set("Content-Type", ct)
	w := httptest.NewRecorder()
	s.ServeHTTP(w, req)
	if w.Code != http.StatusBadRequest {
		t.Errorf("upload to another number: HTTP %d, want 400", w.Code)
	}
}

// TestMediaIDExpires: an uploaded id lasts MediaTTL on the simulator's
// clock; a send with an expired id gets Meta's answer for an id it does
// not know, and a new upload gives a fresh id that works.
func TestMediaIDExpires(t *testing.T) {
	for _, tt := range []struct {
		name string
		ttl  time.Duration
	}{
		{"Meta's 30 days", 0},
		{"--media-ttl 1h", time.Hour},
	} {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
			s := simulator.New(simulator.Config{Latency: -1, MediaTTL: tt.ttl, Now: func() time.Time { return start }})
			ttl := tt.ttl
			if ttl == 0 {
				ttl = simulator.DefaultMediaTTL
			}
			id := mustUpload(t, s, "image/jpeg")
			mustControl(t, s, `{"advance":"`+(ttl-time.Second).String()+`"}`)
			if a := sendRaw(t, s, templateSend(phone(1), "spring_promo", "en_US", promoByID(id))); a.wamid == "" {
				t.Fatalf("a second before expiry: code %d %s, want accepted", a.code, a.details)
			}
			mustControl(t, s, `{"advance":"1s"}`)
			a := sendRaw(t, s, templateSend(phone(2), "spring_promo", "en_US", promoByID(id)))
			if a.status != http.StatusBadRequest || a.code != 100 || a.details != "Param image['id'] is not a valid whatsapp business account media attachment ID" {
				t.Errorf("expired id: HTTP %d code %d %q, want 400 code 100 not a valid … media attachment ID", a.status, a.code, a.details)
			}
			fresh := mustUpload(t, s, "image/jpeg")
			if fresh == id {
				t.Fatalf("re-upload returned the expired id %s", id)
			}
			if a := sendRaw(t, s, templateSend(phone(3), "spring_promo", "en_US", promoByID(fresh))); a.wamid == "" {
				t.Errorf("send with the re-uploaded id: code %d %s, want accepted", a.code, a.details)
			}
			if got := s.Stats().Uploads; got != 2 {
				t.Errorf("uploads %d, want 2", got)
			}
		})
	}
}

// TestMediaUploadInProcess: the in-process Transport (--simulate) takes an
// upload as the HTTP server does.
func TestMediaUploadInProcess(t *testing.T) {
	s := simulator.New(simulator.Config{Latency: -1})
	body, ct := uploadForm(t, "whatsapp", "image/png", 2048)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, "https://graph.facebook.com"+mediaPath, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+simulator.DefaultToken)
	req.Header.Set("Content-Type", ct)
	resp, err := (&http.Client{Transport: s.Transport()}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		ID string `json:"id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 || out.ID == "" {
		t.Fatalf("upload in process: HTTP %d id %q err %v", resp.StatusCode, out.ID, err)
	}
	if a := sendRaw(t, s, templateSend(phone(1), "spring_promo", "en_US", promoByID(out.ID))); a.wamid == "" {
		t.Errorf("send by the id: code %d %s", a.code, a.details)
	}
	if got := s.Stats().Uploads; got != 1 {
		t.Errorf("uploads %d, want exactly 1", got)
	}
}

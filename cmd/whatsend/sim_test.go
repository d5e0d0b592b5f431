package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// simTemplatesFile is a message_templates answer with one template: an
// IMAGE header, a body of one parameter, a dynamic URL button.
const simTemplatesFile = `{"data":[{"name":"flash_sale","language":"en_US","status":"APPROVED","category":"MARKETING",
 "parameter_format":"POSITIONAL","components":[{"type":"HEADER","format":"IMAGE"},{"type":"BODY","text":"Hi {{1}}!"},
 {"type":"BUTTONS","buttons":[{"type":"URL","text":"Shop","url":"https://shop.example.com/s/{{1}}"}]}]}]}`

// simCall makes one authorised Cloud API call to the simulator.
func simCall(t *testing.T, sim *simProc, method, path, contentType string, body io.Reader) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, sim.url+"/v24.0/"+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer sim-token")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp.StatusCode, out
}

// TestSimTemplatesFile: `whatsend sim --templates-file` lists the file's
// templates with their components, checks sends against them, and media
// uploaded to it expire after --media-ttl.
func TestSimTemplatesFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "templates.json")
	if err := os.WriteFile(file, []byte(simTemplatesFile), 0o600); err != nil {
		t.Fatal(err)
	}
	sim := startSim(t, "--templates-file", file, "--media-ttl", "1h", "--latency", "0")

	code, l := simCall(t, sim, http.MethodGet, "300000000000001/message_templates?fields=name,components", "", nil)
	data, _ := l["data"].([]any)
	if code != 200 || len(data) != 1 {
		t.Fatalf("listing: HTTP %d %v, want flash_sale alone", code, l)
	}
	got, _ := json.Marshal(data[0].(map[string]any)["components"])
	if want := `[{"format":"IMAGE","type":"HEADER"},{"text":"Hi {{1}}!","type":"BODY"},{"buttons":[{"text":"Shop","type":"URL","url":"https://shop.example.com/s/{{1}}"}],"type":"BUTTONS"}]`; string(got) != want {
		t.Errorf("components\n got %s\nwant %s", got, want)
	}

	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	mw.WriteField("messaging_product", "whatsapp")
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="file"; filename="sale.jpg"`)
	h.Set("Content-Type", "image/jpeg")
	w, _ := mw.CreatePart(h)
	w.Write([]byte("\xff\xd8\xff jpeg"))
	mw.Close()
	code, up := simCall(t, sim, http.MethodPost, "100000000000001/media", mw.FormDataContentType(), &form)
	id, _ := up["id"].(string)
	if code != 200 || id == "" {
		t.Fatalf("upload: HTTP %d %v", code, up)
	}
	sendWith := func(to, header string) (int, map[string]any) {
		body := `{"messaging_product":"whatsapp","to":"` + to + `","type":"template","template":{"name":"flash_sale","language":{"code":"en_US"},"components":[` +
			header + `,{"type":"body","parameters":[{"type":"text","text":"Ana"}]},{"type":"button","sub_type":"url","index":"0","parameters":[{"type":"text","text":"ana"}]}]}}`
		return simCall(t, sim, http.MethodPost, "100000000000001/messages", "application/json", strings.NewReader(body))
	}
	byID := `{"type":"header","parameters":[{"type":"image","image":{"id":"` + id + `"}}]}`
	if code, out := sendWith("+5511987650001", byID); code != 200 {
		t.Errorf("send by id: HTTP %d %v, want accepted", code, out)
	}
	if code, out := sendWith("+5511987650002", `{"type":"header","parameters":[{"type":"video","video":{"link":"https://shop.example.com/v.mp4"}}]}`); code != 400 ||
		out["error"].(map[string]any)["code"] != float64(132012) {
		t.Errorf("video for an image header: HTTP %d %v, want 132012", code, out)
	}
	sim.control(t, `{"advance":"1h"}`)
	if code, out := sendWith("+5511987650003", byID); code != 400 || out["error"].(map[string]any)["code"] != float64(100) {
		t.Errorf("send by an id an hour old: HTTP %d %v, want 100", code, out)
	}

	var st simStats
	sim.getJSON(t, "/_sim/stats", &st)
	var msgs struct {
		Messages []struct {
			Template json.RawMessage `json:"template"`
		} `json:"messages"`
	}
	sim.getJSON(t, "/_sim/messages", &msgs)
	if st.Accepted != 1 || len(msgs.Messages) != 1 || !bytes.Contains(msgs.Messages[0].Template, []byte(`"id":"`+id+`"`)) {
		t.Errorf("accepted %d, messages %s: want the one send by id, its template as sent", st.Accepted, msgs.Messages)
	}
	var uploads struct {
		Uploads int `json:"uploads"`
	}
	sim.getJSON(t, "/_sim/stats", &uploads)
	if uploads.Uploads != 1 {
		t.Errorf("uploads %d, want 1", uploads.Uploads)
	}
}

// TestSimTemplatesFileRefused: a bad --templates-file is refused at start
// (exit 2) naming the file and the entry.
func TestSimTemplatesFileRefused(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"data":[{"name":"promo","language":"en_US","components":[{"type":"HEADER","format":"GIF"},{"type":"BODY","text":"Hi"}]}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"bad entry", []string{"--templates-file", bad}, `--templates-file ` + bad + `: data[0] ("promo" "en_US"): components[0] (HEADER): format "GIF"`},
		{"missing file", []string{"--templates-file", filepath.Join(dir, "none.json")}, "--templates-file: open " + filepath.Join(dir, "none.json")},
		{"media ttl", []string{"--media-ttl", "0s"}, "--media-ttl 0s: want a positive duration"},
	} {
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		cmd := exec.CommandContext(ctx, whatsendBin(t), append([]string{"sim", "--addr", "127.0.0.1:0"}, tt.args...)...)
		cmd.Env = append(os.Environ(), "WHATSEND_DB="+filepath.Join(dir, "unused.db"))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		cancel()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(stderr.String(), tt.want) {
			t.Errorf("%s: %v, stderr %q; want exit 2 and %q", tt.name, err, stderr.String(), tt.want)
		}
	}
}

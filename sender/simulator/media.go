package simulator

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// DefaultMediaTTL is how long an uploaded media id lasts: "Media IDs
// returned by the API expire after 30 days" (Meta, "Media";
// docs/cloud-api-notes.md).
const DefaultMediaTTL = 30 * 24 * time.Hour

// MB is a megabyte as Meta's media limits count it.
const MB = 1 << 20

// MediaTypes are the types the media endpoint accepts and the size limit
// of each (Meta, "Supported media types"; docs/cloud-api-notes.md).
var MediaTypes = map[string]int64{
	"audio/aac": 16 * MB, "audio/amr": 16 * MB, "audio/mpeg": 16 * MB, "audio/mp4": 16 * MB, "audio/ogg": 16 * MB,
	"text/plain": 100 * MB, "application/pdf": 100 * MB,
	"application/vnd.ms-excel": 100 * MB, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": 100 * MB,
	"application/msword": 100 * MB, "application/vnd.openxmlformats-officedocument.wordprocessingml.document": 100 * MB,
	"application/vnd.ms-powerpoint": 100 * MB, "application/vnd.openxmlformats-officedocument.presentationml.presentation": 100 * MB,
	"image/jpeg": 5 * MB, "image/png": 5 * MB, "image/webp": 500 << 10,
	"video/mp4": 16 * MB, "video/3gpp": 16 * MB,
}

// upload is one uploaded media file.
type upload struct {
	mimeType string
	size     int64
	at       time.Time
}

// mediaValid reports whether id is a media id this simulator issued that
// has not expired at now. The caller holds s.mu.
func (s *Sim) mediaValid(id string, now time.Time) bool {
	u, ok := s.media[id]
	return ok && now.Sub(u.at) < s.cfg.MediaTTL
}

// upload serves POST /{phone-number-id}/media: multipart/form-data with
// messaging_product=whatsapp and file (its part's Content-Type is the
// media's type), answered {"id":"…"}.
func (s *Sim) upload(w http.ResponseWriter, r *http.Request) {
	code, status, title, details := s.readUpload(w, r)
	if code != 0 {
		s.count(code)
		writeError(w, code, status, title, details)
		return
	}
	writeJSON(w, map[string]any{"id": details})
}

// readUpload reads and records an upload; on success code is 0 and
// details the new id.
func (s *Sim) readUpload(w http.ResponseWriter, r *http.Request) (code, status int, title, details string) {
	ct, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || ct != "multipart/form-data" || params["boundary"] == "" {
		return 100, 400, "Invalid parameter", "the upload must be multipart/form-data"
	}
	// The largest file Meta takes, and room for the other fields.
	mr := multipart.NewReader(http.MaxBytesReader(w, r.Body, 100*MB+1<<20), params["boundary"])
	var product, fileType, typeField string
	var size int64
	sawFile := false
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 100, 400, "Invalid parameter", "the upload is not readable multipart/form-data: " + err.Error()
		}
		switch part.FormName() {
		case "messaging_product":
			b, _ := io.ReadAll(io.LimitReader(part, 64))
			product = strings.TrimSpace(string(b))
		case "type":
			b, _ := io.ReadAll(io.LimitReader(part, 256))
			typeField = strings.TrimSpace(string(b))
		case "file":
			sawFile = true
			fileType, _, _ = mime.ParseMediaType(part.Header.Get("Content-Type"))
			n, err := io.Copy(io.Discard, part)
			if err != nil {
				return 100, 400, "Invalid parameter", "the file could not be read: " + err.Error()
			}
			size = n
		}
		part.Close()
	}
	switch {
	case product == "":
		return 131008, 400, metaTitles[131008], "messaging_product is required"
	case product != "whatsapp":
		return 100, 400, "Invalid parameter", `messaging_product must be "whatsapp"`
	case !sawFile:
		return 131008, 400, metaTitles[131008], "file is required"
	}
	if fileType == "" || fileType == "application/octet-stream" {
		fileType = typeField // a client that sends the type as a field only
	}
	limit, ok := MediaTypes[fileType]
	if !ok {
		return 100, 400, "Param file must be a file with one of the following types: " + strings.Join(mediaTypeList(), ", ") +
			". Received file of type '" + fileType + "'.", "unsupported media type " + strconv.Quote(fileType)
	}
	if size == 0 {
		return 131053, 400, "Media upload error", "the file is empty"
	}
	if size > limit {
		return 131053, 400, "Media upload error", fmt.Sprintf("the file has %d bytes; %s files take at most %d", size, fileType, limit)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mediaSeq++ // apart from seq, so wamids do not move with uploads
	id := fmt.Sprintf("%d", 4000000000000000+s.mediaSeq)
	s.media[id] = upload{mimeType: fileType, size: size, at: s.now()}
	s.stats.Uploads++
	return 0, 0, "", id
}

func mediaTypeList() []string {
	out := make([]string, 0, len(MediaTypes))
	for t := range MediaTypes {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

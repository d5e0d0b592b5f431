package sender

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"path/filepath"
	"strings"
)

// MediaType is a media type WhatsApp accepts in a template header, with
// the header format it fills and Meta's size limit ("Supported media
// types", docs/cloud-api-notes.md).
type MediaType struct {
	MIME     string
	Exts     []string // file extensions, lower case with the dot
	Format   string   // the header format it fills: IMAGE, VIDEO, DOCUMENT
	MaxBytes int64
}

const mb = 1 << 20

// mediaTypes are the header media types: images 5 MB, videos 16 MB,
// documents 100 MB. Stickers and audio are not header media.
var mediaTypes = []MediaType{
	{"image/jpeg", []string{".jpg", ".jpeg"}, HeaderImage, 5 * mb},
	{"image/png", []string{".png"}, HeaderImage, 5 * mb},
	{"video/mp4", []string{".mp4"}, HeaderVideo, 16 * mb},
	{"video/3gpp", []string{".3gp"}, HeaderVideo, 16 * mb},
	{"application/pdf", []string{".pdf"}, HeaderDocument, 100 * mb},
	{"text/plain", []string{".txt"}, HeaderDocument, 100 * mb},
	{"application/msword", []string{".doc"}, HeaderDocument, 100 * mb},
	{"application/vnd.openxmlformats-officedocument.wordprocessingml.document", []string{".docx"}, HeaderDocument, 100 * mb},
	{"application/vnd.ms-excel", []string{".xls"}, HeaderDocument, 100 * mb},
	{"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", []string{".xlsx"}, HeaderDocument, 100 * mb},
	{"application/vnd.ms-powerpoint", []string{".ppt"}, HeaderDocument, 100 * mb},
	{"application/vnd.openxmlformats-officedocument.presentationml.presentation", []string{".pptx"}, HeaderDocument, 100 * mb},
}

// MediaTypeOf returns the header media type of a Content-Type value
// (parameters such as a charset are ignored; video/3gp is read as
// video/3gpp, the name Meta's table also uses).
func MediaTypeOf(contentType string) (MediaType, bool) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return MediaType{}, false
	}
	if mt == "video/3gp" {
		mt = "video/3gpp"
	}
	for _, t := range mediaTypes {
		if t.MIME == mt {
			return t, true
		}
	}
	return MediaType{}, false
}

// MediaTypeByName returns the header media type of a file name by its
// extension.
func MediaTypeByName(name string) (MediaType, bool) {
	ext := strings.ToLower(filepath.Ext(name))
	for _, t := range mediaTypes {
		for _, e := range t.Exts {
			if e == ext {
				return t, true
			}
		}
	}
	return MediaType{}, false
}

// MediaKinds lists, for a header format, the file extensions that fill it,
// for a message telling the user what to give.
func MediaKinds(format string) string {
	if format == HeaderGIF {
		format = HeaderVideo // a GIF header is sent as an mp4 video
	}
	var exts []string
	for _, t := range mediaTypes {
		if t.Format == format {
			for _, e := range t.Exts {
				exts = append(exts, strings.TrimPrefix(e, "."))
			}
		}
	}
	if len(exts) < 2 {
		return strings.Join(exts, "")
	}
	return strings.Join(exts[:len(exts)-1], ", ") + " or " + exts[len(exts)-1]
}

// Fills reports whether media of this type can fill a header of the format.
func (t MediaType) Fills(format string) bool {
	return t.Format == format || (format == HeaderGIF && t.MIME == "video/mp4")
}

// UploadMedia uploads a file through POST /{phone-number-id}/media
// (multipart: messaging_product, type, file; Meta, "Upload media") and
// returns the media id a send can use instead of a link. Meta keeps an
// uploaded file 30 days.
func (c *Client) UploadMedia(ctx context.Context, name, contentType string, data []byte) (string, error) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	_ = w.WriteField("messaging_product", "whatsapp")
	_ = w.WriteField("type", contentType)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename=%q`, filepath.Base(name)))
	h.Set("Content-Type", contentType)
	part, err := w.CreatePart(h)
	if err != nil {
		return "", err
	}
	if _, err := part.Write(data); err != nil {
		return "", err
	}
	if err := w.Close(); err != nil {
		return "", err
	}
	var out struct {
		ID string `json:"id"`
	}
	u := c.base + "/" + url.PathEscape(c.cfg.PhoneNumberID) + "/media"
	if err := c.doType(ctx, "upload", http.MethodPost, u, buf.Bytes(), w.FormDataContentType(), nil, &out); err != nil {
		return "", err
	}
	if out.ID == "" {
		return "", &TransportError{Op: "upload", MayHaveReached: true, HTTPStatus: 200, Err: errors.New("answer without a media id")}
	}
	return c.redactor.redact(out.ID), nil
}

// MediaIDInvalid reports whether a send was refused because its media id
// is unknown or expired (ids last 30 days): Meta answers code 100 with
// "Param image['id'] is not a valid whatsapp business account media
// attachment ID" (docs/cloud-api-notes.md). Code 100 is Meta's generic
// "Invalid parameter", so only this text tells the case apart; it is
// looked for in the message and the details.
func MediaIDInvalid(err error) bool {
	ae, ok := errors.AsType[*APIError](err)
	if !ok || ae.Code != 100 {
		return false
	}
	const text = "not a valid whatsapp business account media attachment id"
	return strings.Contains(strings.ToLower(ae.Message), text) || strings.Contains(strings.ToLower(ae.Details), text)
}

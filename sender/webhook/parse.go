// Package webhook receives Meta's signed WhatsApp webhooks: delivery
// statuses, inbound messages and opt-outs (cloud-api.md §5). Each POST is
// verified, recorded durably with what it says, and only then answered 200.
package webhook

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/whatsend/whatsend/sender"
	"github.com/whatsend/whatsend/store"
)

// DefaultOptOutKeywords are the inbound texts that add the sender to the
// opt-out list (compared trimmed and case-insensitively).
var DefaultOptOutKeywords = []string{"STOP", "UNSUBSCRIBE", "PARAR", "SAIR", "BAJA", "CANCELAR"}

// envelope is the part of Meta's payload whatsend reads.
type envelope struct {
	Object string `json:"object"`
	Entry  []struct {
		ID      string `json:"id"`
		Changes []struct {
			Field string `json:"field"`
			Value struct {
				Statuses []struct {
					ID        string `json:"id"`
					Status    string `json:"status"`
					Timestamp string `json:"timestamp"`
					Recipient string `json:"recipient_id"`
					UserID    string `json:"recipient_user_id"`
					Callback  string `json:"biz_opaque_callback_data"`
					Errors    []struct {
						Code      int    `json:"code"`
						Title     string `json:"title"`
						Message   string `json:"message"`
						ErrorData struct {
							Details string `json:"details"`
						} `json:"error_data"`
					} `json:"errors"`
				} `json:"statuses"`
				Contacts []struct {
					WAID   string `json:"wa_id"`
					UserID string `json:"user_id"`
				} `json:"contacts"`
				Messages []struct {
					From      string `json:"from"`
					UserID    string `json:"from_user_id"`
					ID        string `json:"id"`
					Timestamp string `json:"timestamp"`
					Type      string `json:"type"`
					Context   struct {
						ID string `json:"id"`
					} `json:"context"`
					Text struct {
						Body string `json:"body"`
					} `json:"text"`
					Button struct {
						Text    string `json:"text"`
						Payload string `json:"payload"`
					} `json:"button"`
					Interactive struct {
						ButtonReply struct {
							ID    string `json:"id"`
							Title string `json:"title"`
						} `json:"button_reply"`
						ListReply struct {
							ID    string `json:"id"`
							Title string `json:"title"`
						} `json:"list_reply"`
					} `json:"interactive"`
				} `json:"messages"`
				Preferences []struct {
					WAID     string `json:"wa_id"`
					UserID   string `json:"user_id"`
					Category string `json:"category"`
					Value    string `json:"value"`
				} `json:"user_preferences"`
			} `json:"value"`
		} `json:"changes"`
	} `json:"entry"`
}

// notification is a store.Notification being parsed.
type notification struct{ store.Notification }

// link records a number and a business-scoped user id seen together.
func (n *notification) link(waID, userID string) {
	phone, uid := e164(waID), strings.TrimSpace(userID)
	if phone == "" || uid == "" {
		return
	}
	for _, l := range n.Links {
		if l.Phone == phone && l.UserID == uid {
			return
		}
	}
	n.Links = append(n.Links, store.User{Phone: phone, UserID: uid})
}

// Parse reads a notification body into what the store applies. now stands
// in for missing timestamps; keywords are the opt-out keywords, upper case.
func Parse(body []byte, now time.Time, keywords []string) (store.Notification, error) {
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return store.Notification{}, fmt.Errorf("not a webhook payload: %w", err)
	}
	if env.Object != "whatsapp_business_account" {
		return store.Notification{}, fmt.Errorf("object %q: want whatsapp_business_account", env.Object)
	}
	var n notification
	for _, e := range env.Entry {
		for _, ch := range e.Changes {
			v := ch.Value
			for _, s := range v.Statuses {
				u := store.StatusUpdate{WAMID: s.ID, Callback: s.Callback, Status: store.DeliveryStatus(s.Status),
					At: unixOr(s.Timestamp, now), Recipient: s.Recipient}
				switch u.Status {
				case store.DeliverySent, store.DeliveryDelivered, store.DeliveryRead:
				case store.DeliveryFailed:
					u.FailState = store.StateFailed
					if len(s.Errors) > 0 {
						er := s.Errors[0]
						u.Code = er.Code
						u.Error = strings.TrimSpace(er.Title + ": " + firstNonEmpty(er.ErrorData.Details, er.Message))
						if sender.Lookup(er.Code).Class == sender.ClassDefer {
							// The store schedules it and applies the
							// campaign's cap, as for a send answered 131049.
							u.FailState = store.StateDeferred
						}
					}
				default:
					continue // played and future statuses: nothing to record
				}
				n.Statuses = append(n.Statuses, u)
				n.link(s.Recipient, s.UserID)
			}
			for _, c := range v.Contacts {
				n.link(c.WAID, c.UserID)
			}
			for _, m := range v.Messages {
				from, uid := e164(m.From), strings.TrimSpace(m.UserID)
				if from == "" && uid == "" {
					continue // no one to apply it to
				}
				if m.Type == "unsupported" {
					// A message type the Cloud API cannot show (errors[],
					// 131051): not a reply whatsend can read (cloud-api.md §5.5).
					n.link(m.From, m.UserID)
					continue
				}
				text := firstNonEmpty(m.Text.Body, m.Button.Text, m.Interactive.ButtonReply.Title, m.Interactive.ListReply.Title)
				n.Inbound = append(n.Inbound, store.Inbound{WAMID: m.ID, From: from, UserID: uid, Context: m.Context.ID,
					At: unixOr(m.Timestamp, now), Type: m.Type, Text: text, OptOut: isOptOut(keywords, text, m.Button.Payload)})
				n.link(m.From, m.UserID)
			}
			for _, p := range v.Preferences {
				if p.Category != "" && p.Category != "marketing_messages" {
					continue
				}
				u := store.User{Phone: e164(p.WAID), UserID: strings.TrimSpace(p.UserID)}
				if u.Phone == "" && u.UserID == "" {
					continue
				}
				switch strings.ToLower(p.Value) {
				case "stop":
					n.OptOuts = append(n.OptOuts, u)
				case "resume":
					n.OptIns = append(n.OptIns, u)
				}
				n.link(p.WAID, p.UserID)
			}
		}
	}
	return n.Notification, nil
}

func isOptOut(keywords []string, texts ...string) bool {
	for _, t := range texts {
		t = strings.ToUpper(strings.TrimSpace(t))
		if t == "" {
			continue
		}
		for _, k := range keywords {
			if t == k {
				return true
			}
		}
	}
	return false
}

// e164 turns a WhatsApp id (digits) into an E.164 number.
func e164(waID string) string {
	waID = strings.TrimPrefix(strings.TrimSpace(waID), "+")
	if waID == "" {
		return ""
	}
	for _, r := range waID {
		if r < '0' || r > '9' {
			return ""
		}
	}
	return "+" + waID
}

func unixOr(s string, def time.Time) time.Time {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n <= 0 {
		return def
	}
	return time.Unix(n, 0).UTC()
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

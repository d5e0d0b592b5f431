package sender

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// wantClass is cloud-api.md §6, code by code, written independently of the
// catalog literal.
var wantClass = map[int]Class{
	0: ClassFatal, 1: ClassSlowSender, 2: ClassSlowSender, 3: ClassFatal, 4: ClassSlowSender, 10: ClassFatal,
	33: ClassFatal, 100: ClassFatal, 190: ClassFatal, 368: ClassFatal,
	80007: ClassSlowSender, 80008: ClassSlowSender, 130429: ClassSlowSender,
	130472: ClassRecipientFailed, 130497: ClassRecipientFailed,
	131000: ClassSlowSender, 131005: ClassFatal, 131008: ClassFatal, 131009: ClassFatal, 131016: ClassSlowSender,
	131021: ClassRecipientFailed, 131026: ClassRecipientFailed, 131030: ClassRecipientFailed, 131031: ClassFatal,
	131037: ClassFatal, 131042: ClassFatal, 131044: ClassNA, 131045: ClassFatal, 131047: ClassFatal,
	131048: ClassFatal, 131049: ClassDefer, 131050: ClassRecipientFailed, 131051: ClassRecipientFailed,
	131052: ClassNA, 131053: ClassFatal, 131056: ClassRetryRecipient, 131057: ClassSlowSender, 131058: ClassFatal,
	131062: ClassRecipientFailed, 131063: ClassFatal, 131064: ClassFatal,
	132000: ClassFatal, 132001: ClassFatal, 132005: ClassFatal, 132007: ClassFatal, 132008: ClassFatal,
	132012: ClassFatal, 132015: ClassFatal, 132016: ClassFatal, 132068: ClassFatal, 132069: ClassFatal,
	133000: ClassNA, 133004: ClassSlowSender, 133005: ClassNA, 133006: ClassNA, 133008: ClassNA, 133009: ClassNA,
	133010: ClassFatal, 133015: ClassNA, 133016: ClassNA, 135000: ClassFatal, 137000: ClassRecipientFailed,
	470: ClassNA, 471: ClassNA, 472: ClassNA, 408: ClassNA, 1000: ClassNA, 1006: ClassNA, 1011: ClassNA,
	1014: ClassNA, 1023: ClassNA, 1026: ClassNA, 2027: ClassNA, 2028: ClassNA,
}

// wantHTTP is the HTTP column of cloud-api.md §1.2 / §6 where documented.
var wantHTTP = map[int]int{
	0: 401, 190: 401, 10: 403, 368: 403, 131005: 403, 131031: 403, 132001: 404,
	3: 500, 131000: 500, 131016: 500, 131045: 500, 131057: 500, 133000: 500, 2: 503, 133004: 503,
	4: 400, 80007: 400, 130429: 400, 131056: 400,
}

func TestCatalogMatchesTheDocument(t *testing.T) {
	for code, want := range wantClass {
		e := Lookup(code)
		if !e.Known {
			t.Errorf("code %d is not in the catalog", code)
			continue
		}
		if e.Class != want {
			t.Errorf("code %d: class %s, want %s", code, e.Class, want)
		}
		if e.Meaning == "" || e.Advice == "" || e.Title == "" {
			t.Errorf("code %d: title, meaning or advice missing: %+v", code, e)
		}
	}
	for _, code := range Codes() {
		if _, ok := wantClass[code]; !ok {
			t.Errorf("catalog lists %d, which the document does not", code)
		}
	}
	for code, want := range wantHTTP {
		if got := Lookup(code).HTTPStatus; got != want {
			t.Errorf("code %d: HTTP %d, want %d", code, got, want)
		}
	}
	for code := 200; code <= 299; code++ {
		if e := Lookup(code); !e.Known || e.Class != ClassFatal || e.HTTPStatus != 403 {
			t.Errorf("code %d: %+v, want the fatal 403 permission range", code, e)
		}
	}
}

func TestCatalogUnknownCodes(t *testing.T) {
	e := Lookup(999999)
	if e.Known || e.Class != ClassFatal || e.Advice == "" {
		t.Errorf("unknown code: %+v, want not known, fatal, with advice", e)
	}
	// An unknown code with a 5xx status backs off instead of pausing.
	got := Classify(&APIError{HTTPStatus: 502, Code: 999999})
	if got.Class != ClassSlowSender || got.Known {
		t.Errorf("unknown 5xx: %+v, want slow-sender, not known", got)
	}
}

func TestClassify(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want Class
	}{
		{&APIError{HTTPStatus: 400, Code: 131056}, ClassRetryRecipient},
		{fmt.Errorf("send: %w", &APIError{HTTPStatus: 400, Code: 131049}), ClassDefer},
		{&APIError{HTTPStatus: 500, Code: 132001}, ClassFatal}, // the code wins over HTTP
		{&TransportError{Op: "send", MayHaveReached: true, Err: errors.New("EOF")}, ClassUncertain},
		{&TransportError{Op: "send", Err: errors.New("connection refused")}, ClassNotSent},
		{errors.New("something else"), ""},
	} {
		if got := Classify(tt.err).Class; got != tt.want {
			t.Errorf("Classify(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

// Code 190 says what is known: the token is invalid, expired or revoked;
// Meta's error_subcode, when present, tells which (Graph API "Handling
// Errors", authentication subcodes).
func TestClassifyTokenSubcodes(t *testing.T) {
	if m := Lookup(190).Meaning; !strings.Contains(m, "invalid, expired or revoked") {
		t.Errorf("Lookup(190).Meaning = %q, want invalid, expired or revoked", m)
	}
	for _, tt := range []struct {
		code, subcode int
		want          string
	}{
		{190, 0, "invalid, expired or revoked"},
		{190, 463, "the access token expired"},
		{190, 460, "password"},
		{190, 458, "app"},
		{190, 459, "checkpoint"},
		{190, 464, "unconfirmed"},
		{190, 467, "the access token is invalid"},
		{190, 492, "session"},
		{190, 999, "invalid, expired or revoked"},           // an unlisted subcode keeps the code's meaning
		{131056, 2494055, "too many messages to this user"}, // subcodes of other codes are ignored
	} {
		e := Classify(&APIError{HTTPStatus: 401, Code: tt.code, Subcode: tt.subcode})
		if !strings.Contains(e.Meaning, tt.want) {
			t.Errorf("code %d subcode %d: meaning %q, want it to contain %q", tt.code, tt.subcode, e.Meaning, tt.want)
		}
		if e.Class != Lookup(tt.code).Class {
			t.Errorf("code %d subcode %d: class %s, the subcode must not change the class %s", tt.code, tt.subcode, e.Class, Lookup(tt.code).Class)
		}
	}
	if m := Lookup(190).Meaning; m == "the access token expired" {
		t.Error("Lookup(190) says expired although only the subcode can tell")
	}
}

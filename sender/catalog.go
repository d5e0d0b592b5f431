package sender

import (
	"cmp"
	"context"
	"errors"
	"fmt"
)

// Class is what the engine does about an error code (cloud-api.md §6).
type Class string

// Error classes.
const (
	ClassRetryRecipient  Class = "retry-recipient"  // re-queue this recipient with back-off; others go on
	ClassSlowSender      Class = "slow-sender"      // back off the whole sender, then retry
	ClassRecipientFailed Class = "recipient-failed" // final for this recipient
	ClassDefer           Class = "defer"            // retry this recipient after 24 h, then daily
	ClassFatal           Class = "fatal"            // every message would fail: pause the campaign
	ClassNA              Class = "n/a"              // not a send result (registration, inbound, other APIs)
	ClassUncertain       Class = "uncertain"        // the request may have reached Meta; no answer
	ClassNotSent         Class = "not-sent"         // the request never left (dial, DNS, TLS): nothing reached Meta
)

// Entry is one error code of the catalog.
type Entry struct {
	Code       int
	Title      string
	HTTPStatus int // Meta's documented HTTP status; 0 when not documented
	Class      Class
	Meaning    string
	Advice     string
	Known      bool // false for a code the catalog does not list
}

// catalog is the error table, as data: a new code needs no code change.
// Classes and HTTP statuses follow cloud-api.md §6 and §1.2; meanings and
// advice are ours.
var catalog = []Entry{
	{0, "AuthException", 401, ClassFatal, "the access token could not be authenticated (expired or revoked)", "create a new system-user token, then run whatsend resume", true},
	{1, "API Unknown", 400, ClassSlowSender, "an unknown request or server error", "whatsend retries a few times; if it persists, check Meta's status page and the request", true},
	{2, "API Service", 503, ClassSlowSender, "temporary downtime or overload at Meta", "wait; whatsend retries with back-off", true},
	{3, "API Method", 500, ClassFatal, "the app lacks a capability or permission", "check the token's permissions in Meta's token debugger", true},
	{4, "API Too Many Calls", 400, ClassSlowSender, "the app's Graph API call quota is used up", "slow down; the usage headers tell when it frees", true},
	{10, "Permission Denied", 403, ClassFatal, "a permission was not granted or was removed", "grant whatsapp_business_messaging to the token", true},
	{33, "Parameter value not valid", 400, ClassFatal, "the business phone number was deleted or the id is wrong", "check --phone-number-id", true},
	{100, "Invalid parameter", 400, ClassFatal, "a request parameter is unsupported or misspelled", "read the details: \"Parameter name is missing or empty\" is a NAMED template sent with positional values (or a name on a POSITIONAL one): match --params to the template's format; \"Parameter 'text' is mandatory\" is an empty value: fix that row", true},
	{190, "Access token expired", 401, ClassFatal, "the access token is invalid, expired or revoked", "create a new, non-expiring system-user token (check it in Meta's access token debugger), then run whatsend resume", true},
	{368, "Temporarily blocked for policy violations", 403, ClassFatal, "the business account is restricted for a policy violation", "see Account Quality in WhatsApp Manager; do not resume until it is lifted", true},
	{408, "(On-Premises) message expired", 0, ClassNA, "an On-Premises or commerce code: a message pending too long", "not expected from the Cloud API; logged with its details", true},
	{470, "(On-Premises) re-engagement", 0, ClassNA, "the On-Premises form of 131047", "not expected from the Cloud API; if a provider relays it, treat it like 131047", true},
	{471, "(On-Premises) spam rate limit", 0, ClassNA, "the On-Premises form of 131048", "not expected from the Cloud API; if a provider relays it, treat it like 131048", true},
	{472, "(On-Premises) experiment", 0, ClassNA, "the On-Premises form of 130472", "not expected from the Cloud API; if a provider relays it, treat it like 130472", true},
	{1000, "(On-Premises) generic error", 0, ClassNA, "the On-Premises form of 131000", "not expected from the Cloud API; if a provider relays it, treat it like 131000", true},
	{1006, "(On-Premises) resource not found", 0, ClassNA, "an On-Premises or commerce code", "not expected from the Cloud API; logged with its details", true},
	{1011, "(On-Premises) service unavailable", 0, ClassNA, "the On-Premises form of 131016", "not expected from the Cloud API; if a provider relays it, treat it like 131016", true},
	{1014, "(On-Premises) media upload internal error", 0, ClassNA, "an On-Premises or commerce code", "not expected from the Cloud API; logged with its details", true},
	{1023, "(On-Premises) database error", 0, ClassNA, "an On-Premises or commerce code", "not expected from the Cloud API; logged with its details", true},
	{1026, "(On-Premises) receiver incapable", 0, ClassNA, "the On-Premises form of 131026", "not expected from the Cloud API; if a provider relays it, treat it like 131026", true},
	{2027, "(On-Premises/commerce) catalog has no products", 0, ClassNA, "a commerce code", "not expected from the Cloud API; logged with its details", true},
	{2028, "(commerce, India) compliance details missing", 0, ClassNA, "a commerce code", "not expected from the Cloud API; logged with its details", true},
	{80007, "Rate limit issues", 400, ClassSlowSender, "the business account's call quota is reached", "whatsend slows down and retries later", true},
	{80008, "Too many calls to this WABA", 0, ClassSlowSender, "management endpoints are over their quota", "poll less often; whatsend backs off", true},
	{130429, "Rate limit hit", 400, ClassSlowSender, "the number's throughput was exceeded", "lower --rate (80 msg/s standard, 20 for a number shared with the Business app)", true},
	{130472, "User's number is part of an experiment", 400, ClassRecipientFailed, "Meta did not deliver this marketing message: the user is in an experiment", "no retry; reach the user another way", true},
	{130497, "Business restricted from messaging users in this country", 403, ClassRecipientFailed, "the business may not message users in that country", "verify the business or check its allowed countries; the guard pauses if many fail", true},
	{131000, "Something went wrong", 500, ClassSlowSender, "an unknown failure at Meta", "retried a few times; then open a support ticket with the fbtrace_id", true},
	{131005, "Access denied", 403, ClassFatal, "a permission is missing", "fix the token's permissions", true},
	{131008, "Required parameter missing", 400, ClassFatal, "the request lacks a required field", "check --params, --header and --button against the template; if they are right, report it as a whatsend bug", true},
	{131009, "Parameter value not valid", 400, ClassFatal, "a value in the request is invalid", "read the details: they say which value; it may be one bad row", true},
	{131016, "Service unavailable", 500, ClassSlowSender, "a Meta service is down", "wait; whatsend retries automatically", true},
	{131021, "Recipient cannot be sender", 400, ClassRecipientFailed, "the recipient is the business number itself", "remove that row", true},
	{131026, "Message undeliverable", 400, ClassRecipientFailed, "not on WhatsApp, an old app, terms not accepted, or withheld by Meta", "no retry; contact the user by another channel", true},
	{131030, "Recipient not in allowed list", 400, ClassRecipientFailed, "a test number can only message its allow-list", "add the recipient to the allow-list or use a production number", true},
	{131031, "Account has been locked", 403, ClassFatal, "the business account is locked", "check the health status and Account Quality in WhatsApp Manager", true},
	{131037, "Display name needs approval", 400, ClassFatal, "the number's display name is not approved", "get the display name approved", true},
	{131042, "Business eligibility payment issue", 400, ClassFatal, "a billing problem: no payment method or credit line", "fix billing in Business Manager, then resume", true},
	{131044, "Payment issue (calling)", 0, ClassNA, "a calling-API billing code", "not expected when sending templates; fix billing if seen", true},
	{131045, "Incorrect certificate", 500, ClassFatal, "the number's registration is broken", "re-register the phone number", true},
	{131047, "Re-engagement message", 400, ClassFatal, "a free-form message outside the 24 h window", "cannot happen with templates: report it as a whatsend bug", true},
	{131048, "Spam rate limit hit", 400, ClassFatal, "the number is restricted after blocks or spam reports", "stop; check the quality rating; change the audience or the content", true},
	{131049, "Meta chose not to deliver", 400, ClassDefer, "the user's marketing-message limit, or the US marketing pause", "deferred at least 24 h, then retried daily up to --defer-days", true},
	{131050, "User stopped marketing messages", 400, ClassRecipientFailed, "the user opted out of your marketing messages", "never retry; keep the number on the opt-out list", true},
	{131051, "Unsupported message type", 400, ClassRecipientFailed, "the message type is not supported for this recipient", "if every row fails this way, report it as a whatsend bug", true},
	{131052, "Media download error", 400, ClassNA, "a user's inbound media could not be fetched", "inbound media only; never a send result", true},
	{131053, "Media upload error", 400, ClassFatal, "the template's header media could not be fetched or processed", "fix the header media URL or id", true},
	{131056, "(Business Account, Consumer Account) pair rate limit hit", 400, ClassRetryRecipient, "too many messages to this user too fast", "nothing to do: whatsend spaces messages to one user by the pair interval and retries", true},
	{131057, "Account in maintenance mode", 500, ClassSlowSender, "the number is in maintenance, e.g. a throughput upgrade (about a minute)", "wait at least 60 s; whatsend does", true},
	{131058, "Hello World only from public test numbers", 400, ClassFatal, "hello_world was sent from a real number", "use your own approved template", true},
	{131062, "BSUID recipient not supported", 0, ClassRecipientFailed, "a business-scoped user id is not allowed here", "send to the phone number", true},
	{131063, "Marketing templates disabled for Cloud API", 0, ClassFatal, "marketing templates are switched off for the Cloud API (or the country is not supported)", "re-enable marketing messages or use the Marketing Messages API; read the details", true},
	{131064, "Messaging limit hit after template mis-categorisation", 0, ClassFatal, "the account is limited for template category violations", "review the templates' categories", true},
	{132000, "Template param count mismatch", 400, ClassFatal, "the number of values differs from the template's placeholders", "fix --params (or --header, --button) or the template", true},
	{132001, "Template does not exist", 404, ClassFatal, "no approved template with that name and language", "check the name, --lang (en and en_US differ) and the template's status", true},
	{132005, "Template hydrated text too long", 400, ClassFatal, "the text after filling in the values is too long", "shorten the values (it may be one row)", true},
	{132007, "Template format character policy violated", 400, ClassFatal, "the content breaks a formatting policy", "edit the template", true},
	{132008, "Template param value invalid", 0, ClassFatal, "a parameter value was rejected", "check the values' formats", true},
	{132012, "Template parameter format mismatch", 400, ClassFatal, "a value's type or format differs from the template's", "fix the parameter types: --params COLUMN:currency or :date_time, or --header FORMAT:COLUMN for the header's format", true},
	{132015, "Template is paused", 400, ClassFatal, "the template was paused for low quality", "wait for Meta to unpause it (3 h, then 6 h) or edit it; then resume", true},
	{132016, "Template is disabled", 400, ClassFatal, "the template was paused too often and is disabled for good", "create a new template", true},
	{132068, "Flow is blocked", 400, ClassFatal, "the template's Flow is blocked", "fix the Flow", true},
	{132069, "Flow is throttled", 400, ClassFatal, "the Flow is limited to 10 sends an hour", "fix the Flow; wait", true},
	{133000, "Incomplete deregistration", 500, ClassNA, "a registration problem, not a campaign one", "re-register the number in WhatsApp Manager", true},
	{133004, "Server temporarily unavailable", 503, ClassSlowSender, "Meta's server is temporarily unavailable", "wait; whatsend retries; check the details", true},
	{133005, "Two-step PIN mismatch", 400, ClassNA, "registration only", "fix the two-step verification PIN", true},
	{133006, "Phone number re-verification needed", 400, ClassNA, "registration only", "verify the number first", true},
	{133008, "Too many PIN guesses", 400, ClassNA, "registration only", "wait the time given in the details", true},
	{133009, "PIN guessed too fast", 400, ClassNA, "registration only", "wait before retrying the PIN", true},
	{133010, "Phone number not registered", 400, ClassFatal, "the number is not registered on the platform", "register the number (/register)", true},
	{133015, "Recently deleted number, wait", 400, ClassNA, "registration only", "wait about 5 minutes", true},
	{133016, "Register/deregister rate limit", 400, ClassNA, "registration attempts are throttled", "wait until the number is unblocked", true},
	{135000, "Generic user error", 400, ClassFatal, "an unknown problem with the request's parameters", "check the request; contact support if it persists", true},
	{137000, "Identity key hash mismatch", 0, ClassRecipientFailed, "the user's identity changed", "verify the user another way", true},
}

// subcodes tell which way a code went, where Meta documents it: the
// authentication subcodes of code 190 (Graph API "Handling Errors"). Meta
// sends no subcode for a token it cannot parse; then the code's meaning,
// which names every possibility, stands. A subcode never changes the class.
var subcodes = map[int]map[int]string{
	190: {
		458: "the access token is no longer valid: the user removed the app (app not installed)",
		459: "the access token is no longer valid: the user's account is checkpointed (they must log in to Facebook)",
		460: "the access token was invalidated: the user changed their password",
		463: "the access token expired",
		464: "the access token is no longer valid: the user is unconfirmed",
		467: "the access token is invalid (revoked, logged out or malformed)",
		492: "the access token's session is invalid (the user lost a role on the asset)",
	},
}

var byCode = func() map[int]Entry {
	m := make(map[int]Entry, len(catalog))
	for _, e := range catalog {
		if _, dup := m[e.Code]; dup {
			panic(fmt.Sprintf("catalog: code %d twice", e.Code))
		}
		m[e.Code] = e
	}
	return m
}()

// Lookup returns the catalog entry of a code. Codes 200–299 are the API
// permission range. An unknown code gets the safe default: fatal (pause and
// let a person read it), with Known false so reports can say so.
func Lookup(code int) Entry {
	if e, ok := byCode[code]; ok {
		return e
	}
	if code >= 200 && code <= 299 {
		return Entry{code, "API Permission", 403, ClassFatal, "a permission was not granted or was removed", "fix the token's permissions and the asset assignment", true}
	}
	return Entry{Code: code, Title: "unknown code", Class: ClassFatal,
		Meaning: fmt.Sprintf("code %d is not in whatsend's catalog", code),
		Advice:  "read the error details and Meta's error-code page; whatsend paused to be safe"}
}

// Codes returns every code listed in the catalog, in table order.
func Codes() []int {
	out := make([]int, len(catalog))
	for i, e := range catalog {
		out[i] = e.Code
	}
	return out
}

// Classify returns the catalog entry for a send's error. An *APIError is
// classified by its code (never by HTTP status when a code exists; an
// unknown code with a 5xx status is slow-sender). A *TransportError is
// uncertain when the request may have reached Meta, not-sent when it
// surely did not. Any other error (a cancelled context before the request
// left) returns an Entry with an empty Class.
func Classify(err error) Entry {
	if ae, ok := errors.AsType[*APIError](err); ok {
		e := Lookup(ae.Code)
		if !e.Known && ae.HTTPStatus >= 500 {
			e.Class = ClassSlowSender
		}
		if m, ok := subcodes[ae.Code][ae.Subcode]; ok {
			e.Meaning = m
		}
		return e
	}
	if re, ok := errors.AsType[*RedirectError](err); ok {
		to := cmp.Or(re.Location, "an address it does not name")
		return Entry{Title: "API URL redirects", HTTPStatus: re.HTTPStatus, Class: ClassFatal,
			Meaning: "the API URL answers with a redirect to " + to,
			Advice:  "check --api-url: it must name the Graph API (or your proxy) itself; whatsend does not follow redirects, so neither the token nor a message went there",
			Known:   true}
	}
	if te, ok := errors.AsType[*TransportError](err); ok {
		if te.MayHaveReached {
			return Entry{Title: "outcome unknown", Class: ClassUncertain,
				Meaning: "the request may have reached Meta but no answer came back",
				Advice:  "not re-sent; a status webhook settles it, or resume --resend-uncertain"}
		}
		// No byte left: not a recipient's failure and not a Meta code. The
		// engine gives the attempt back and pauses if the network stays down.
		return Entry{Title: "not sent", Class: ClassNotSent,
			Meaning: "the request could not be sent: the API is unreachable (network, DNS or TLS)",
			Advice:  "check the network and --api-url; the campaign pauses if it persists and resume --all retries it"}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return Entry{Title: "not sent", Meaning: "the request was not made"}
	}
	return Entry{Title: "unexpected error", Meaning: err.Error()}
}

package store

import (
	"fmt"
	"strconv"
	"strings"
)

// Callback is the biz_opaque_callback_data every send carries
// ("c=<campaign>;r=<recipient>;a=<attempt>"). Meta echoes it in the
// message's status webhooks, so a status whose wamid the store does not
// know yet (it may arrive before the send's answer is recorded) still
// finds its recipient. Every backend matches statuses with ParseCallback.
func Callback(campaignID, recipientID int64, attemptID string) string {
	return fmt.Sprintf("c=%d;r=%d;a=%s", campaignID, recipientID, attemptID)
}

// ParseCallback reads the campaign and recipient ids of a Callback; ok is
// false when either is missing (another sender's data, or none).
func ParseCallback(s string) (campaignID, recipientID int64, ok bool) {
	var haveC, haveR bool
	for _, kv := range strings.Split(s, ";") {
		k, v, _ := strings.Cut(kv, "=")
		n, err := strconv.ParseInt(v, 10, 64)
		switch {
		case k == "c" && err == nil:
			campaignID, haveC = n, true
		case k == "r" && err == nil:
			recipientID, haveR = n, true
		}
	}
	return campaignID, recipientID, haveC && haveR
}

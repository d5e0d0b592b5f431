package webhook_test

import (
	"slices"
	"testing"

	"github.com/whatsend/whatsend/sender/webhook"
)

// New reads the keywords it is given without changing the caller's slice,
// which may be the package default shared by every receiver.
func TestNewLeavesKeywordsAlone(t *testing.T) {
	kw := []string{" stop ", "Parar"}
	defaults := slices.Clone(webhook.DefaultOptOutKeywords)
	webhook.New(webhook.Config{Keywords: kw}).Close()
	webhook.New(webhook.Config{}).Close()
	if !slices.Equal(kw, []string{" stop ", "Parar"}) {
		t.Errorf("the caller's keywords became %q", kw)
	}
	if !slices.Equal(webhook.DefaultOptOutKeywords, defaults) {
		t.Errorf("DefaultOptOutKeywords became %q", webhook.DefaultOptOutKeywords)
	}
}

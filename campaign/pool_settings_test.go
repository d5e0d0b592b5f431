package campaign_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/whatsend/whatsend/campaign"
)

func TestSplitNumbers(t *testing.T) {
	s := campaign.Settings{PhoneNumberID: "11, 12,13", BusinessID: "99"}
	if err := s.SplitNumbers(); err != nil {
		t.Fatal(err)
	}
	if s.PhoneNumberID != "11" || !slices.Equal(s.PhoneNumberIDs, []string{"11", "12", "13"}) || !slices.Equal(s.Numbers(""), s.PhoneNumberIDs) {
		t.Errorf("split into %q %q", s.PhoneNumberID, s.PhoneNumberIDs)
	}
	one := campaign.Settings{PhoneNumberID: "11"}
	if err := one.SplitNumbers(); err != nil || one.PhoneNumberIDs != nil || !slices.Equal(one.Numbers(""), []string{"11"}) {
		t.Errorf("one number: %v %q", err, one.PhoneNumberIDs)
	}
	for in, want := range map[string]string{
		"11,12":  "--business-id",
		"11,,12": "empty phone number id",
		"11,11":  "11 given twice",
	} {
		s := campaign.Settings{PhoneNumberID: in}
		if in != "11,12" {
			s.BusinessID = "99"
		}
		err := s.SplitNumbers()
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "--phone-number-id") {
			t.Errorf("%q: %v, want an error naming --phone-number-id and %q", in, err, want)
		}
	}
}

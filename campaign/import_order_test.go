package campaign_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/whatsend/whatsend/campaign"
	"github.com/whatsend/whatsend/store"
)

// orderList writes a CSV whose numbers are in no order, with repeats
// inside a batch and across batches, and returns it with the numbers by
// line (line 2 is the first row).
func orderList(t *testing.T, dir string) (string, map[int]string) {
	t.Helper()
	// Descending numbers, so the line order and the number order disagree;
	// lines 5 and 9 repeat line 3 (9 in a later batch of 4 rows), line 12
	// repeats line 10 and line 13 repeats line 4.
	nums := []string{"+5511987650009", "+5511987650008", "+5511987650007", "+5511987650006",
		"+5511987650008", "+5511987650005", "+5511987650004", "+5511987650008",
		"+5511987650003", "+5511987650002", "+5511987650003", "+5511987650007", "+5511987650001"}
	var b strings.Builder
	b.WriteString("name,phone,order_id\n")
	byLine := map[int]string{}
	for i, p := range nums {
		fmt.Fprintf(&b, "Customer %d,%s,A-%05d\n", i, p, i)
		byLine[i+2] = p
	}
	path := filepath.Join(dir, "order.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, byLine
}

// An import stores its rows in the CSV's line order (ids follow lines,
// whatever the numbers' order), keeps the first line of a repeated
// number and skips the later ones as duplicates of it, inside a batch and
// across batches alike; an opted-out number is skipped wherever it is.
func TestImportKeepsLineOrderAndFirstLine(t *testing.T) {
	st, dir := openStore(t)
	path, byLine := orderList(t, dir)
	if err := st.AddOptOut(t.Context(), "+5511987650005", "manual", time.Now()); err != nil {
		t.Fatal(err)
	}
	cfg := importCfg(path, "a")
	cfg.BatchSize = 4
	res, err := campaign.Import(t.Context(), st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Duplicates != 4 || res.OptedOut != 1 {
		t.Errorf("duplicates %d, opted out %d; want 4, 1", res.Duplicates, res.OptedOut)
	}
	var lines []int
	var ids []int64
	err = st.Recipients(t.Context(), res.Campaign.ID, func(r store.Recipient) error {
		if r.Phone != byLine[r.Line] {
			t.Errorf("line %d holds %s, want %s", r.Line, r.Phone, byLine[r.Line])
		}
		lines, ids = append(lines, r.Line), append(ids, r.ID)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{2, 3, 4, 5, 8, 10, 11, 14}; !slices.Equal(lines, want) {
		t.Errorf("stored lines %v, want %v", lines, want)
	}
	if !slices.IsSorted(ids) {
		t.Errorf("ids by line %v: not in line order", ids)
	}
	sk, err := st.Skipped(t.Context(), res.Campaign.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, k := range sk {
		got = append(got, fmt.Sprintf("%d %s %s", k.Line, k.Reason, k.Detail))
	}
	want := []string{
		"6 duplicate +5511987650008 is the same number as line 3",
		"7 opted_out +5511987650005 is on the opt-out list",
		"9 duplicate +5511987650008 is the same number as line 3",
		"12 duplicate +5511987650003 is the same number as line 10",
		"13 duplicate +5511987650007 is the same number as line 4",
	}
	if !slices.Equal(got, want) {
		t.Errorf("skipped:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// optOutFailing fails its opt-out check after the first batch.
type optOutFailing struct {
	store.Store
	calls int
}

func (o *optOutFailing) OptedOut(ctx context.Context, phones []string) (map[string]bool, error) {
	if o.calls++; o.calls > 1 {
		return nil, errors.New("opt-out list unreadable")
	}
	return o.Store.OptedOut(ctx, phones)
}

// An import whose opt-out check fails mid-file fails with that error and
// leaves nothing behind: no campaign, no recipient, no skipped row.
func TestImportOptOutFailureLeavesNothing(t *testing.T) {
	st, dir := openStore(t)
	path, _ := orderList(t, dir)
	cfg := importCfg(path, "a")
	cfg.BatchSize = 4
	_, err := campaign.Import(t.Context(), &optOutFailing{Store: st}, cfg)
	if err == nil || !strings.Contains(err.Error(), "opt-out list unreadable") {
		t.Fatalf("import: %v; want the opt-out check's error", err)
	}
	cs, err := st.Campaigns(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 0 {
		t.Errorf("%d campaigns left behind: %+v", len(cs), cs)
	}
	// The store is fit to import again (a failed import restored it).
	res, err := campaign.Import(t.Context(), st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Duplicates != 4 || res.Existing {
		t.Errorf("second import: %+v", res)
	}
}

package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/whatsend/whatsend/campaign"
)

// Every width from a tiny terminal to a wide one: the line is narrower than
// the terminal, always shows the percentage and the counts, and shows 100 %
// only when every recipient is settled.
func TestProgressLineFits(t *testing.T) {
	names := []string{"spring", "clientes_b-order_update-en_US-4ccc3970", "Pedidos prontos - dezembro 2026 (segunda lista, clientes antigos)", "注文の更新-キャンペーン-12月"}
	infos := []campaign.ProgressInfo{
		{Done: 100, Total: 191, Sent: 100, Rate: 20, RateLimited: 0.058, Quality: "GREEN"},
		{Done: 190, Total: 191, Rate: 80, Quality: "YELLOW", Waiting: "waiting 3s: 131056 share 6.0% over the last 50 attempts"},
		{Done: 191, Total: 191, Rate: 80},
		{Done: 0, Total: 0},
	}
	for _, name := range names {
		for _, i := range infos {
			for cols := 20; cols <= 200; cols++ {
				for _, final := range []bool{false, true} {
					line := progressLine(name, i, cols, final)
					if w := textWidth(line); w >= cols {
						t.Fatalf("%d columns: line of %d: %q", cols, w, line)
					}
					counts := fmt.Sprintf("%d/%d", i.Done, i.Total)
					if cols >= 40 && !strings.Contains(line, counts) {
						t.Errorf("%d columns: %q lacks %s", cols, line, counts)
					}
					if strings.Contains(line, "100%") != (i.Total > 0 && i.Done == i.Total) {
						t.Errorf("%d columns: %q: 100%% shown for %d of %d", cols, line, i.Done, i.Total)
					}
					if final && strings.Contains(line, "ETA") {
						t.Errorf("%q: an estimate after the run ended", line)
					}
				}
			}
		}
	}
	// Wide enough: every field, the whole name and a bar.
	line := progressLine(names[1], infos[0], 160, false)
	for _, want := range []string{names[1], "[#", "52% 100/191", "20 msg/s", "ETA 5s", "131056 5.8%", "quality GREEN"} {
		if !strings.Contains(line, want) {
			t.Errorf("160 columns: %q lacks %q", line, want)
		}
	}
	// At 80 columns the fields go in order: quality first.
	line = progressLine(names[1], infos[0], 80, false)
	if strings.Contains(line, "quality") || !strings.Contains(line, "msg/s") {
		t.Errorf("80 columns: %q: want quality dropped before the rate", line)
	}
}

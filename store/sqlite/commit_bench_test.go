package sqlite_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/whatsend/whatsend/internal/listgen"
	"github.com/whatsend/whatsend/store"
	"github.com/whatsend/whatsend/store/sqlite"
)

// scatteredRecipients returns n recipients of a list in no order, as
// users' lists are (internal/listgen): their numbers land all over the
// phone indexes.
func scatteredRecipients(n int) []store.Recipient {
	rs := make([]store.Recipient, n)
	for row, i := range rand.New(rand.NewPCG(1, 2)).Perm(n) {
		rs[row] = store.Recipient{Line: row + 2, Phone: listgen.Phone(i),
			Params: []string{fmt.Sprintf("Customer %d", row), fmt.Sprintf("A-%07d", row)}}
	}
	return rs
}

// procWrites is the bytes and write calls this process has made
// (/proc/self/io's wchar and syscw); zero where there is no such file.
func procWrites() (bytes, calls int64) {
	data, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		k, v, _ := strings.Cut(line, ": ")
		n, _ := strconv.ParseInt(v, 10, 64)
		switch k {
		case "wchar":
			bytes = n
		case "syscw":
			calls = n
		}
	}
	return bytes, calls
}

// wamid is a message id shaped like Meta's (wamid.HBgM…: base64 of the
// number and a random message key), so its index entries land at random
// places, as real answers' do.
func wamid(attemptID string) string {
	sum := sha256.Sum256([]byte(attemptID))
	return "wamid.HBgMNTU" + base64.RawURLEncoding.EncodeToString(sum[:24])
}

// BenchmarkCommitAttempts measures the engine's store work per send: each
// CommitAttempts holds a group of checkpoints and the answers of the
// previous group, as the run's writer commits them, on a campaign of
// 5,000 scattered recipients. The group is what one commit holds at 80
// msg/s with the journal's 200 ms lead (16) and at larger leads. It
// reports µs per send (one goroutine: about its CPU).
func BenchmarkCommitAttempts(b *testing.B) {
	for _, group := range []int{16, 80, 256} {
		b.Run(fmt.Sprint(group), func(b *testing.B) {
			const rows = 5_000
			ctx := context.Background()
			st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "w.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			campaign := func(n int) (int64, []store.Recipient) {
				id, err := st.CreateCampaign(ctx, store.Campaign{Name: fmt.Sprint("bench", n), CSVHash: fmt.Sprint(n), Template: "order_update", Language: "en_US"})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := st.ImportBatch(ctx, id, scatteredRecipients(rows), nil); err != nil {
					b.Fatal(err)
				}
				if err := st.FinishImport(ctx, id, rows); err != nil {
					b.Fatal(err)
				}
				due, err := st.Due(ctx, id, time.Now(), rows)
				if err != nil || len(due) != rows {
					b.Fatalf("due %d, %v", len(due), err)
				}
				return id, due
			}
			sends, n := 0, 0
			var written, writes int64 // during the timed parts, from /proc/self/io
			var cpu time.Duration     // the process's CPU during the timed parts
			at := time.Now()
			for b.Loop() {
				b.StopTimer()
				n++
				id, due := campaign(n)
				bytes0, calls0 := procWrites()
				cpu0 := cpuTime()
				b.StartTimer()
				var prev []store.Outcome
				for i := 0; i < rows; i += group {
					var as []store.Attempt
					for _, r := range due[i:min(i+group, rows)] {
						at = at.Add(time.Millisecond)
						as = append(as, store.Attempt{ID: fmt.Sprintf("a-%d-%d", n, r.ID), CampaignID: id, RecipientID: r.ID, Number: 1,
							PhoneNumberID: "100000000000001", To: r.Phone, Scope: "phone:100000000000001", Batch: 1, StartedAt: at})
					}
					if err := st.CommitAttempts(ctx, as, prev); err != nil {
						b.Fatal(err)
					}
					prev = prev[:0]
					for _, a := range as {
						prev = append(prev, store.Outcome{AttemptID: a.ID, RecipientID: a.RecipientID, State: store.StateSent,
							WAMID: wamid(a.ID), MessageStatus: "accepted", FinishedAt: a.StartedAt.Add(150 * time.Millisecond)})
					}
					sends += len(as)
				}
				if err := st.CommitAttempts(ctx, nil, prev); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				bytes1, calls1 := procWrites()
				written, writes = written+bytes1-bytes0, writes+calls1-calls0
				cpu += cpuTime() - cpu0
				b.StartTimer()
			}
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(sends), "µs/send")
			// The CPU, unlike the time, leaves out the waits for the disk.
			b.ReportMetric(float64(cpu.Microseconds())/float64(sends), "CPU-µs/send")
			if writes > 0 {
				// What the store wrote per send: unlike the time, the same
				// on a busy machine, so index changes can be compared.
				b.ReportMetric(float64(written)/1024/float64(sends), "KiB-written/send")
				b.ReportMetric(float64(writes)/float64(sends), "writes/send")
			}
		})
	}
}

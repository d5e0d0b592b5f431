package campaign_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/whatsend/whatsend/campaign"
	"github.com/whatsend/whatsend/campaign/csvimport"
	"github.com/whatsend/whatsend/store"
	"github.com/whatsend/whatsend/store/sqlite"
)

// blockingStore holds its first ImportBatch until release is closed.
type blockingStore struct {
	store.Store
	entered chan struct{}
	release chan struct{}
}

func (b *blockingStore) ImportBatch(ctx context.Context, id int64, rs []store.Recipient, sk []store.SkippedRow) ([]store.Duplicate, error) {
	select {
	case b.entered <- struct{}{}:
		<-b.release
	default:
	}
	return b.Store.ImportBatch(ctx, id, rs, sk)
}

func openStore(t testing.TB) (store.Store, string) {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlite.Open(t.Context(), filepath.Join(dir, "whatsend.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, dir
}

func importCfg(path string, owner string) campaign.ImportConfig {
	s := campaign.Settings{Template: "order_update", Language: "en_US", Params: []string{"name", "order_id"}, PhoneNumberID: testPhoneID}
	return campaign.ImportConfig{
		File: path,
		CSV:  csvimport.Config{Params: s.Params},
		Campaign: store.Campaign{Template: s.Template, Language: s.Language, Params: s.Params,
			PhoneNumberID: testPhoneID, Scope: s.Scope(), Settings: s.Encode()},
		Owner: campaign.Owner{ID: owner, PID: os.Getpid(), Host: "test", Alive: func(int) bool { return true }},
	}
}

func writeList(t *testing.T, dir string, n int) string {
	t.Helper()
	path := filepath.Join(dir, "list.csv")
	var b strings.Builder
	b.WriteString("name,phone,order_id\n")
	for i, p := range phones(n, 0) {
		fmt.Fprintf(&b, "Customer %d,%s,A-%05d\n", i, p, i)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// While one process imports a CSV, a second import of the same CSV is
// refused as busy, naming the file, and deletes nothing; once the first is
// done the second continues the campaign the first made.
func TestImportIsOwned(t *testing.T) {
	st, dir := openStore(t)
	path := writeList(t, dir, 50)
	bs := &blockingStore{Store: st, entered: make(chan struct{}), release: make(chan struct{})}
	first := make(chan error, 1)
	var made campaign.ImportResult
	go func() {
		var err error
		made, err = campaign.Import(t.Context(), bs, importCfg(path, "first"))
		first <- err
	}()
	select {
	case <-bs.entered:
	case <-time.After(30 * time.Second):
		t.Fatal("the first import never reached its first batch")
	}

	_, err := campaign.Import(t.Context(), st, importCfg(path, "second"))
	if !errors.Is(err, campaign.ErrBusy) {
		t.Fatalf("second import during the first: err = %v, want ErrBusy", err)
	}
	if !errors.Is(err, campaign.ErrBusy) || !containsAll(err.Error(), path, "pid") {
		t.Errorf("busy error %q should name the file and the holder", err)
	}
	if held, ok := errors.AsType[*store.LeaseHeldError](err); !ok || held.Holder.Owner != "first" {
		t.Errorf("busy error %v does not carry the *store.LeaseHeldError of the holder", err)
	}
	// Nor can the campaign being imported be deleted under it.
	cs, err := st.Campaigns(t.Context())
	if err != nil || len(cs) != 1 || cs[0].State != store.CampaignImporting {
		t.Fatalf("campaigns during the import = %+v, %v", cs, err)
	}
	other := campaign.Deps{Store: st, Owner: importCfg(path, "deleter").Owner}
	if err := campaign.Delete(t.Context(), other, cs[0].ID); !errors.Is(err, campaign.ErrBusy) {
		t.Errorf("delete of the campaign being imported: err = %v, want ErrBusy", err)
	}
	close(bs.release)
	if err := <-first; err != nil {
		t.Fatalf("first import: %v", err)
	}
	again, err := campaign.Import(t.Context(), st, importCfg(path, "second"))
	if err != nil || !again.Existing || again.Campaign.ID != made.Campaign.ID {
		t.Fatalf("import after the first finished = %+v, %v; want the existing campaign %d", again.Campaign, err, made.Campaign.ID)
	}
}

// A campaign left importing is replaced by the next import, but never when
// it has a send attempt.
func TestHalfImportWithAttemptsIsKept(t *testing.T) {
	st, dir := openStore(t)
	ctx := t.Context()
	path := writeList(t, dir, 5)
	body, _ := os.ReadFile(path)
	sum := sha256.Sum256(body)
	id, err := st.CreateCampaign(ctx, store.Campaign{Name: "half", CSVHash: hex.EncodeToString(sum[:]), Template: "order_update",
		Language: "en_US", PhoneNumberID: testPhoneID, Scope: "phone:" + testPhoneID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.ImportBatch(ctx, id, []store.Recipient{{Line: 2, Phone: phones(1, 0)[0]}}, nil); err != nil {
		t.Fatal(err)
	}
	due, err := st.Due(ctx, id, time.Now(), 10)
	if err != nil || len(due) != 1 {
		t.Fatalf("due = %v, %v", due, err)
	}
	if err := st.BeginAttempts(ctx, []store.Attempt{{ID: "a1", CampaignID: id, RecipientID: due[0].ID, Number: 1,
		PhoneNumberID: testPhoneID, To: due[0].Phone, Scope: "phone:" + testPhoneID, StartedAt: time.Now()}}); err != nil {
		t.Fatal(err)
	}

	_, err = campaign.Import(ctx, st, importCfg(path, "next"))
	if err == nil {
		t.Fatal("the import replaced a campaign that has an attempt")
	}
	if c, err := st.Campaign(ctx, id); err != nil || c.Name != "half" {
		t.Fatalf("the half import with an attempt is gone: %+v, %v", c, err)
	}
}

// A FIFO or a device is refused before it is opened or read, with nothing
// imported; a cancelled import returns the cause and leaves no campaign.
func TestImportRefusesWhatItCannotReadTwice(t *testing.T) {
	st, dir := openStore(t)
	fifo := filepath.Join(dir, "pipe.csv")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{fifo, "/dev/zero", dir} {
		done := make(chan error, 1)
		go func() {
			_, err := campaign.Import(t.Context(), st, importCfg(path, "x"))
			done <- err
		}()
		select {
		case err := <-done:
			if !errors.Is(err, campaign.ErrRefused) || !containsAll(err.Error(), path, "not a regular file") {
				t.Errorf("import of %s: err = %v, want a refusal naming it", path, err)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("import of %s did not return", path)
		}
	}

	path := writeList(t, dir, 20)
	cause := errors.New("interrupted by the test")
	ctx, cancel := context.WithCancelCause(t.Context())
	cancel(cause)
	if _, err := campaign.Import(ctx, st, importCfg(path, "x")); !errors.Is(err, cause) {
		t.Errorf("cancelled import: err = %v, want the cancellation's cause", err)
	}
	if cs, err := st.Campaigns(t.Context()); err != nil || len(cs) != 0 {
		t.Errorf("campaigns after refusals and a cancelled import = %v, %v; want none", cs, err)
	}
}

func containsAll(s string, subs ...string) bool {
	for _, x := range subs {
		if !strings.Contains(s, x) {
			return false
		}
	}
	return true
}

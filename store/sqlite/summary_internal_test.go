package sqlite

import (
	"strings"
	"testing"

	"github.com/whatsend/whatsend/store"
)

// A report of a big campaign must not read each of its rows for the
// figures only answered recipients have: the delivery statuses and the
// resends come from the partial index recipients_delivery, the figures by
// number from the assigned part of recipients_number_due, and the replies are looked up from
// the contacts' side.
func TestSummaryUsesIndexes(t *testing.T) {
	st := openInternal(t)
	for _, c := range []struct{ name, query, want string }{
		{"delivery", summaryDeliverySQL, "COVERING INDEX recipients_delivery"},
		{"by number", summaryByNumberSQL, "COVERING INDEX recipients_number_due (campaign_id=? AND phone_number_id>?)"},
		{"replied", summaryRepliedSQL, "SCAN c"},
	} {
		if p := queryPlan(t, st, c.query, 1); !strings.Contains(p, c.want) {
			t.Errorf("%s: plan %q, want %q in it", c.name, p, c.want)
		}
	}
}

// The figures read from the partial indexes count what they did when
// read from the rows: statuses, resends after silence (of a recipient
// with or without a status), recipients by number, replies.
func TestSummaryFiguresFromIndexes(t *testing.T) {
	ctx := t.Context()
	st := openInternal(t)
	id, err := st.CreateCampaign(ctx, store.Campaign{Name: "s", CSVHash: "s", Template: "t", Language: "en"})
	if err != nil {
		t.Fatal(err)
	}
	var rs []store.Recipient
	for i, p := range []string{"+1", "+2", "+3", "+4", "+5"} {
		rs = append(rs, store.Recipient{Line: i + 2, Phone: p})
	}
	if _, err := st.ImportBatch(ctx, id, rs, nil); err != nil {
		t.Fatal(err)
	}
	if err := st.FinishImport(ctx, id, len(rs)); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`UPDATE recipients SET state = 'sent', delivery = 'read', phone_number_id = 'n1' WHERE phone = '+1'`,
		`UPDATE recipients SET state = 'sent', delivery = 'delivered', phone_number_id = 'n1', resent_after_silence = 1 WHERE phone = '+2'`,
		`UPDATE recipients SET resent_after_silence = 1, phone_number_id = 'n2' WHERE phone = '+3'`,
		`INSERT INTO contacts (phone, last_reply_at) VALUES ('+2', 1), ('+9', 1)`,
	} {
		if err := st.exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	sum, err := st.Summary(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if sum.ByDelivery[store.DeliveryRead] != 1 || sum.ByDelivery[store.DeliveryDelivered] != 1 || len(sum.ByDelivery) != 2 {
		t.Errorf("by delivery %v, want read 1, delivered 1", sum.ByDelivery)
	}
	if sum.ResentAfterSilence != 2 || sum.Replied != 1 {
		t.Errorf("resent after silence %d, replied %d; want 2, 1", sum.ResentAfterSilence, sum.Replied)
	}
	if n1, n2 := sum.ByNumber["n1"], sum.ByNumber["n2"]; n1.Assigned != 2 || n1.Sent != 2 || n2.Assigned != 1 || n2.ToSend != 1 || len(sum.ByNumber) != 2 {
		t.Errorf("by number %+v", sum.ByNumber)
	}
}

// AssignNumbers finds a number's earlier sends with the index of the
// attempts by number (an import adds no entry to it), not by reading the
// other campaigns' recipients or attempts; Unanswered reads the same
// index.
func TestAssignUsesAttemptsByNumber(t *testing.T) {
	st := openInternal(t)
	if p := queryPlan(t, st, assignSQL, 1, "[]"); !strings.Contains(p, "INDEX attempts_to_phone (to_phone=?)") {
		t.Errorf("plan %q: the earlier sends are not looked up in attempts_to_phone", p)
	}
	if p := queryPlan(t, st, unansweredSQL(2), "+1", "+2"); !strings.Contains(p, "INDEX attempts_to_phone (to_phone=?)") {
		t.Errorf("plan %q: the unanswered sends are not looked up in attempts_to_phone", p)
	}
}

// queryPlan is SQLite's plan for q, its steps joined by "; ".
func queryPlan(t *testing.T, st *Store, q string, args ...any) string {
	t.Helper()
	rows, err := st.r.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(plan, "; ")
}

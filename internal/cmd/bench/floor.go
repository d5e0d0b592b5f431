package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"time"

	"github.com/whatsend/whatsend/campaign"
	"github.com/whatsend/whatsend/internal/listgen"
)

// The floor rows measure what the machine charges for pacing and HTTP
// alone, so a rate row's figure can be read against it: a process that
// only wakes at each step of the send grid (timer), and one that also
// sends the step's requests with net/http (the client whatsend uses) and
// decodes their answers, with no store and no journal. Both run as a
// child of the bench (floorArg), so their CPU comes from rusage like every
// other row's.
const floorArg = "-floor-child"

// floorChild is the child's body: args are mode (timer or http), the
// simulator's URL, n and the rate.
func floorChild(args []string) {
	if len(args) != 4 {
		fatal(fmt.Errorf("%s: want mode url n rate, got %q", floorArg, args))
	}
	mode, url := args[0], args[1]
	n, err1 := strconv.Atoi(args[2])
	rate, err2 := strconv.ParseFloat(args[3], 64)
	if err1 != nil || err2 != nil || n <= 0 || rate <= 0 {
		fatal(fmt.Errorf("%s: bad n or rate in %q", floorArg, args))
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 1024
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failed int
	// The slots are those whatsend paces: on campaign.SendGrid's steps,
	// each step sending the requests the rate allows in it.
	tick := time.NewTicker(campaign.SendGrid)
	defer tick.Stop()
	perStep := rate * campaign.SendGrid.Seconds()
	for step, i := 1, 0; i < n; step++ {
		<-tick.C
		for ; i < n && float64(i) < float64(step)*perStep; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if mode == "timer" {
					return
				}
				if err := floorSend(client, url, listgen.Phone(i)); err != nil {
					mu.Lock()
					failed++
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	if failed > 0 {
		fatal(fmt.Errorf("%d of %d requests failed", failed, n))
	}
}

// floorSend posts a template message shaped like the campaign rows' and
// decodes the answer.
func floorSend(c *http.Client, url, to string) error {
	body, err := json.Marshal(map[string]any{
		"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": "template",
		"template": map[string]any{
			"name": "order_update", "language": map[string]string{"code": "en_US"},
			"components": []any{map[string]any{"type": "body", "parameters": []any{
				map[string]string{"type": "text", "text": "Ana"}, map[string]string{"type": "text", "text": "A-1001"}}}},
		},
	})
	if err != nil {
		return err
	}
	req, err := http.NewRequest(http.MethodPost, url+"/v21.0/100000000000001/messages", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer sim-token")
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var answer map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

// floorRows prints, under a rate row, the timer-only and net/http-only
// processes' CPU per 1,000 at the same rate and latency. Below
// campaign.LowRateBelow, where whatsend sends on one core, the net/http
// floor is also measured on one core (GOMAXPROCS=1).
func (b *bench) floorRows(n int, rate, latency string) error {
	type floor struct {
		name, mode string
		env        []string
	}
	floors := []floor{
		{"  floor: a timer per step of the send grid, nothing sent", "timer", nil},
		{"  floor: net/http sends alone (no store, no journal)", "http", nil},
	}
	if r, err := strconv.ParseFloat(rate, 64); err == nil && r < campaign.LowRateBelow {
		floors = append(floors, floor{"  floor: the same on one core (GOMAXPROCS=1, as whatsend here)", "http", []string{"GOMAXPROCS=1"}})
	}
	for _, f := range floors {
		var per []float64
		for range b.runs {
			s, err := b.startSim(engineSim(latency)...)
			if err != nil {
				return err
			}
			cmd := exec.Command(os.Args[0], floorArg, f.mode, s.url, strconv.Itoa(n), rate)
			cmd.Env = append(os.Environ(), f.env...)
			out, err := cmd.CombinedOutput()
			s.stop()
			if err != nil {
				return fmt.Errorf("floor %s: %v\n%s", f.mode, err, tail(string(out), 2000))
			}
			cpu, _ := rusageOf(cmd.ProcessState)
			per = append(per, per1000(cpu, n))
		}
		row(f.name, fmt.Sprintf("%.3f CPU-s/1000", median(per)), "-", fmtAll(per, 3))
	}
	return nil
}

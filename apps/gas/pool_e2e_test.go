package main

import (
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

var (
	poolRunning = regexp.MustCompile(`id="running">(\d+)<`)
	poolEvent   = regexp.MustCompile(`<tr><td>[0-9:]+</td><td>(\d+)</td><td>(\d+)</td><td>([a-z-]+)</td></tr>`)
)

// scalingPage reads the running annotators and the resizes (oldest first)
// from /scaling.
func scalingPage(t *testing.T, base string) (running string, resizes [][]string) {
	t.Helper()
	resp, err := http.Get(base + "/scaling")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := poolRunning.FindSubmatch(b)
	if m == nil {
		t.Fatalf("no pool size on /scaling:\n%s", b)
	}
	evs := poolEvent.FindAllStringSubmatch(string(b), -1)
	for i := len(evs) - 1; i >= 0; i-- {
		resizes = append(resizes, evs[i][1:])
	}
	return string(m[1]), resizes
}

// gas serve's annotator pool grows under a burst of jobs from its minimum
// toward its maximum and shrinks back once the queue is empty, by the
// target tracking rules; the /scaling page shows it, in Chromium too.
func TestServePoolGrowsAndShrinksOnItsStatusPage(t *testing.T) {
	bin := buildGas(t)
	srv := startGas(t, bin, "--quiet", "--workers", "3", "--workers-min", "1", "--scale-tick", "250ms")
	srv.quietLogs()
	c := signInForLoad(t, srv.URL, "pool@example.org", true)
	if running, _ := scalingPage(t, srv.URL); running != "1" {
		t.Fatalf("idle pool runs %s annotators, want the minimum 1", running)
	}
	out, err := exec.Command(bin, "load", "jobs", "--url", srv.URL, "--token", c.token, "--file", jobVCF(t, 10_000),
		"--rate", "30", "--duration", "5s", "--json").CombinedOutput()
	if err != nil || !strings.Contains(string(out), `"unfinished":0`) || !strings.Contains(string(out), `"failed":0`) {
		t.Fatalf("gas load jobs: %v\n%s", err, out)
	}
	var resizes [][]string
	deadline := time.Now().Add(60 * time.Second)
	for {
		var running string
		running, resizes = scalingPage(t, srv.URL)
		if running == "1" && len(resizes) >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pool did not return to 1 after growing: running %s, resizes %v", running, resizes)
		}
		time.Sleep(250 * time.Millisecond)
	}
	first, last := resizes[0], resizes[len(resizes)-1]
	if first[0] != "1" || first[1] <= "1" || last[1] != "1" {
		t.Fatalf("resizes %v: want growth from 1 first and a return to 1 last", resizes)
	}
	for _, r := range resizes {
		if r[1] < "1" || r[1] > "3" {
			t.Fatalf("resize outside 1..3: %v", resizes)
		}
	}
	ctx, cancel := newBrowser(t)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/scaling")); err != nil {
		t.Fatal(err)
	}
	shown := runAction(t, ctx, chromedp.Text(chromedp.ID("running")), srv)
	rows := runAction(t, ctx, chromedp.Text(chromedp.CSS("#events tbody")), srv)
	if shown != "1" || !strings.Contains(rows, "annotator-") {
		t.Fatalf("Chromium shows %q annotators and resizes %q", shown, rows)
	}
	t.Logf("pool resizes (from, to, rule), oldest first: %v", resizes)
}

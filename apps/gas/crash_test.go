package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gasproject/gas/adapters/engine/synth"
)

// TestCrashRecovery kills the real `gas serve` with SIGKILL at random
// moments — mid-upload, mid-annotation, while results wait to be archived
// and while a restore is under way — many times over, restarting it on
// the same data directory each time, and checks that nothing is lost:
// users keep their plan and "member since", tokens and session cookies
// still work, every job the API acknowledged completes exactly once with a
// result byte-identical to `gas annotate` on the same input, a free user's
// result is archived when its window ends and restored after an upgrade.
func TestCrashRecovery(t *testing.T) {
	bin := buildGas(t)
	cache, data := t.TempDir(), t.TempDir()
	// Every kill interrupts the jobs then running, and a job may be running
	// at several: more attempts than the default 3 keep the bound on
	// retries (tested in domain/workers) out of this test's way.
	args := []string{"--data", data, "--cache", cache, "--lease", "2s", "--window", "6s", "--max-attempts", "20",
		"--expedited-restore", "3s", "--standard-restore", "6s", "--workers", "2", "--workers-min", "2", "--quiet"}
	c := &crashRun{t: t, bin: bin, args: args, cache: cache, expected: map[string]string{}, names: map[string]string{}}
	c.srv = startGas(t, bin, args...)
	premium := signInForLoad(t, c.srv.URL, "premium@example.org", true)
	free := signInForLoad(t, c.srv.URL, "free@example.org", false)
	c.clients = []*loadClient{premium, free}
	before := map[*loadClient]string{premium: c.me(premium), free: c.me(free)}

	// Inputs on the default reference, and what gas annotate makes of them.
	big := c.input("big.vcf", 12<<20)
	small := c.input("small.vcf", 8<<10)
	freeJob := c.submit(free, "small.vcf", small, 0)
	c.await(free, freeJob, "COMPLETED", "", time.Minute)

	rng := rand.New(rand.NewPCG(14, 9))
	var acked []string
	killedRunning, killedUploads := 0, 0
	for round := range 8 {
		var wg sync.WaitGroup
		var mu sync.Mutex
		var uploadErrs int
		for i := range 3 {
			throttle := time.Duration(0)
			if i == 2 {
				throttle = 80 * time.Millisecond // ~4 s for the whole file: the kill lands mid-upload
			}
			wg.Go(func() {
				id, err := c.trySubmit(premium, fmt.Sprintf("r%d-%d.vcf", round, i), big, throttle)
				mu.Lock()
				defer mu.Unlock()
				if err == nil {
					acked = append(acked, id)
					c.expected[id] = c.expected["big.vcf"]
					c.names[id] = fmt.Sprintf("r%d-%d.vcf", round, i)
				} else if throttle > 0 {
					uploadErrs++
				}
			})
		}
		time.Sleep(time.Duration(300+rng.IntN(1700)) * time.Millisecond)
		killedRunning += c.running(premium)
		if round == 3 {
			// The free result must have gone to cold storage on schedule
			// despite the kills; upgrading starts its restore, which the
			// next kills interrupt.
			c.await(free, freeJob, "COMPLETED", "ARCHIVED", time.Minute)
			c.upgrade(free)
		}
		c.kill()
		wg.Wait()
		killedUploads += uploadErrs
		c.restart()
		for cl, want := range before {
			if got := c.me(cl); got != want && !(cl == free && round >= 3) {
				t.Fatalf("after restart %d the user is %s, was %s", round, got, want)
			}
		}
		for _, cl := range c.clients {
			r, err := cl.http.Get(c.srv.URL + "/profile")
			if err != nil {
				t.Fatal(err)
			}
			r.Body.Close()
			if r.StatusCode != http.StatusOK || r.Request.URL.Path != "/profile" {
				t.Fatalf("after restart %d a session cookie no longer signs in: %s at %s", round, r.Status, r.Request.URL)
			}
		}
	}
	t.Logf("%d kills: %d with annotations running, %d mid-upload; %d jobs acknowledged", 8, killedRunning, killedUploads, len(acked))
	if killedRunning == 0 || killedUploads == 0 {
		t.Fatalf("no kill landed mid-annotation (%d) or mid-upload (%d): the test proves nothing", killedRunning, killedUploads)
	}
	if got := c.me(free); !strings.Contains(got, "PREMIUM") {
		t.Fatalf("the upgrade was lost: %s", got)
	}
	for _, id := range acked {
		c.await(premium, id, "COMPLETED", "", 3*time.Minute)
		c.sameResult(premium, id, c.expected["big.vcf"])
	}
	c.await(free, freeJob, "COMPLETED", "AVAILABLE", time.Minute)
	c.sameResult(free, freeJob, c.expected["small.vcf"])
	// Nothing the API did not acknowledge is half there: every job the user
	// has is one of the acknowledged (a kill may also have lost an
	// acknowledgement of a job that was stored) and completed.
	for id, st := range premium.allJobs() {
		if st != "COMPLETED" {
			t.Errorf("job %s is %s after recovery", id, st)
		}
	}
	// Every completion was e-mailed. A kill between sending an e-mail and
	// recording it sends it again (notices are at least once, by design).
	resp, err := premium.http.Get(c.srv.URL + "/outbox")
	if err != nil {
		t.Fatal(err)
	}
	outbox, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	dup := 0
	for _, id := range acked {
		name := c.names[id]
		switch n := strings.Count(string(outbox), "annotation of "+name+" completed"); {
		case n == 0:
			t.Errorf("no e-mail about %s (%s)", name, id)
		case n > 1:
			dup++
		}
	}
	t.Logf("%d of %d completions e-mailed twice (a kill between sending and recording)", dup, len(acked))
	if left, _ := os.ReadDir(filepath.Join(data, "objects", "tmp")); len(left) != 0 {
		t.Errorf("%d temporary files of killed uploads left behind", len(left))
	}
}

// crashRun drives one server process after another on the same data.
type crashRun struct {
	t        *testing.T
	bin      string
	args     []string
	cache    string
	srv      *gasServer
	clients  []*loadClient
	expected map[string]string // input name or job id -> SHA-256 of gas annotate's output
	names    map[string]string // job id -> input name
}

// input writes a VCF of about size bytes on the default synthetic genome
// (the generator the server's reference comes from) and records the hash
// of what gas annotate makes of it.
func (c *crashRun) input(name string, size int) []byte {
	g, err := synth.New(syntheticConfig())
	if err != nil {
		c.t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := g.WriteSampleVCF(&buf, size); err != nil {
		c.t.Fatal(err)
	}
	path := filepath.Join(c.t.TempDir(), name)
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		c.t.Fatal(err)
	}
	db := filepath.Join(c.cache, syntheticDB)
	out, err := exec.Command(c.bin, "annotate", "--db", db, path).Output()
	if err != nil {
		c.t.Fatalf("gas annotate %s: %v", name, err)
	}
	sum := sha256.Sum256(out)
	c.expected[name] = hex.EncodeToString(sum[:])
	return buf.Bytes()
}

func (c *crashRun) kill() {
	c.srv.cmd.Process.Kill()
	c.srv.cmd.Wait()
}

func (c *crashRun) restart() {
	c.srv = startGas(c.t, c.bin, c.args...)
	for _, cl := range c.clients {
		cl.base = c.srv.URL
	}
}

// me is the user as the API describes them, by their token.
func (c *crashRun) me(cl *loadClient) string {
	req, _ := http.NewRequest(http.MethodGet, c.srv.URL+"/api/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+cl.token)
	resp, err := cl.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		c.t.Fatalf("token refused after a restart: %s %s", resp.Status, b)
	}
	return string(b)
}

func (c *crashRun) submit(cl *loadClient, name string, vcf []byte, throttle time.Duration) string {
	id, err := c.trySubmit(cl, name, vcf, throttle)
	if err != nil {
		c.t.Fatal(err)
	}
	c.expected[id] = c.expected[name]
	return id
}

// trySubmit uploads vcf through the API, in 256 KiB pieces throttle apart.
func (c *crashRun) trySubmit(cl *loadClient, name string, vcf []byte, throttle time.Duration) (string, error) {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		fw, _ := mw.CreateFormFile("file", name)
		for rest := vcf; len(rest) > 0; {
			n := min(len(rest), 256<<10)
			if _, err := fw.Write(rest[:n]); err != nil {
				pw.CloseWithError(err)
				return
			}
			rest = rest[n:]
			time.Sleep(throttle)
		}
		pw.CloseWithError(mw.Close())
	}()
	req, _ := http.NewRequest(http.MethodPost, cl.base+"/api/v1/jobs", pr)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+cl.token)
	resp, err := cl.http.Do(req)
	if err != nil {
		pr.CloseWithError(err)
		return "", err
	}
	defer resp.Body.Close()
	var j struct{ ID string }
	if resp.StatusCode != http.StatusCreated {
		b, _ := io.ReadAll(resp.Body)
		return "", fmt.Errorf("submit %s: %s %s", name, resp.Status, b)
	}
	return j.ID, json.NewDecoder(resp.Body).Decode(&j)
}

// running counts the user's jobs being annotated now.
func (c *crashRun) running(cl *loadClient) int {
	n := 0
	for _, st := range cl.allJobs() {
		if st == "RUNNING" {
			n++
		}
	}
	return n
}

type jobState struct {
	Status  string `json:"status"`
	Storage string `json:"storage"`
	Reason  string `json:"failure_reason"`
}

// await polls a job until it has status (and storage, when given).
func (c *crashRun) await(cl *loadClient, id, status, storage string, limit time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(limit)
	var j jobState
	for time.Now().Before(deadline) {
		req, _ := http.NewRequest(http.MethodGet, c.srv.URL+"/api/v1/jobs/"+url.PathEscape(id), nil)
		req.Header.Set("Authorization", "Bearer "+cl.token)
		resp, err := cl.http.Do(req)
		if err != nil {
			c.t.Fatal(err)
		}
		if resp.StatusCode == http.StatusNotFound {
			c.t.Fatalf("acknowledged job %s was lost", id)
		}
		err = json.NewDecoder(resp.Body).Decode(&j)
		resp.Body.Close()
		if err != nil {
			c.t.Fatal(err)
		}
		if j.Status == "FAILED" || j.Status == "CANCELLED" {
			c.t.Fatalf("job %s ended %s: %s", id, j.Status, j.Reason)
		}
		if j.Status == status && (storage == "" || j.Storage == storage) {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	c.t.Fatalf("job %s is %s/%s after %s, want %s/%s", id, j.Status, j.Storage, limit, status, storage)
}

func (c *crashRun) sameResult(cl *loadClient, id, want string) {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.srv.URL+"/api/v1/jobs/"+url.PathEscape(id)+"/result", nil)
	req.Header.Set("Authorization", "Bearer "+cl.token)
	resp, err := cl.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	h := sha256.New()
	if _, err := io.Copy(h, resp.Body); err != nil || resp.StatusCode != http.StatusOK {
		c.t.Fatalf("result of %s: %s %v", id, resp.Status, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		c.t.Fatalf("result of %s differs from gas annotate's (sha256 %s, want %s)", id, got[:12], want[:12])
	}
}

// upgrade makes the user premium through the plan page, as a browser does.
func (c *crashRun) upgrade(cl *loadClient) {
	resp, err := cl.http.Get(c.srv.URL + "/subscribe")
	if err != nil {
		c.t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfInPage.FindSubmatch(page)
	if m == nil {
		c.t.Fatalf("no CSRF token on the plan page")
	}
	req, _ := http.NewRequest(http.MethodPost, c.srv.URL+"/subscribe", strings.NewReader(url.Values{"csrf_token": {string(m[1])}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", c.srv.URL)
	resp, err = cl.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	resp.Body.Close()
}

package main

import (
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBackupOfARunningServer backs up the data directory of a running
// `gas serve` and runs a second server on the copy: users, tokens, jobs
// and results are all there. A second server on the live directory is
// refused, naming the data directory.
func TestBackupOfARunningServer(t *testing.T) {
	bin := buildGas(t)
	data, out := filepath.Join(t.TempDir(), "data"), filepath.Join(t.TempDir(), "backup")
	srv := startGas(t, bin, "--data", data, "--quiet")
	c := signInForLoad(t, srv.URL, "kept@example.org", true)
	ids, _, _ := submitAll(t, srv, c, 3, 3)

	second := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--data", data)
	msg, err := second.CombinedOutput()
	if err == nil || !strings.Contains(string(msg), data) || !strings.Contains(string(msg), "another gas serve") {
		t.Fatalf("a second server on the same data directory: %v\n%s", err, msg)
	}

	if msg, err := exec.Command(bin, "backup", "--data", data, out).CombinedOutput(); err != nil {
		t.Fatalf("gas backup: %v\n%s", err, msg)
	}
	if msg, err := exec.Command(bin, "backup", "--data", data, out).CombinedOutput(); err == nil {
		t.Fatalf("a backup over an existing one succeeded:\n%s", msg)
	}
	srv.stop(t)
	restored := startGas(t, bin, "--data", out, "--quiet")
	c.base = restored.URL
	st := c.allJobs()
	for _, id := range ids {
		if st[id] != "COMPLETED" {
			t.Fatalf("job %s is %q in the backup", id, st[id])
		}
		req, _ := http.NewRequest(http.MethodGet, restored.URL+"/api/v1/jobs/"+id+"/result", nil)
		req.Header.Set("Authorization", "Bearer "+c.token)
		resp, err := c.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), "ANN=") {
			t.Fatalf("result of %s from the backup: %s %.100q", id, resp.Status, b)
		}
	}
	if r, err := c.http.Get(restored.URL + "/profile"); err != nil || r.Request.URL.Path != "/profile" {
		t.Fatalf("the session cookie does not sign in on the backup: %v", err)
	}
	if _, err := os.Stat(filepath.Join(out, "gas.db")); err != nil {
		t.Fatal(err)
	}
}

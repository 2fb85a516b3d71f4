package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

const chromiumPath = "/usr/bin/chromium"

// gasServer is a real `gas serve` process built from this package.
type gasServer struct {
	URL  string
	cmd  *exec.Cmd
	mu   sync.Mutex
	keep bool
	logs *strings.Builder
}

// quietLogs stops keeping the server's log lines (load tests log a line
// per request); the pipe is still drained.
func (s *gasServer) quietLogs() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keep = false
}

// buildGas compiles the gas command once per test binary run.
func buildGas(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "gas")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go build: %v", err)
	}
	return bin
}

// startGas runs `gas serve` on a free loopback port and waits until it
// says where it listens.
func startGas(t testing.TB, bin string, args ...string) *gasServer {
	t.Helper()
	all := append([]string{"serve", "--addr", "127.0.0.1:0", "--data", filepath.Join(t.TempDir(), "data")}, args...)
	cmd := exec.Command(bin, all...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &gasServer{cmd: cmd, logs: &strings.Builder{}, keep: true}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			if s.keep {
				s.logs.WriteString(line + "\n")
			}
			s.mu.Unlock()
			if u, ok := strings.CutPrefix(line, "gas serve: listening on "); ok {
				found <- u
			}
		}
	}()
	select {
	case s.URL = <-found:
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("gas serve did not start:\n%s", s.logs.String())
	}
	t.Cleanup(func() { s.stop(t) })
	return s
}

// stop sends SIGTERM and expects a clean, prompt exit (graceful shutdown).
func (s *gasServer) stop(t testing.TB) {
	if s.cmd.ProcessState != nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("gas serve exited with %v after SIGTERM:\n%s", err, s.logs.String())
		}
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
		t.Errorf("gas serve did not stop within 20 s of SIGTERM")
	}
}

func newBrowser(t *testing.T) (context.Context, context.CancelFunc) {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("end-to-end browser test skipped: %s not found (apt-get install chromium)", chromiumPath)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1000),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		cancelC()
		cancelA()
		t.Fatalf("start chromium: %v", err)
	}
	return ctx, func() { cancelC(); cancelA() }
}

// shot saves a full-page screenshot when GAS_SCREENSHOTS names a directory.
func shot(name string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		dir := os.Getenv("GAS_SCREENSHOTS")
		if dir == "" {
			return nil
		}
		buf, err := chromedp.FullScreenshot(100)(ctx, t)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, name+".png"), buf, 0o644)
	})
}

// runAction runs one value-returning action.
// clickToLoad clicks sel and returns once the page the click leads to has
// loaded. A plain Click returns as the navigation starts, so a next step
// could match an element of the page being left, or start a query on a
// document that is then replaced and wait for it forever.
func clickToLoad[S chromedp.Selectable](sel S) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(sel))(ctx, t)
		return chromedp.Void{}, err
	}
}

func runAction[T any](t *testing.T, ctx context.Context, a chromedp.Action[T], srv *gasServer) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("browser: %v\nserver log:\n%s", err, srv.logs.String())
	}
	return v
}

// fetchText downloads path inside the browser (its cookies, its
// redirects) and returns the body.
func fetchText(path string) chromedp.Action[string] {
	return chromedp.Evaluate[string](fmt.Sprintf(`fetch(%q, {credentials: "same-origin"}).then(r => r.ok ? r.text() : "HTTP " + r.status)`, path),
		chromedp.EvalAwaitPromise)
}

// TestServeEndToEndInChromium drives the real `gas serve` process in
// headless Chromium: dev sign-in, upload, completion, charts, download with
// ANN; the free window passing (archived), upgrade, restore, download again.
func TestServeEndToEndInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end browser test skipped with -short")
	}
	ctx, cancel := newBrowser(t)
	defer cancel()
	srv := startGas(t, buildGas(t), "--window", "6s", "--expedited-restore", "2s", "--workers", "2")
	base := srv.URL
	tctx, cancelT := context.WithTimeout(ctx, 3*time.Minute)
	defer cancelT()
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(tctx, steps...); err != nil {
			t.Fatalf("%s: %v\nserver log:\n%s", what, err, srv.logs.String())
		}
	}

	// Sample VCFs to upload through the file input, as a person would.
	save := func(sample, name string) string {
		resp, err := http.Get(base + "/samples/" + sample)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		p := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	upload := save("sample-small.vcf", "my-variants.vcf")
	bigPath := save("sample-over-free-limit.vcf", "too-big.vcf")

	do("sign in",
		chromedp.Navigate(base+"/"), shot("01-home"),
		chromedp.Navigate(base+"/signin"),
		chromedp.WaitVisible(chromedp.ID("dev-signin")), shot("02-signin"),
		chromedp.SetValue(chromedp.ID("dev-name"), "Rosalind Franklin"),
		chromedp.SetValue(chromedp.ID("dev-email"), "rosalind@example.org"),
		clickToLoad(chromedp.ID("dev-signin")),
		chromedp.WaitVisible(chromedp.CSS("main h1")),
	)
	do("refused upload",
		chromedp.Navigate(base+"/annotate"),
		chromedp.WaitVisible(chromedp.ID("file")),
		chromedp.SetUploadFiles(chromedp.ID("file"), []string{bigPath}),
		chromedp.Click(chromedp.ID("submit-upload")),
		chromedp.WaitVisible(chromedp.CSS(".alert")), shot("03-refused-too-large"),
	)
	refused := runAction(t, tctx, chromedp.Text(chromedp.CSS(".alert")), srv)
	if !strings.Contains(refused, "free accounts may submit up to 150 KiB") || !strings.Contains(refused, "Upgrade to premium") {
		t.Fatalf("151 KB upload not refused with the limit and an upgrade offer: %q", refused)
	}
	do("upload",
		chromedp.SetUploadFiles(chromedp.ID("file"), []string{upload}), shot("04-annotate"),
		chromedp.Click(chromedp.ID("submit-upload")),
		chromedp.WaitVisible(chromedp.CSS("[data-live-job]")),
		// The page's script reloads it when the job finishes.
		chromedp.WaitVisible(chromedp.ID("download-vcf")), shot("05-completed"),
	)
	jobURL := runAction(t, tctx, chromedp.Location(), srv)
	badge := runAction(t, tctx, chromedp.Text(chromedp.CSS("[data-live-job] .badge")), srv)
	bars := runAction(t, tctx, chromedp.Evaluate[int](`document.querySelectorAll("figure.chart svg rect").length`), srv)
	charts := runAction(t, tctx, chromedp.Evaluate[int](`document.querySelectorAll("figure.chart svg").length`), srv)
	rows := runAction(t, tctx, chromedp.Evaluate[int](`document.querySelectorAll("#variant-table tbody tr").length`), srv)
	if badge != "COMPLETED" || charts < 3 || bars < 5 || rows == 0 {
		t.Fatalf("detail page: badge %q, %d charts with %d bars, %d table rows", badge, charts, bars, rows)
	}
	id := jobURL[strings.LastIndex(jobURL, "/")+1:]
	vcf := runAction(t, tctx, fetchText("/annotations/"+id+"/download/vcf"), srv)
	if !strings.Contains(vcf, "##INFO=<ID=ANN") || !strings.Contains(vcf, "ANN=") {
		t.Fatalf("downloaded VCF has no ANN annotations:\n%.500s", vcf)
	}
	// The default reference has known variants: the sample gets rsIDs and
	// the detail page counts them.
	if !strings.Contains(vcf, "KNOWN_AF=") || !strings.Contains(vcf, "\trs") {
		t.Fatalf("downloaded VCF has no known variants (rsID, KNOWN_AF):\n%.500s", vcf)
	}
	knownText := runAction(t, tctx, chromedp.Evaluate[string](`[...document.querySelectorAll("dt")].find(d => d.textContent === "Known").nextElementSibling.textContent`), srv)
	if strings.HasPrefix(strings.TrimSpace(knownText), "0 ") {
		t.Fatalf("detail page shows no known variants: %q", knownText)
	}

	// The free window passes: the page updates itself to "archived".
	do("archived", chromedp.WaitVisible(chromedp.ID("archived-notice")), shot("06-archived"))
	archived := runAction(t, tctx, chromedp.Text(chromedp.ID("archived-notice")), srv)
	if !strings.Contains(archived, "Upgrade to download") {
		t.Fatalf("archived notice: %q", archived)
	}
	if s := runAction(t, tctx, fetchText("/annotations/"+id+"/download/vcf"), srv); !strings.HasPrefix(s, "HTTP 409") {
		t.Fatalf("archived result downloadable: %.100q", s)
	}
	do("upgrade",
		chromedp.Click(chromedp.ID("upgrade-to-download")),
		chromedp.WaitVisible(chromedp.ID("upgrade")), shot("07-subscribe"),
		chromedp.Click(chromedp.ID("upgrade")),
		chromedp.WaitVisible(chromedp.CSS(".flash")), shot("08-upgraded"),
	)
	flash := runAction(t, tctx, chromedp.Text(chromedp.CSS(".flash")), srv)
	if !strings.Contains(flash, "Restoring your archived results has started") {
		t.Fatalf("upgrade message: %q", flash)
	}
	do("job page after upgrade", chromedp.Navigate(jobURL), chromedp.WaitVisible(chromedp.CSS("[data-live-job]")))
	restoring := runAction(t, tctx, chromedp.Evaluate[string](`(document.getElementById("restoring-notice") || {}).textContent || ""`), srv)
	if restoring != "" {
		do("restoring", shot("09-restoring"))
		if !strings.Contains(restoring, "Expedited retrieval, expected by") {
			t.Fatalf("restoring notice: %q", restoring)
		}
	}
	do("restored",
		chromedp.WaitVisible(chromedp.ID("download-vcf")), shot("10-restored"),
	)
	vcf = runAction(t, tctx, fetchText("/annotations/"+id+"/download/vcf"), srv)
	if !strings.Contains(vcf, "ANN=") {
		t.Fatalf("restored VCF has no ANN:\n%.300s", vcf)
	}
	do("other pages",
		chromedp.Navigate(base+"/annotations"), shot("11-list"),
		chromedp.Navigate(base+"/profile"), shot("12-profile"),
		chromedp.Navigate(base+"/outbox"), shot("13-outbox"),
		chromedp.Navigate(jobURL+"?impact=MODERATE#variants"), shot("14-filtered"),
	)
	t.Logf("end to end passed; restoring notice seen before completion: %v", restoring != "")
}

package download

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Fetcher downloads Remotes into a directory, resuming interrupted
// transfers from their .part files with HTTP Range requests and verifying
// each file against the provider's checksum list before it takes its
// final name.
type Fetcher struct {
	client   *http.Client
	log      *slog.Logger
	attempts int
	backoff  time.Duration
	progress func(name string, done, total int64)
}

// FetcherOption configures a Fetcher.
type FetcherOption func(*Fetcher)

// WithClient sets the HTTP client (default: http.DefaultClient's transport
// with no overall timeout, since genomes take minutes).
func WithClient(c *http.Client) FetcherOption { return func(f *Fetcher) { f.client = c } }

// WithAttempts sets how many times a transfer is tried (resuming) before
// giving up (default 5), and the pause after the first failure, doubled
// each time (default 1 s).
func WithAttempts(n int, backoff time.Duration) FetcherOption {
	return func(f *Fetcher) { f.attempts, f.backoff = max(n, 1), backoff }
}

// WithProgress reports transfer progress (bytes so far, total or -1).
func WithProgress(fn func(name string, done, total int64)) FetcherOption {
	return func(f *Fetcher) { f.progress = fn }
}

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) FetcherOption { return func(f *Fetcher) { f.log = l } }

// NewFetcher returns a Fetcher.
func NewFetcher(opts ...FetcherOption) *Fetcher {
	f := &Fetcher{client: &http.Client{}, log: slog.Default(), attempts: 5, backoff: time.Second}
	for _, o := range opts {
		o(f)
	}
	return f
}

// Fetch makes dir/r.Name a verified copy of r and returns its path. A file
// already there that matches the checksum is kept without downloading.
func (f *Fetcher) Fetch(ctx context.Context, r Remote, dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	sums, err := f.checksums(ctx, r)
	if err != nil {
		return "", err
	}
	want, ok := sums[r.Name]
	if !ok {
		return "", fmt.Errorf("%s does not list %s", r.ChecksumURL, r.Name)
	}
	final := filepath.Join(dir, r.Name)
	if err := verifyFile(final, want); err == nil {
		f.log.Info("reference file present and verified", "file", final)
		return final, nil
	}
	part := final + ".part"
	for fresh := 0; fresh < 2; fresh++ {
		if err := f.download(ctx, r.URL, part); err != nil {
			return "", err
		}
		err := verifyFile(part, want)
		if err == nil {
			if err := os.Rename(part, final); err != nil {
				return "", err
			}
			f.log.Info("reference file downloaded and verified", "file", final)
			return final, nil
		}
		if !errors.Is(err, ErrChecksum) {
			return "", err
		}
		// A corrupt partial (or a file changed upstream): start over once.
		f.log.Warn("checksum mismatch; downloading again from the start", "file", r.Name, "err", err)
		os.Remove(part)
		if fresh == 1 {
			return "", fmt.Errorf("%s: %w", r.URL, err)
		}
	}
	return "", fmt.Errorf("%s: unreachable", r.URL)
}

func verifyFile(path string, want Expected) error {
	fh, err := os.Open(path)
	if err != nil {
		return err
	}
	defer fh.Close()
	return want.Verify(fh)
}

func (f *Fetcher) checksums(ctx context.Context, r Remote) (map[string]Expected, error) {
	var lastErr error
	for i := 0; i < f.attempts; i++ {
		if i > 0 {
			if err := sleep(ctx, f.backoff<<(i-1)); err != nil {
				return nil, err
			}
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.ChecksumURL, nil)
		if err != nil {
			return nil, err
		}
		resp, err := f.client.Do(req)
		if err != nil {
			lastErr = err
			continue
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			lastErr = fmt.Errorf("GET %s: %s", r.ChecksumURL, resp.Status)
			if resp.StatusCode == http.StatusNotFound {
				return nil, lastErr
			}
			continue
		}
		m, err := ParseChecksums(io.LimitReader(resp.Body, 16<<20), r.Algo)
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.ChecksumURL, err)
		}
		return m, nil
	}
	return nil, lastErr
}

// download appends the rest of url to part, resuming from its size.
func (f *Fetcher) download(ctx context.Context, url, part string) error {
	var lastErr error
	for i := 0; i < f.attempts; i++ {
		if i > 0 {
			f.log.Warn("download interrupted; resuming", "url", url, "err", lastErr, "attempt", i+1)
			if err := sleep(ctx, f.backoff<<(i-1)); err != nil {
				return err
			}
		}
		done, err := f.downloadOnce(ctx, url, part)
		if err == nil && done {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, errPermanent) {
			return err
		}
		lastErr = err
	}
	return fmt.Errorf("download %s: %d attempts failed: %w", url, f.attempts, lastErr)
}

var errPermanent = errors.New("permanent HTTP failure")

func (f *Fetcher) downloadOnce(ctx context.Context, url, part string) (bool, error) {
	fh, err := os.OpenFile(part, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return false, err
	}
	defer fh.Close()
	have, err := fh.Seek(0, io.SeekEnd)
	if err != nil {
		return false, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false, err
	}
	if have > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(have, 10)+"-")
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	total := int64(-1)
	switch resp.StatusCode {
	case http.StatusPartialContent:
		start, size, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if !ok || start != have {
			return false, fmt.Errorf("GET %s: unexpected Content-Range %q for a resume at %d", url, resp.Header.Get("Content-Range"), have)
		}
		total = size
	case http.StatusOK:
		// The server ignored the range (or this is a fresh start).
		if err := fh.Truncate(0); err != nil {
			return false, err
		}
		if _, err := fh.Seek(0, io.SeekStart); err != nil {
			return false, err
		}
		have = 0
		total = resp.ContentLength
	case http.StatusRequestedRangeNotSatisfiable:
		return true, nil // the part is already complete; the checksum decides
	case http.StatusNotFound, http.StatusForbidden, http.StatusGone:
		return false, fmt.Errorf("GET %s: %s: %w", url, resp.Status, errPermanent)
	default:
		return false, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	name := filepath.Base(part)
	w := io.Writer(fh)
	if f.progress != nil {
		w = &progressWriter{w: fh, name: strings.TrimSuffix(name, ".part"), done: have, total: total, fn: f.progress}
	}
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		return false, fmt.Errorf("GET %s: after %d bytes: %w", url, have+n, err)
	}
	if total >= 0 && have+n != total {
		return false, fmt.Errorf("GET %s: got %d of %d bytes", url, have+n, total)
	}
	return true, fh.Sync()
}

// parseContentRange reads "bytes START-END/SIZE".
func parseContentRange(v string) (start, size int64, ok bool) {
	v, found := strings.CutPrefix(v, "bytes ")
	if !found {
		return 0, 0, false
	}
	rng, sz, found := strings.Cut(v, "/")
	if !found {
		return 0, 0, false
	}
	a, _, found := strings.Cut(rng, "-")
	if !found {
		return 0, 0, false
	}
	start, err := strconv.ParseInt(a, 10, 64)
	if err != nil {
		return 0, 0, false
	}
	size = -1
	if sz != "*" {
		if size, err = strconv.ParseInt(sz, 10, 64); err != nil {
			return 0, 0, false
		}
	}
	return start, size, true
}

type progressWriter struct {
	w           io.Writer
	name        string
	done, total int64
	last        time.Time
	fn          func(string, int64, int64)
}

func (p *progressWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.done += int64(n)
	if now := time.Now(); now.Sub(p.last) > 500*time.Millisecond || p.done == p.total {
		p.last = now
		p.fn(p.name, p.done, p.total)
	}
	return n, err
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

package presign_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gasproject/gas/adapters/disk"
	"github.com/gasproject/gas/adapters/memory"
	"github.com/gasproject/gas/adapters/presign"
	"github.com/gasproject/gas/ports"
)

type presignStore interface {
	ports.ObjectStore
	Handler() http.Handler
}

// served starts a loopback server that mounts the store under /objects.
func served(t *testing.T, newStore func(prefix string) presignStore) (presignStore, *httptest.Server) {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	store := newStore("http://" + srv.Listener.Addr().String() + "/objects")
	mux := http.NewServeMux()
	mux.Handle("/objects/", store.Handler())
	srv.Config.Handler = mux
	srv.Start()
	t.Cleanup(srv.Close)
	return store, srv
}

func bothStores(t *testing.T, clock ports.Clock) map[string]func(prefix string) presignStore {
	dir := t.TempDir()
	return map[string]func(string) presignStore{
		"Memory": func(prefix string) presignStore {
			s, err := memory.NewObjectStore(memory.WithURLPrefix(prefix), memory.WithObjectClock(clock))
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
		"Disk": func(prefix string) presignStore {
			s, err := disk.NewObjectStore(dir, presign.Config{URLPrefix: prefix, Clock: clock})
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
	}
}

func multipartBody(t *testing.T, fields map[string]string, order []string, file []byte) (io.Reader, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, k := range order {
		if err := mw.WriteField(k, fields[k]); err != nil {
			t.Fatal(err)
		}
	}
	fw, err := mw.CreateFormFile(presign.FieldFile, "in.vcf")
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(file)
	mw.Close()
	return &buf, mw.FormDataContentType()
}

func post(t *testing.T, srv *httptest.Server, u string, body io.Reader, ctype string) (*http.Response, string) {
	t.Helper()
	c := srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Post(u, ctype, body)
	if err != nil {
		t.Fatalf("post: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

var formOrder = []string{presign.FieldKey, presign.FieldPolicy, presign.FieldSignature}

func TestPresignedUploadRefuses151KBFor150KBLimit(t *testing.T) {
	clock := memory.NewFakeClock(time.Now())
	for name, mk := range bothStores(t, clock) {
		t.Run(name, func(t *testing.T) {
			store, srv := served(t, mk)
			ctx := context.Background()
			const limit = 150 * 1024
			form, err := store.PresignUpload(ctx, "inputs/u1/j1/input", limit, "/jobs/j1/submitted", time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			body, ctype := multipartBody(t, form.Fields, formOrder, bytes.Repeat([]byte("A"), 151*1024))
			resp, msg := post(t, srv, form.URL, body, ctype)
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(msg, "EntityTooLarge") {
				t.Fatalf("151 KB for a 150 KB limit: %s %q, want 400 EntityTooLarge", resp.Status, msg)
			}
			if _, err := store.Head(ctx, form.Key); !errors.Is(err, ports.ErrNotFound) {
				t.Fatalf("refused upload stored an object: %v", err)
			}
			// The same form with an allowed body works and redirects with the key.
			body, ctype = multipartBody(t, form.Fields, formOrder, bytes.Repeat([]byte("A"), limit))
			resp, _ = post(t, srv, form.URL, body, ctype)
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("allowed upload: %s", resp.Status)
			}
			info, err := store.Head(ctx, form.Key)
			if err != nil || info.Size != limit {
				t.Fatalf("allowed upload stored %+v, %v", info, err)
			}
			// The redirect names the key, and the SHA-256 where the store records one.
			loc, _ := url.Parse(resp.Header.Get("Location"))
			if loc.Path != "/jobs/j1/submitted" || loc.Query().Get("key") != form.Key || loc.Query().Get("sha256") != info.SHA256 {
				t.Fatalf("redirect %s for %+v", loc, info)
			}
		})
	}
}

// countingReader counts how much of a huge body the server pulled.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func TestPresignedUploadLimitIsEnforcedWhileStreaming(t *testing.T) {
	clock := memory.NewFakeClock(time.Now())
	dir := t.TempDir()
	store, srv := served(t, func(prefix string) presignStore {
		s, err := disk.NewObjectStore(dir, presign.Config{URLPrefix: prefix, Clock: clock})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
	form, err := store.PresignUpload(context.Background(), "inputs/u/j/input", 150*1024, "", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	// A 1 GiB body generated on the fly: the server must refuse long before reading it.
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		for _, k := range formOrder {
			mw.WriteField(k, form.Fields[k])
		}
		fw, _ := mw.CreateFormFile(presign.FieldFile, "huge.vcf")
		chunk := bytes.Repeat([]byte("x"), 64<<10)
		for i := 0; i < (1<<30)/len(chunk); i++ {
			if _, err := fw.Write(chunk); err != nil {
				pw.CloseWithError(err)
				return
			}
		}
		mw.Close()
		pw.Close()
	}()
	body := &countingReader{r: pr}
	req, _ := http.NewRequest(http.MethodPost, form.URL, body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := srv.Client().Do(req)
	pr.CloseWithError(errors.New("test done"))
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("huge upload: %s, want 400", resp.Status)
		}
	}
	t.Logf("client error %v; server pulled %d bytes of a 1 GiB refused upload", err, body.n.Load())
	if n := body.n.Load(); n > 16<<20 {
		t.Fatalf("server consumed %d bytes of a refused upload; the limit must stop it while streaming", n)
	}
	if _, err := store.Head(context.Background(), form.Key); !errors.Is(err, ports.ErrNotFound) {
		t.Fatalf("refused upload stored an object")
	}
	if left, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(left) != 0 {
		t.Fatalf("refused upload left %d temporary files", len(left))
	}
}

func TestPresignedUploadRefusesForgeriesAndExpiry(t *testing.T) {
	clock := memory.NewFakeClock(time.Now())
	store, srv := served(t, bothStores(t, clock)["Memory"])
	ctx := context.Background()
	form, err := store.PresignUpload(ctx, "inputs/u/j/input", 1000, "", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	// Raise the size limit inside the policy but keep the old signature.
	raw, _ := base64.RawURLEncoding.DecodeString(form.Fields[presign.FieldPolicy])
	var pol map[string]any
	json.Unmarshal(raw, &pol)
	pol["max_size"] = 1 << 30
	raised, _ := json.Marshal(pol)
	cases := map[string]map[string]string{
		"raised limit": {presign.FieldKey: form.Key, presign.FieldPolicy: base64.RawURLEncoding.EncodeToString(raised), presign.FieldSignature: form.Fields[presign.FieldSignature]},
		"other key":    {presign.FieldKey: "inputs/other/j/input", presign.FieldPolicy: form.Fields[presign.FieldPolicy], presign.FieldSignature: form.Fields[presign.FieldSignature]},
		"no signature": {presign.FieldKey: form.Key, presign.FieldPolicy: form.Fields[presign.FieldPolicy]},
		"bad signature": {presign.FieldKey: form.Key, presign.FieldPolicy: form.Fields[presign.FieldPolicy],
			presign.FieldSignature: strings.Repeat("ab", 32)},
	}
	for name, fields := range cases {
		body, ctype := multipartBody(t, fields, formOrder, []byte("small"))
		if resp, msg := post(t, srv, form.URL, body, ctype); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: %s %q, want 403", name, resp.Status, msg)
		}
	}
	// A download signature cannot be replayed as an upload.
	dl, _ := store.PresignDownload(ctx, form.Key, "x.vcf", time.Minute)
	du, _ := url.Parse(dl)
	body, ctype := multipartBody(t, map[string]string{presign.FieldKey: form.Key, presign.FieldPolicy: form.Fields[presign.FieldPolicy],
		presign.FieldSignature: du.Query().Get(presign.FieldSignature)}, formOrder, []byte("small"))
	if resp, _ := post(t, srv, form.URL, body, ctype); resp.StatusCode != http.StatusForbidden {
		t.Errorf("download signature accepted for an upload: %s", resp.Status)
	}
	// File before the policy: refused, nothing stored.
	body, ctype = multipartBody(t, nil, nil, []byte("small"))
	if resp, _ := post(t, srv, form.URL, body, ctype); resp.StatusCode != http.StatusForbidden {
		t.Errorf("upload without fields: %s", resp.Status)
	}
	// Expiry, on the store's clock (rounded up to a whole second).
	clock.Advance(time.Minute + time.Second)
	body, ctype = multipartBody(t, form.Fields, formOrder, []byte("late"))
	if resp, msg := post(t, srv, form.URL, body, ctype); resp.StatusCode != http.StatusForbidden || !strings.Contains(msg, "expired") {
		t.Errorf("expired form: %s %q", resp.Status, msg)
	}
	for _, k := range []string{form.Key, "inputs/other/j/input"} {
		if _, err := store.Head(ctx, k); !errors.Is(err, ports.ErrNotFound) {
			t.Errorf("a refused upload stored %s", k)
		}
	}
	// Not multipart, wrong method, unknown path.
	if resp, _ := post(t, srv, form.URL, strings.NewReader("x"), "text/plain"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("non-multipart upload: %s", resp.Status)
	}
	if resp, err := srv.Client().Get(form.URL); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET upload: %v %v", resp.Status, err)
	}
	if resp, err := srv.Client().Get(srv.URL + "/objects/nothing"); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown path: %v %v", resp.Status, err)
	}
}

func TestPresignedDownload(t *testing.T) {
	clock := memory.NewFakeClock(time.Now())
	store, srv := served(t, bothStores(t, clock)["Disk"])
	ctx := context.Background()
	data := bytes.Repeat([]byte("0123456789"), 1000)
	if _, err := store.Put(ctx, "results/u/j/out.vcf", bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	u, err := store.PresignDownload(ctx, "results/u/j/out.vcf", "my sample (annotated) é.vcf", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Range", "bytes=10-19")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusPartialContent || string(b) != "0123456789" {
		t.Fatalf("range download: %s %q", resp.Status, b)
	}
	cd := resp.Header.Get("Content-Disposition")
	if !strings.HasPrefix(cd, "attachment") || !strings.Contains(cd, "annotated") {
		t.Fatalf("Content-Disposition %q", cd)
	}
	resp, err = srv.Client().Get(u)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Equal(b, data) {
		t.Fatalf("download: %s, %d bytes", resp.Status, len(b))
	}
	// Forged: change the file name (signed too).
	pu, _ := url.Parse(u)
	q := pu.Query()
	q.Set("filename", "other.vcf")
	pu.RawQuery = q.Encode()
	if resp, _ := srv.Client().Get(pu.String()); resp.StatusCode != http.StatusForbidden {
		t.Errorf("forged file name: %s", resp.Status)
	}
	// Deleted object: 404 even with a valid signature.
	u2, _ := store.PresignDownload(ctx, "results/u/j/gone.vcf", "gone.vcf", time.Minute)
	if resp, _ := srv.Client().Get(u2); resp.StatusCode != http.StatusNotFound {
		t.Errorf("missing object: %s", resp.Status)
	}
	clock.Advance(time.Minute - time.Second)
	if resp, _ := srv.Client().Get(u); resp.StatusCode != http.StatusOK {
		t.Errorf("download before expiry: %s", resp.Status)
	}
	clock.Advance(2 * time.Second) // expiry is rounded up to a whole second
	if resp, _ := srv.Client().Get(u); resp.StatusCode != http.StatusForbidden {
		t.Errorf("expired download: %s", resp.Status)
	}
}

func TestObjectStoreURLPrefixAsPath(t *testing.T) {
	s, err := memory.NewObjectStore(memory.WithURLPrefix("/local/objects/"))
	if err != nil {
		t.Fatal(err)
	}
	form, err := s.PresignUpload(context.Background(), "k", 10, "", time.Minute)
	if err != nil || form.URL != "/local/objects/upload" {
		t.Fatalf("form URL %q, %v", form.URL, err)
	}
	// Mounted with StripPrefix, the handler still routes.
	srv := httptest.NewServer(http.StripPrefix("/local/objects", s.Handler()))
	defer srv.Close()
	body, ctype := multipartBody(t, form.Fields, formOrder, []byte("hi"))
	if resp, msg := post(t, srv, srv.URL+form.URL, body, ctype); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("upload through StripPrefix: %s %q", resp.Status, msg)
	}
	for _, bad := range []string{"/", "objects", "http://h/p?q=1"} {
		if _, err := memory.NewObjectStore(memory.WithURLPrefix(bad)); err == nil {
			t.Errorf("prefix %q accepted", bad)
		}
	}
	if _, err := memory.NewObjectStore(memory.WithSigningKey([]byte("short"))); err == nil {
		t.Errorf("short signing key accepted")
	}
}

func TestSigningKeySharedBetweenStores(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	a, _ := memory.NewObjectStore(memory.WithSigningKey(key))
	b, _ := memory.NewObjectStore(memory.WithSigningKey(key))
	c, _ := memory.NewObjectStore()
	ctx := context.Background()
	for _, s := range []*memory.ObjectStore{b, c} {
		s.Put(ctx, "k", strings.NewReader("v"))
	}
	u, _ := a.PresignDownload(ctx, "k", "k.txt", time.Minute)
	path := strings.TrimPrefix(u, presign.DefaultURLPrefix)
	for name, s := range map[string]*memory.ObjectStore{"same key": b, "other key": c} {
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		want := http.StatusOK
		if name == "other key" {
			want = http.StatusForbidden
		}
		if rec.Code != want {
			t.Errorf("%s: %d, want %d", name, rec.Code, want)
		}
	}
}

func TestObjectKeysAreValidated(t *testing.T) {
	s, _ := memory.NewObjectStore()
	ctx := context.Background()
	for _, k := range []string{"", strings.Repeat("k", presign.MaxKeyLength+1), "a\x00b", "line\nbreak", string([]byte{0xff, 0xfe})} {
		if _, err := s.Put(ctx, k, strings.NewReader("x")); !errors.Is(err, presign.ErrInvalidKey) {
			t.Errorf("Put(%q): %v, want ErrInvalidKey", k, err)
		}
	}
	// Keys that look like paths are only names, even on disk.
	d, err := disk.NewObjectStore(t.TempDir(), presign.Config{Clock: memory.SystemClock{}})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"../../etc/passwd", "/abs/key", "a/./b", "a//b", `back\slash`} {
		if _, err := d.Put(ctx, k, strings.NewReader(k)); err != nil {
			t.Fatalf("Put(%q): %v", k, err)
		}
		rc, err := d.Get(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := io.ReadAll(rc); string(b) != k {
			t.Fatalf("key %q read back %q", k, b)
		}
		rc.Close()
	}
}

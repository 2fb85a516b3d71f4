package contract

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gasproject/gas/ports"
)

// ObjectStoreFixture is an object store under test and what the suite needs
// to exercise its presigned URLs.
type ObjectStoreFixture struct {
	Store ports.ObjectStore
	// HTTP reaches the presigned URLs (nil: a plain client). The suite never
	// follows redirects itself.
	HTTP *http.Client
	// EnforcesPresigned says the server behind presigned URLs checks their
	// signature, expiry and size limit. The memory store's handler does;
	// moto does not (the AWS tests assert the signed policy document
	// instead), so those checks run only when set.
	EnforcesPresigned bool
	// ServesDownloadName says downloads carry Content-Disposition with the
	// presigned file name (the memory handler; moto ignores it).
	ServesDownloadName bool
	// HashesPresignedUploads says Head reports the SHA-256 of an object a
	// browser posted through a presigned upload form. The memory handler
	// hashes what it stores; S3 records no digest for a POST (it would have
	// to be computed in the browser and signed into the policy), so for it
	// Head may report "" there — but never a wrong digest, and size is
	// checked either way.
	HashesPresignedUploads bool
	// HashesPuts says Put and Head report the SHA-256 of what was put:
	// S3 and memory do; the disk store records none (ports.ObjectInfo),
	// so for it they report "" — never a wrong digest.
	HashesPuts bool
	// Sleep lets d of the store's time pass, for expiry checks.
	Sleep func(d time.Duration)
}

// hashOK says a reported digest is right: want, or "" from a store that
// records none.
func (fx ObjectStoreFixture) hashOK(got, want string) bool {
	return got == want || !fx.HashesPuts && got == ""
}

// TestObjectStore checks a ports.ObjectStore: streaming put/get of many
// megabytes with size and SHA-256, ranges, overwrite, ErrNotFound,
// idempotent delete, nothing stored by a failed put, and presigned upload
// and download through HTTP.
func TestObjectStore(t *testing.T, newStore func(t *testing.T) ObjectStoreFixture) {
	t.Run("PutGetHead", func(t *testing.T) {
		fx, ctx := newStore(t), ctxFor(t)
		key := uniq("inputs/user") + "/job/input"
		data := []byte("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n1\t100\t.\tA\tG\t.\t.\t.\n")
		info, err := fx.Store.Put(ctx, key, bytes.NewReader(data))
		must(t, err)
		if info.Key != key || info.Size != int64(len(data)) || !fx.hashOK(info.SHA256, sha256Hex(data)) {
			t.Fatalf("Put returned %+v, want key %s size %d sha256 %s", info, key, len(data), sha256Hex(data))
		}
		head, err := fx.Store.Head(ctx, key)
		must(t, err)
		if head.Key != key || head.Size != info.Size || head.SHA256 != info.SHA256 || head.ModTime.IsZero() {
			t.Fatalf("Head %+v disagrees with Put %+v", head, info)
		}
		rc, err := fx.Store.Get(ctx, key)
		must(t, err)
		equalBytes(t, "get", readAll(t, rc), data)
	})
	t.Run("StreamsLargeObjects", func(t *testing.T) {
		fx, ctx := newStore(t), ctxFor(t)
		const size = 12<<20 + 12345 // several multipart parts on S3
		key := uniq("results/user") + "/job/annotated.vcf"
		wantSum, _ := hashOf(t, newPattern(size, 3))
		info, err := fx.Store.Put(ctx, key, newPattern(size, 3))
		must(t, err)
		if info.Size != size || !fx.hashOK(info.SHA256, wantSum) {
			t.Fatalf("large put: %+v, want size %d sha256 %s", info, size, wantSum)
		}
		head, err := fx.Store.Head(ctx, key)
		must(t, err)
		if head.Size != size || head.SHA256 != info.SHA256 {
			t.Fatalf("large head: %+v", head)
		}
		rc, err := fx.Store.Get(ctx, key)
		must(t, err)
		gotSum, n := hashOf(t, rc)
		rc.Close()
		if n != size || gotSum != wantSum {
			t.Fatalf("large get: %d bytes sha256 %s", n, gotSum)
		}
	})
	t.Run("GetRange", func(t *testing.T) {
		fx, ctx := newStore(t), ctxFor(t)
		data := patternBytes(100000, 9)
		key := uniq("results/range")
		_, err := fx.Store.Put(ctx, key, bytes.NewReader(data))
		must(t, err)
		for _, c := range []struct {
			off, length int64
			want        []byte
		}{
			{0, 10, data[:10]},
			{5000, 777, data[5000:5777]},
			{99990, -1, data[99990:]},
			{0, -1, data},
			{99997, 10, data[99997:]}, // a range past the end is cut at the end
			{123, 1, data[123:124]},
		} {
			rc, err := fx.Store.GetRange(ctx, key, c.off, c.length)
			if err != nil {
				t.Fatalf("GetRange(%d, %d): %v", c.off, c.length, err)
			}
			equalBytes(t, fmt.Sprintf("GetRange(%d, %d)", c.off, c.length), readAll(t, rc), c.want)
		}
	})
	t.Run("EmptyObject", func(t *testing.T) {
		fx, ctx := newStore(t), ctxFor(t)
		key := uniq("inputs/empty")
		info, err := fx.Store.Put(ctx, key, bytes.NewReader(nil))
		must(t, err)
		if info.Size != 0 || !fx.hashOK(info.SHA256, sha256Hex(nil)) {
			t.Fatalf("empty put: %+v", info)
		}
		rc, err := fx.Store.Get(ctx, key)
		must(t, err)
		if b := readAll(t, rc); len(b) != 0 {
			t.Fatalf("empty object read back %d bytes", len(b))
		}
	})
	t.Run("OverwriteReplaces", func(t *testing.T) {
		fx, ctx := newStore(t), ctxFor(t)
		key := uniq("results/over")
		_, err := fx.Store.Put(ctx, key, strings.NewReader("old contents, longer than the new"))
		must(t, err)
		_, err = fx.Store.Put(ctx, key, strings.NewReader("new"))
		must(t, err)
		head, err := fx.Store.Head(ctx, key)
		must(t, err)
		if head.Size != 3 || !fx.hashOK(head.SHA256, sha256Hex([]byte("new"))) {
			t.Fatalf("head after overwrite: %+v", head)
		}
		rc, err := fx.Store.Get(ctx, key)
		must(t, err)
		equalBytes(t, "overwritten", readAll(t, rc), []byte("new"))
	})
	t.Run("NestedKeysCoexist", func(t *testing.T) {
		fx, ctx := newStore(t), ctxFor(t)
		base := uniq("results/nest")
		_, err := fx.Store.Put(ctx, base, strings.NewReader("parent"))
		must(t, err)
		_, err = fx.Store.Put(ctx, base+"/child", strings.NewReader("child"))
		must(t, err)
		for k, want := range map[string]string{base: "parent", base + "/child": "child"} {
			rc, err := fx.Store.Get(ctx, k)
			must(t, err)
			equalBytes(t, k, readAll(t, rc), []byte(want))
		}
	})
	t.Run("MissingIsErrNotFound", func(t *testing.T) {
		fx, ctx := newStore(t), ctxFor(t)
		key := uniq("results/missing")
		if _, err := fx.Store.Get(ctx, key); !errors.Is(err, ports.ErrNotFound) {
			t.Errorf("Get: got %v, want ErrNotFound", err)
		}
		if _, err := fx.Store.GetRange(ctx, key, 0, 10); !errors.Is(err, ports.ErrNotFound) {
			t.Errorf("GetRange: got %v, want ErrNotFound", err)
		}
		if _, err := fx.Store.Head(ctx, key); !errors.Is(err, ports.ErrNotFound) {
			t.Errorf("Head: got %v, want ErrNotFound", err)
		}
	})
	t.Run("DeleteIsIdempotent", func(t *testing.T) {
		fx, ctx := newStore(t), ctxFor(t)
		key := uniq("results/del")
		_, err := fx.Store.Put(ctx, key, strings.NewReader("bye"))
		must(t, err)
		must(t, fx.Store.Delete(ctx, key))
		if _, err := fx.Store.Head(ctx, key); !errors.Is(err, ports.ErrNotFound) {
			t.Fatalf("head after delete: %v", err)
		}
		must(t, fx.Store.Delete(ctx, key))
		must(t, fx.Store.Delete(ctx, uniq("results/never")))
	})
	t.Run("FailedPutStoresNothing", func(t *testing.T) {
		fx, ctx := newStore(t), ctxFor(t)
		key := uniq("inputs/fail")
		broken := io.MultiReader(newPattern(6<<20, 1), errReader{})
		if _, err := fx.Store.Put(ctx, key, broken); err == nil {
			t.Fatalf("Put from a failing reader succeeded")
		}
		if _, err := fx.Store.Head(ctx, key); !errors.Is(err, ports.ErrNotFound) {
			t.Fatalf("a failed put left an object: %v", err)
		}
		_, err := fx.Store.Put(ctx, key, strings.NewReader("good"))
		must(t, err)
		if _, err := fx.Store.Put(ctx, key, io.MultiReader(strings.NewReader("partial"), errReader{})); err == nil {
			t.Fatalf("Put from a failing reader succeeded")
		}
		rc, err := fx.Store.Get(ctx, key)
		must(t, err)
		equalBytes(t, "object after a failed overwrite", readAll(t, rc), []byte("good"))
	})
	t.Run("PresignedUpload", func(t *testing.T) {
		fx, ctx := newStore(t), ctxFor(t)
		key := uniq("inputs/user") + "/job/input"
		const limit = 150 * 1024
		redirect := "http://127.0.0.1:1/jobs/new/submitted?ref=a"
		form, err := fx.Store.PresignUpload(ctx, key, limit, redirect, time.Minute)
		must(t, err)
		if form.URL == "" || form.Key != key || len(form.Fields) == 0 {
			t.Fatalf("upload form %+v lacks URL, key or fields", form)
		}
		data := patternBytes(limit, 5) // exactly the limit is allowed
		resp := postForm(t, fx, form, data)
		expectUploaded(t, resp, redirect)
		head, err := fx.Store.Head(ctx, key)
		must(t, err)
		hashOK := head.SHA256 == sha256Hex(data) || !fx.HashesPresignedUploads && head.SHA256 == ""
		if head.Size != limit || !hashOK {
			t.Fatalf("uploaded object %+v, want %d bytes sha256 %s", head, limit, sha256Hex(data))
		}
		rc, err := fx.Store.Get(ctx, key)
		must(t, err)
		equalBytes(t, "presigned upload", readAll(t, rc), data)
		if !fx.EnforcesPresigned {
			return
		}
		over := uniq("inputs/user") + "/job/input"
		form, err = fx.Store.PresignUpload(ctx, over, limit, redirect, time.Minute)
		must(t, err)
		resp = postForm(t, fx, form, patternBytes(limit+1, 5))
		if resp.StatusCode < 400 || resp.StatusCode >= 500 {
			t.Fatalf("an upload one byte over the limit got %s, want a 4xx refusal", resp.Status)
		}
		if _, err := fx.Store.Head(ctx, over); !errors.Is(err, ports.ErrNotFound) {
			t.Fatalf("a refused upload stored something: %v", err)
		}
	})
	t.Run("PresignedUploadRefusesTampering", func(t *testing.T) {
		fx, ctx := newStore(t), ctxFor(t)
		if !fx.EnforcesPresigned {
			t.Logf("the server behind this store does not check presigned policies; the adapter's own tests assert the policy document")
			return
		}
		key := uniq("inputs/user") + "/job/input"
		form, err := fx.Store.PresignUpload(ctx, key, 1000, "", time.Minute)
		must(t, err)
		for name, mutate := range map[string]func(f map[string]string){
			"other key": func(f map[string]string) {
				for k, v := range f {
					if v == key {
						f[k] = key + "-elsewhere"
					}
				}
			},
			"forged signature": func(f map[string]string) {
				for k, v := range f {
					if strings.Contains(strings.ToLower(k), "signature") {
						f[k] = strings.Repeat("0", len(v))
					}
				}
			},
		} {
			bad := form
			bad.Fields = map[string]string{}
			for k, v := range form.Fields {
				bad.Fields[k] = v
			}
			mutate(bad.Fields)
			resp := postForm(t, fx, bad, []byte("x"))
			if resp.StatusCode < 400 || resp.StatusCode >= 500 {
				t.Errorf("%s: upload got %s, want a 4xx refusal", name, resp.Status)
			}
		}
		for _, k := range []string{key, key + "-elsewhere"} {
			if _, err := fx.Store.Head(ctx, k); !errors.Is(err, ports.ErrNotFound) {
				t.Errorf("a tampered upload stored %s", k)
			}
		}
		short, err := fx.Store.PresignUpload(ctx, key, 1000, "", time.Second)
		must(t, err)
		fx.Sleep(2 * time.Second)
		if resp := postForm(t, fx, short, []byte("late")); resp.StatusCode < 400 || resp.StatusCode >= 500 {
			t.Errorf("expired upload form got %s, want a 4xx refusal", resp.Status)
		}
		if _, err := fx.Store.Head(ctx, key); !errors.Is(err, ports.ErrNotFound) {
			t.Errorf("an expired upload form stored the object")
		}
	})
	t.Run("PresignedDownload", func(t *testing.T) {
		fx, ctx := newStore(t), ctxFor(t)
		key := uniq("results/user") + "/job/annotated.vcf"
		data := patternBytes(70000, 11)
		_, err := fx.Store.Put(ctx, key, bytes.NewReader(data))
		must(t, err)
		u, err := fx.Store.PresignDownload(ctx, key, "sample.annot.vcf", time.Minute)
		must(t, err)
		resp, body := get(t, fx, u)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("presigned download: %s", resp.Status)
		}
		equalBytes(t, "presigned download", body, data)
		if fx.ServesDownloadName {
			if cd := resp.Header.Get("Content-Disposition"); !strings.Contains(cd, "attachment") || !strings.Contains(cd, "sample.annot.vcf") {
				t.Fatalf("Content-Disposition %q lacks the download name", cd)
			}
			// A VCF is not a contact card (text/vcard), and a user's
			// results are never kept in a shared cache.
			if ct, cc := resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control"); ct != ports.MediaType("sample.annot.vcf") || !strings.HasPrefix(ct, "text/x-vcf") || !strings.Contains(cc, "no-store") {
				t.Fatalf("presigned VCF download served as %q with Cache-Control %q, want text/x-vcf, no-store", ct, cc)
			}
		}
		if !fx.EnforcesPresigned {
			return
		}
		other := uniq("results/other")
		_, err = fx.Store.Put(ctx, other, strings.NewReader("someone else's"))
		must(t, err)
		parsed, err := url.Parse(u)
		must(t, err)
		q := parsed.Query()
		for k, vs := range q {
			if slices.Contains(vs, key) {
				q.Set(k, other)
			}
		}
		parsed.RawQuery = q.Encode()
		if strings.Contains(parsed.Path, key) {
			parsed.Path = strings.Replace(parsed.Path, key, other, 1)
		}
		if resp, _ := get(t, fx, parsed.String()); resp.StatusCode != http.StatusForbidden {
			t.Errorf("download URL pointed at another key got %s, want 403", resp.Status)
		}
		short, err := fx.Store.PresignDownload(ctx, key, "x.vcf", time.Second)
		must(t, err)
		fx.Sleep(2 * time.Second)
		if resp, _ := get(t, fx, short); resp.StatusCode != http.StatusForbidden {
			t.Errorf("expired download URL got %s, want 403", resp.Status)
		}
	})
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func client(fx ObjectStoreFixture) *http.Client {
	c := http.Client{Timeout: opTimeout}
	if fx.HTTP != nil {
		c = *fx.HTTP
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// postForm posts the form as a browser would: every field (sorted, for
// reproducibility), then the file last.
func postForm(t *testing.T, fx ObjectStoreFixture, form ports.UploadForm, data []byte) *http.Response {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	names := make([]string, 0, len(form.Fields))
	for k := range form.Fields {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		must(t, mw.WriteField(k, form.Fields[k]))
	}
	fw, err := mw.CreateFormFile("file", "sample.vcf")
	must(t, err)
	_, err = fw.Write(data)
	must(t, err)
	must(t, mw.Close())
	req, err := http.NewRequestWithContext(ctxFor(t), http.MethodPost, form.URL, &buf)
	must(t, err)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := client(fx).Do(req)
	if err != nil {
		t.Fatalf("post upload form: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func expectUploaded(t *testing.T, resp *http.Response, redirect string) {
	t.Helper()
	switch resp.StatusCode {
	case http.StatusOK, http.StatusCreated, http.StatusNoContent:
	case http.StatusSeeOther, http.StatusFound:
		loc := resp.Header.Get("Location")
		want, _ := url.Parse(redirect)
		got, err := url.Parse(loc)
		if err != nil || got.Host != want.Host || got.Path != want.Path || got.Query().Get("ref") != "a" {
			t.Fatalf("upload redirected to %q, want %s with its query kept", loc, redirect)
		}
	default:
		t.Fatalf("presigned upload got %s", resp.Status)
	}
}

func get(t *testing.T, fx ObjectStoreFixture, u string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctxFor(t), http.MethodGet, u, nil)
	must(t, err)
	resp, err := client(fx).Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	must(t, err)
	return resp, b
}

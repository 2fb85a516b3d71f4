package disk_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gasproject/gas/adapters/disk"
	"github.com/gasproject/gas/adapters/memory"
	"github.com/gasproject/gas/adapters/presign"
	"github.com/gasproject/gas/adapters/sqlite"
	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
	"github.com/gasproject/gas/ports/contract"
)

func must[T any](t testing.TB) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func TestObjectStoreContract(t *testing.T) {
	contract.TestObjectStore(t, func(t *testing.T) contract.ObjectStoreFixture {
		clock := memory.NewFakeClock(time.Now())
		srv := httptest.NewUnstartedServer(nil)
		prefix := "http://" + srv.Listener.Addr().String() + "/objects"
		store := must[*disk.ObjectStore](t)(disk.NewObjectStore(t.TempDir(), presign.Config{URLPrefix: prefix, Clock: clock}))
		mux := http.NewServeMux()
		mux.Handle("/objects/", store.Handler())
		srv.Config.Handler = mux
		srv.Start()
		t.Cleanup(srv.Close)
		return contract.ObjectStoreFixture{Store: store, HTTP: srv.Client(), EnforcesPresigned: true, ServesDownloadName: true, Sleep: clock.Advance}
	})
}

// newArchive makes an archive in dir whose retrievals are kept in the
// SQLite database in dir, as local mode keeps them.
func newArchive(t testing.TB, dir string, clock ports.Clock, opts ...disk.ArchiveOption) *disk.Archive {
	db := must[*sqlite.DB](t)(sqlite.Open(context.Background(), filepath.Join(dir, "gas.db")))
	opts = append([]disk.ArchiveOption{disk.WithRetrievalTimes(5*time.Minute, 5*time.Hour)}, opts...)
	a := must[*disk.Archive](t)(disk.NewArchive(filepath.Join(dir, "archive"), clock, sqlite.NewRetrievals(db), opts...))
	t.Cleanup(func() { a.Close(); db.Close() })
	return a
}

func TestArchiveContract(t *testing.T) {
	t.Run("FakeClock", func(t *testing.T) {
		contract.TestArchive(t, func(t *testing.T) contract.ArchiveFixture {
			clock := memory.NewFakeClock(time.Time{})
			a := newArchive(t, t.TempDir(), clock)
			return contract.ArchiveFixture{Archive: a, Sleep: clock.Advance, RefuseExpedited: a.RefuseExpedited, MaxRestore: 5 * time.Hour, ModelsDeletion: true}
		})
	})
	t.Run("SystemClock", func(t *testing.T) {
		contract.TestArchive(t, func(t *testing.T) contract.ArchiveFixture {
			a := newArchive(t, t.TempDir(), memory.SystemClock{}, disk.WithRetrievalTimes(time.Second, 2*time.Second))
			return contract.ArchiveFixture{Archive: a, Sleep: time.Sleep, RefuseExpedited: a.RefuseExpedited, MaxRestore: 2 * time.Second, ModelsDeletion: true}
		})
	})
}

// TestRetrievalsOutliveTheProcess: a retrieval started by one archive is
// announced by the next one on the same directory, once, when its time
// comes — including one that fell due while no process was running.
func TestRetrievalsOutliveTheProcess(t *testing.T) {
	dir := t.TempDir()
	clock := memory.NewFakeClock(time.Time{})
	db := must[*sqlite.DB](t)(sqlite.Open(t.Context(), filepath.Join(dir, "gas.db")))
	first := must[*disk.Archive](t)(disk.NewArchive(filepath.Join(dir, "archive"), clock, sqlite.NewRetrievals(db),
		disk.WithRetrievalTimes(time.Minute, time.Hour), disk.WithRestoreCallback(func(context.Context, string) error {
			t.Error("the first process announced a retrieval after it closed")
			return nil
		})))
	ctx := t.Context()
	for _, key := range []string{"a.tar", "b.tar"} {
		must[string](t)(first.Put(ctx, key, strings.NewReader(key)))
	}
	must[ports.Retrieval](t)(first.InitiateRestore(ctx, "a.tar", domain.RetrievalExpedited))
	rid := must[ports.Retrieval](t)(first.InitiateRestore(ctx, "b.tar", domain.RetrievalStandard)).ID
	first.Close()
	db.Close()
	clock.Advance(2 * time.Minute) // a.tar falls due while nobody runs

	db = must[*sqlite.DB](t)(sqlite.Open(t.Context(), filepath.Join(dir, "gas.db")))
	defer db.Close()
	var mu sync.Mutex
	var announced []string
	done := make(chan struct{}, 2)
	second := must[*disk.Archive](t)(disk.NewArchive(filepath.Join(dir, "archive"), clock, sqlite.NewRetrievals(db),
		disk.WithRetrievalTimes(time.Minute, time.Hour), disk.WithRestoreCallback(func(_ context.Context, id string) error {
			mu.Lock()
			announced = append(announced, id)
			mu.Unlock()
			done <- struct{}{}
			return nil
		})))
	defer second.Close()
	if err := second.Start(ctx); err != nil {
		t.Fatal(err)
	}
	<-done
	clock.Advance(time.Hour)
	<-done
	mu.Lock()
	if strings.Join(announced, ",") != "a.tar,b.tar" {
		t.Fatalf("announced %v, want a.tar then b.tar", announced)
	}
	mu.Unlock()
	st, err := second.RestoreStatus(ctx, rid)
	if err != nil || !st.Done || st.Tier != domain.RetrievalStandard {
		t.Fatalf("status after restart: %+v, %v", st, err)
	}
	rc := must[io.ReadCloser](t)(second.OpenRestored(ctx, rid))
	if b, _ := io.ReadAll(rc); string(b) != "b.tar" {
		t.Fatalf("restored %q", b)
	}
	rc.Close()
	if p, _ := sqlite.NewRetrievals(db).Pending(ctx); len(p) != 0 {
		t.Fatalf("%d retrievals still pending after both were announced", len(p))
	}
}

func TestObjectsSurviveReopen(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	cfg := presign.Config{Clock: memory.SystemClock{}}
	a := must[*disk.ObjectStore](t)(disk.NewObjectStore(dir, cfg))
	info := must[ports.ObjectInfo](t)(a.Put(ctx, "results/u/j/out.vcf", strings.NewReader("kept")))
	b := must[*disk.ObjectStore](t)(disk.NewObjectStore(dir, cfg))
	got, err := b.Head(ctx, "results/u/j/out.vcf")
	if err != nil || got.SHA256 != info.SHA256 || got.Size != 4 || !got.ModTime.Equal(info.ModTime) {
		t.Fatalf("after reopening: %+v, %v; want %+v", got, err, info)
	}
	rc := must[io.ReadCloser](t)(b.GetRange(ctx, "results/u/j/out.vcf", 1, 100))
	if s, _ := io.ReadAll(rc); string(s) != "ept" {
		t.Fatalf("range past the end read %q, want the object's bytes only (no trailer)", s)
	}
	rc.Close()
}

func TestConcurrentOverwritesNeverTear(t *testing.T) {
	s := must[*disk.ObjectStore](t)(disk.NewObjectStore(t.TempDir(), presign.Config{Clock: memory.SystemClock{}}))
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 20 {
				body := strings.Repeat(string(rune('a'+i)), 1000+j)
				if _, err := s.Put(ctx, "same", strings.NewReader(body)); err != nil {
					t.Error(err)
				}
			}
		})
		wg.Go(func() {
			for range 20 {
				rc, err := s.Get(ctx, "same")
				if errors.Is(err, ports.ErrNotFound) {
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				b, _ := io.ReadAll(rc)
				rc.Close()
				if len(b) < 1000 || strings.Trim(string(b), string(b[:1])) != "" {
					t.Errorf("read a torn object of %d bytes", len(b))
				}
			}
		})
	}
	wg.Wait()
}

// TestKilledWriteLeavesTheOldObject kills, with SIGKILL, a process that is
// halfway through overwriting an object: the object still reads as the old
// one, whole, and the next start removes the dead write's temporary file.
func TestKilledWriteLeavesTheOldObject(t *testing.T) {
	if dir := os.Getenv("GAS_DISK_WRITER"); dir != "" {
		s, err := disk.NewObjectStore(dir, presign.Config{Clock: memory.SystemClock{}})
		if err != nil {
			os.Exit(3)
		}
		pr, pw := io.Pipe()
		go func() {
			chunk := []byte(strings.Repeat("new", 1<<15))
			for i := 0; ; i++ {
				pw.Write(chunk)
				if i == 10 {
					os.Stdout.WriteString("writing\n")
				}
			}
		}()
		s.Put(context.Background(), "obj", pr) // never returns: killed mid-stream
		return
	}
	dir := t.TempDir()
	ctx := context.Background()
	cfg := presign.Config{Clock: memory.SystemClock{}}
	s := must[*disk.ObjectStore](t)(disk.NewObjectStore(dir, cfg))
	old := must[ports.ObjectInfo](t)(s.Put(ctx, "obj", strings.NewReader("the old object")))
	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledWriteLeavesTheOldObject$")
	cmd.Env = append(os.Environ(), "GAS_DISK_WRITER="+dir)
	out := must[io.ReadCloser](t)(cmd.StdoutPipe())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8)
	if _, err := io.ReadFull(out, buf); err != nil {
		t.Fatalf("writer did not start: %v", err)
	}
	cmd.Process.Kill()
	cmd.Wait()
	if tmp, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(tmp) == 0 {
		t.Fatalf("the killed write left no temporary file: it was not killed mid-write")
	}
	s = must[*disk.ObjectStore](t)(disk.NewObjectStore(dir, cfg))
	info := must[ports.ObjectInfo](t)(s.Head(ctx, "obj"))
	rc := must[io.ReadCloser](t)(s.Get(ctx, "obj"))
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "the old object" || info != old {
		t.Fatalf("after a killed overwrite: %q %+v, want the old object %+v", b, info, old)
	}
	if tmp, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(tmp) != 0 {
		t.Fatalf("%d temporary files left after restart", len(tmp))
	}
}

// TestObjectsStreamInBoundedMemory puts and reads back 256 MiB through the
// store while sampling the heap: it must stay far below the object's size.
func TestObjectsStreamInBoundedMemory(t *testing.T) {
	s := must[*disk.ObjectStore](t)(disk.NewObjectStore(t.TempDir(), presign.Config{Clock: memory.SystemClock{}}))
	const size = 256 << 20
	peak := watchHeap(t)
	info := must[ports.ObjectInfo](t)(s.Put(context.Background(), "big", io.LimitReader(zeros{}, size)))
	rc := must[io.ReadCloser](t)(s.Get(context.Background(), "big"))
	n, err := io.Copy(io.Discard, rc)
	rc.Close()
	if err != nil || n != size || info.Size != size {
		t.Fatalf("read %d of %d bytes: %v", n, size, err)
	}
	if p := peak(); p > 64<<20 {
		t.Fatalf("heap peaked at %d MiB while streaming a %d MiB object", p>>20, size>>20)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

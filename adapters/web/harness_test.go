package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gasproject/gas/adapters/engine"
	"github.com/gasproject/gas/adapters/memory"
	"github.com/gasproject/gas/adapters/results"
	"github.com/gasproject/gas/adapters/vartable"
	"github.com/gasproject/gas/adapters/web"
	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/domain/accounts"
	"github.com/gasproject/gas/domain/jobs"
	"github.com/gasproject/gas/ports"
)

// trackingStore records which keys hold objects, so tests can say
// "nothing was stored".
type trackingStore struct {
	ports.ObjectStore
	mu   sync.Mutex
	live map[string]bool
}

func (t *trackingStore) Put(ctx context.Context, key string, r io.Reader) (ports.ObjectInfo, error) {
	info, err := t.ObjectStore.Put(ctx, key, r)
	if err == nil {
		t.mu.Lock()
		t.live[key] = true
		t.mu.Unlock()
	}
	return info, err
}

func (t *trackingStore) Delete(ctx context.Context, key string) error {
	err := t.ObjectStore.Delete(ctx, key)
	t.mu.Lock()
	delete(t.live, key)
	t.mu.Unlock()
	return err
}

func (t *trackingStore) keys(prefix string) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []string
	for k := range t.live {
		if strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	return out
}

type harness struct {
	t        *testing.T
	srv      *web.Server
	ts       *httptest.Server
	jobs     *jobs.Service
	manage   *jobs.Manager
	archive  *memory.Archive
	accounts *accounts.Service
	store    *memory.JobStore
	users    *memory.UserStore
	objects  *trackingStore
	mem      *memory.ObjectStore
	clock    *memory.FakeClock
	requests *memory.Queue
	thaws    *memory.Queue
	restores *memory.Queue
	outbox   *memory.Outbox
	tokens   *web.MemoryTokenStore
	engine   results.Engine  // nil: trivialEngine
	extra    results.Engines // more references, after engine
	sessions *memory.SessionStore
	ready    error
}

type harnessOpt func(*web.Options, *web.Deps)

// withReferences makes the deployment offer several annotation databases
// (the jobs service's References), the default first.
type withReferences []string

// testMetricsToken is the scraper's token of the harness's site.
const testMetricsToken = "scraper-secret"

// newHarness builds the web application on memory adapters; opts are
// harnessOpt (web options and dependencies) or withReferences.
func newHarness(t *testing.T, opts ...any) *harness {
	t.Helper()
	clock := memory.NewFakeClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	h := &harness{t: t, clock: clock, store: memory.NewJobStore(), users: memory.NewUserStore(), tokens: web.NewMemoryTokenStore()}
	var err error
	h.mem, err = memory.NewObjectStore(memory.WithObjectClock(clock))
	must(t, err)
	h.objects = &trackingStore{ObjectStore: h.mem, live: map[string]bool{}}
	h.requests, err = memory.NewQueue("annotate", clock)
	must(t, err)
	h.thaws, err = memory.NewQueue("thaw", clock)
	must(t, err)
	h.restores, err = memory.NewQueue("restore", clock)
	must(t, err)
	restoreTopic, err := memory.NewTopic("restore-completions", h.restores)
	must(t, err)
	thawTopic, err := memory.NewTopic("thaw-requests", h.thaws)
	must(t, err)
	h.outbox, err = memory.NewOutbox(clock, 100)
	must(t, err)
	pol := domain.DefaultPolicy()
	h.jobs, err = jobs.NewService(h.store, h.users, h.objects, h.requests, clock, memory.NewRandomIDs(),
		jobs.Config{Policy: pol, InputPrefix: "inputs/", ResultPrefix: "results/", References: references(opts)})
	must(t, err)
	h.jobs.WithRestoreChecks(restoreTopic)
	h.accounts = accounts.NewService(h.users, memory.NewFreeBilling(), thawTopic, clock)
	h.archive, err = memory.NewArchive(clock)
	must(t, err)
	h.manage, err = jobs.NewManager(h.store, h.objects, h.archive, nil)
	must(t, err)
	h.sessions = memory.NewSessionStore()
	deps := web.Deps{Jobs: h.jobs, Manage: h.manage, Accounts: h.accounts, Objects: h.objects, Tokens: h.tokens, Sessions: h.sessions, Clock: clock,
		Ready: func(context.Context) error { return h.ready }}
	o := web.Options{
		SessionKey: bytes.Repeat([]byte("k"), 32), DevSignIn: true, StreamUploads: true, LocalBilling: true,
		InputPrefix: "inputs/", Reference: "synthetic-test-ref",
		Outbox: func(_ context.Context, user domain.UserID) ([]web.OutboxEmail, error) {
			var out []web.OutboxEmail
			for _, e := range h.outbox.SentTo(user) {
				out = append(out, web.OutboxEmail{To: e.To, Subject: e.Subject, Text: e.Text, SentAt: e.SentAt})
			}
			return out, nil
		},
		Samples:      []web.Sample{{Name: "sample.vcf", Description: "three variants", Data: []byte(sampleVCF)}},
		Mounts:       map[string]http.Handler{"/objects": h.mem.Handler()},
		PageSize:     3,
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		MetricsToken: testMetricsToken,
	}
	for _, f := range opts {
		switch f := f.(type) {
		case harnessOpt:
			f(&o, &deps)
		case func(*web.Options, *web.Deps):
			f(&o, &deps)
		}
	}
	h.srv, err = web.New(deps, o)
	must(t, err)
	h.ts = httptest.NewServer(h.srv)
	t.Cleanup(h.ts.Close)
	return h
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

const sampleVCF = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n" +
	"chr1\t100\t.\tA\tG\t50\tPASS\t.\nchr1\t200\trs42\tC\tT\t50\tPASS\t.\nchr2\t300\t.\tG\tA,C\t50\tPASS\t.\n"

// browser is a cookie-keeping client that does not follow redirects, so
// tests see each response.
type browser struct {
	h    *harness
	c    *http.Client
	csrf string
}

func (h *harness) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{h: h, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type resp struct {
	*http.Response
	body string
}

func (b *browser) do(req *http.Request) resp {
	b.h.t.Helper()
	if req.Method == http.MethodPost && req.Header.Get("Origin") == "" {
		req.Header.Set("Origin", b.h.ts.URL)
	}
	r, err := b.c.Do(req)
	must(b.h.t, err)
	defer r.Body.Close()
	body, _ := io.ReadAll(r.Body)
	if m := csrfRE.FindStringSubmatch(string(body)); m != nil {
		b.csrf = m[1]
	}
	return resp{r, string(body)}
}

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func (b *browser) get(path string) resp {
	req, _ := http.NewRequest(http.MethodGet, b.h.ts.URL+path, nil)
	return b.do(req)
}

func (b *browser) post(path string, form url.Values) resp {
	req, _ := http.NewRequest(http.MethodPost, b.h.ts.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// postCSRF posts a form with the browser's current CSRF token.
func (b *browser) postCSRF(path string, form url.Values) resp {
	if form == nil {
		form = url.Values{}
	}
	if b.csrf == "" {
		b.get("/")
	}
	form.Set("csrf_token", b.csrf)
	return b.post(path, form)
}

// upload posts a multipart upload form: csrf first, then the file.
func (b *browser) upload(path, csrf, name string, data []byte) resp {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if csrf != "" {
		_ = mw.WriteField("csrf_token", csrf)
	}
	fw, _ := mw.CreateFormFile("file", name)
	_, _ = fw.Write(data)
	_ = mw.Close()
	req, _ := http.NewRequest(http.MethodPost, b.h.ts.URL+path, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return b.do(req)
}

func (h *harness) signIn(name, email string, tier domain.Tier) *browser {
	h.t.Helper()
	b := h.browser()
	b.get("/signin")
	r := b.postCSRF("/auth/dev", url.Values{"name": {name}, "email": {email}, "institution": {"Lab"}, "tier": {string(tier)}})
	if r.StatusCode != http.StatusSeeOther {
		h.t.Fatalf("dev sign-in: %d %s", r.StatusCode, r.body)
	}
	b.get("/annotations") // fresh CSRF token after sign-in
	return b
}

func (b *browser) userID() domain.UserID {
	b.h.t.Helper()
	r := b.get("/profile")
	if r.StatusCode != 200 {
		b.h.t.Fatalf("profile: %d", r.StatusCode)
	}
	// the API is the simplest way to learn the id: use a token
	tok := b.newToken("id")
	req, _ := http.NewRequest(http.MethodGet, b.h.ts.URL+"/api/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	rr := b.do(req)
	var me struct{ ID domain.UserID }
	must(b.h.t, json.Unmarshal([]byte(rr.body), &me))
	return me.ID
}

var tokenRE = regexp.MustCompile(`id="new-token">(gas_[A-Za-z0-9_-]+)<`)

func (b *browser) newToken(name string) string {
	b.h.t.Helper()
	r := b.postCSRF("/profile/tokens", url.Values{"name": {name}})
	if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/profile") {
		b.h.t.Fatalf("create token: %d %s, want a redirect to the profile", r.StatusCode, r.Header.Get("Location"))
	}
	r = b.get("/profile")
	m := tokenRE.FindStringSubmatch(r.body)
	if r.StatusCode != 200 || m == nil {
		b.h.t.Fatalf("profile after creating a token: %d %s", r.StatusCode, r.body)
	}
	if again := b.get("/profile"); strings.Contains(again.body, m[1]) {
		b.h.t.Fatal("reloading the profile shows the token's secret again")
	}
	return m[1]
}

// submit uploads a VCF through the streaming form and returns the job id.
func (b *browser) submit(name, vcf string) domain.JobID {
	b.h.t.Helper()
	r := b.upload("/annotate", b.csrf, name, []byte(vcf))
	if r.StatusCode != http.StatusSeeOther {
		b.h.t.Fatalf("upload: %d %s", r.StatusCode, r.body)
	}
	loc := r.Header.Get("Location")
	if !strings.HasPrefix(loc, "/annotations/") {
		b.h.t.Fatalf("upload redirected to %q", loc)
	}
	return domain.JobID(strings.TrimPrefix(loc, "/annotations/"))
}

// trivialAnnotate is the tests' stand-in annotator: a fixed consequence per
// allele chosen from the position, enough to exercise the pages.
func trivialAnnotate(vcf string) (string, domain.Summary) {
	sum := domain.Summary{Reference: "synthetic-test-ref", ByConsequence: map[string]int64{}, ByImpact: map[string]int64{},
		ByClass: map[string]int64{}, ByChromosome: map[string]int64{}}
	cons := []struct{ c, imp, gene string }{{"stop_gained", "HIGH", "GENE1"}, {"missense_variant", "MODERATE", "GENE2"},
		{"synonymous_variant", "LOW", "GENE1"}, {"non_coding_transcript_exon_variant", "MODIFIER", "GENE3"}}
	var b strings.Builder
	high := map[string]int64{}
	for _, line := range strings.SplitAfter(vcf, "\n") {
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "#") {
			if strings.HasPrefix(line, "#CHROM") {
				b.WriteString("##INFO=<ID=ANN,Number=.,Type=String,Description=\"Functional annotations: 'Allele | Annotation | Annotation_Impact | Gene_Name | Gene_ID | Feature_Type | Feature_ID | Transcript_BioType | Rank | HGVS.c | HGVS.p'\">\n")
			}
			b.WriteString(line)
			continue
		}
		f := strings.Split(strings.TrimRight(line, "\n"), "\t")
		sum.Records++
		var anns []string
		for i, alt := range strings.Split(f[4], ",") {
			var pos int
			fmt.Sscan(f[1], &pos)
			c := cons[(pos/100+i)%len(cons)]
			anns = append(anns, fmt.Sprintf("%s|%s|%s|%s|ID%s|transcript|TX%s.1|protein_coding|1/1|c.%d%s>%s|p.X%dY", alt, c.c, c.imp, c.gene, c.gene, c.gene, pos, f[3], alt, pos))
			sum.Variants++
			sum.ByConsequence[c.c]++
			sum.ByImpact[c.imp]++
			sum.ByClass["SNV"]++
			sum.ByChromosome[f[0]]++
			if f[2] != "." {
				sum.Known++
			}
			if c.imp == "HIGH" {
				high[c.gene]++
			}
		}
		if f[7] == "." {
			f[7] = "ANN=" + strings.Join(anns, ",")
		} else {
			f[7] += ";ANN=" + strings.Join(anns, ",")
		}
		b.WriteString(strings.Join(f, "\t") + "\n")
	}
	for g, n := range high {
		sum.TopHighImpactGenes = append(sum.TopHighImpactGenes, domain.GeneCount{Gene: g, Count: n})
	}
	return b.String(), sum
}

// trivialEngine is the results.Engine of trivialAnnotate.
type trivialEngine struct{}

func (trivialEngine) Reference() string { return "synthetic-test-ref" }

// namedTrivialEngine is trivialEngine offered as another reference.
type namedTrivialEngine struct {
	trivialEngine
	name string
}

func (e namedTrivialEngine) Reference() string { return e.name }

// trivialVocab names the codes of trivialEngine's table rows.
var trivialVocab = &vartable.Vocabulary{Terms: []string{"stop_gained", "missense_variant", "synonymous_variant", "non_coding_transcript_exon_variant"},
	Genes: []string{"GENE1", "GENE2", "GENE3"}}

func (trivialEngine) AnnotateJob(_ context.Context, in io.Reader, out io.Writer, job engine.Job) (domain.Summary, error) {
	b, err := io.ReadAll(in)
	if err != nil {
		return domain.Summary{}, err
	}
	vcf, sum := trivialAnnotate(string(b))
	if _, err := io.WriteString(out, vcf); err != nil {
		return sum, err
	}
	return sum, trivialTable(vcf, job.Table)
}

// trivialTable hands the table the rows of trivialAnnotate's VCF: one per
// allele, coded in trivialVocab.
func trivialTable(vcf string, table vartable.Sink) error {
	header := strings.Index(vcf, "\n#CHROM")
	header += strings.IndexByte(vcf[header+1:], '\n') + 2
	if err := table.Start(trivialVocab, int64(header)); err != nil {
		return err
	}
	var lines []vartable.Line
	var entries []vartable.Entry
	for off := header; off < len(vcf); {
		n := strings.IndexByte(vcf[off:], '\n')
		f := strings.Split(vcf[off:off+n], "\t")
		pos, _ := strconv.ParseInt(f[1], 10, 64)
		anns := strings.Split(strings.SplitN(f[7], "ANN=", 2)[1], ",")
		for i, a := range anns {
			p := strings.Split(a, "|")
			e := vartable.Entry{Allele: uint32(i), Ann: uint32(i), Impact: vartable.ParseImpact(p[2]), Known: f[2] != ".", AF: float32(math.NaN())}
			e.Terms = 1 << slices.Index(trivialVocab.Terms, p[1])
			e.Gene = int32(slices.Index(trivialVocab.Genes, p[3]))
			entries = append(entries, e)
		}
		lines = append(lines, vartable.Line{Offset: int64(off), Length: n, Chrom: []byte(f[0]), Pos: pos, Entries: len(anns)})
		off += n + 1
	}
	return table.Lines(lines, entries)
}

// complete runs a job "by hand" as the pipeline would: claim, annotate
// with the trivial annotator, store VCF, index, summary and log, complete.
func (h *harness) complete(id domain.JobID) *domain.Job {
	h.t.Helper()
	ctx := context.Background()
	j, err := h.store.Get(ctx, id)
	must(h.t, err)
	must(h.t, j.Claim(h.clock.Now(), time.Minute, 3))
	j, err = h.store.Update(ctx, j)
	must(h.t, err)
	var eng results.Engine = trivialEngine{}
	if h.engine != nil {
		eng = h.engine
	}
	ann, err := results.New(h.objects, append(results.Engines{eng}, h.extra...), results.Options{})
	must(h.t, err)
	out, err := ann.Annotate(ctx, ports.AnnotationRequest{Input: j.InputKey(), Keys: jobs.ResultKeys("results/", j.Owner(), id, "g1"), Options: j.Options()})
	must(h.t, err)
	must(h.t, j.Complete(h.clock.Now(), out.Keys, out.Reference, out.Summary.Counts()))
	owner, err := h.users.Get(ctx, j.Owner())
	must(h.t, err)
	if !owner.Premium() { // as the runner does: a free owner's result is archived after the window
		must(h.t, j.ScheduleArchive(j.CompletedAt().Add(h.jobs.Policy().FreeWindow)))
	}
	j, err = h.store.Update(ctx, j)
	must(h.t, err)
	return j
}

func (h *harness) mutate(id domain.JobID, f func(j *domain.Job) error) *domain.Job {
	h.t.Helper()
	j, err := jobs.Mutate(context.Background(), h.store, id, func(j *domain.Job) (bool, error) { return true, f(j) })
	must(h.t, err)
	return j
}

func (h *harness) fail(id domain.JobID, reason string) {
	h.t.Helper()
	h.mutate(id, func(j *domain.Job) error { return j.Claim(h.clock.Now(), time.Minute, 3) })
	h.mutate(id, func(j *domain.Job) error { _, err := j.Fail(h.clock.Now(), reason, true, 3); return err })
}

func references(opts []any) []string {
	for _, o := range opts {
		if r, ok := o.(withReferences); ok {
			return r
		}
	}
	return nil
}

func (h *harness) job(id domain.JobID) *domain.Job {
	h.t.Helper()
	j, err := h.store.Get(context.Background(), id)
	must(h.t, err)
	return j
}

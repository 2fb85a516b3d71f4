package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/gasproject/gas/adapters/aws/awsconfig"
	"github.com/gasproject/gas/adapters/aws/awstest"
	"github.com/gasproject/gas/adapters/aws/dynamostore"
	"github.com/gasproject/gas/adapters/aws/mail"
	"github.com/gasproject/gas/adapters/engine"
	"github.com/gasproject/gas/adapters/engine/gasdb"
	"github.com/gasproject/gas/adapters/engine/synth"
	"github.com/gasproject/gas/adapters/oidc/oidctest"
	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

// binaries are built once per test binary run.
var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// roleBinaries are the packages the cluster runs, plus the gas CLI for
// `gas aws bootstrap`.
var roleBinaries = []string{"web", "annotator", "archiver", "thawer", "restorer", "notifier", "reconciler", "gas"}

func build(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "gas-e2e-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binDir = dir
		args := []string{"build", "-o", dir + string(os.PathSeparator)}
		for _, b := range roleBinaries {
			args = append(args, "./apps/"+b)
		}
		cmd := exec.Command("go", args...)
		cmd.Dir = filepath.Join("..", "..", "..")
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binDir
}

// TestMain removes the built binaries after the run.
func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// record is one JSON log line of a role.
type record map[string]any

func (r record) str(k string) string { s, _ := r[k].(string); return s }

// time is when the record was logged.
func (r record) time(t *testing.T) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339Nano, r.str("time"))
	if err != nil {
		t.Fatalf("log record without a time: %v", r)
	}
	return at
}

// proc is one running role process with its logs.
type proc struct {
	name string
	cmd  *exec.Cmd
	file string

	mu      sync.Mutex
	records []record
	raw     []string
	changed chan struct{}
	exited  chan struct{}
	waitErr error
}

func (p *proc) add(line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.raw = append(p.raw, line)
	var r record
	if json.Unmarshal([]byte(line), &r) == nil {
		p.records = append(p.records, r)
	}
	close(p.changed)
	p.changed = make(chan struct{})
}

// find returns the records matching f.
func (p *proc) find(f func(record) bool) []record {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []record
	for _, r := range p.records {
		if f(r) {
			out = append(out, r)
		}
	}
	return out
}

// waitFor waits for a log record matching f.
func (p *proc) waitFor(t *testing.T, what string, timeout time.Duration, f func(record) bool) record {
	t.Helper()
	deadline := time.After(timeout)
	for {
		p.mu.Lock()
		ch := p.changed
		for _, r := range p.records {
			if f(r) {
				p.mu.Unlock()
				return r
			}
		}
		p.mu.Unlock()
		select {
		case <-ch:
		case <-p.exited:
			if rs := p.find(f); len(rs) > 0 {
				return rs[0]
			}
			t.Fatalf("%s exited (%v) before logging %s", p.name, p.waitErr, what)
		case <-deadline:
			t.Fatalf("%s did not log %s within %s", p.name, what, timeout)
		}
	}
}

func msg(m string) func(record) bool { return func(r record) bool { return r.str("msg") == m } }

func msgJob(m string, id domain.JobID) func(record) bool {
	return func(r record) bool { return r.str("msg") == m && r.str("job") == string(id) }
}

// addr is where the process listens (from its "listening" log line).
func (p *proc) addr(t *testing.T) string {
	t.Helper()
	return p.waitFor(t, "its listening address", 60*time.Second, msg("listening")).str("addr")
}

// signal sends sig and waits for the exit, returning the exit code.
func (p *proc) stop(t *testing.T, sig syscall.Signal, timeout time.Duration) int {
	t.Helper()
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.exited:
	case <-time.After(timeout):
		_ = p.cmd.Process.Kill()
		<-p.exited
		t.Fatalf("%s did not exit within %s of %v", p.name, timeout, sig)
	}
	return p.cmd.ProcessState.ExitCode()
}

func (p *proc) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// cluster is one deployment on the test server and the processes running it.
type cluster struct {
	t        *testing.T
	bin      string
	env      []string
	cfg      awsconfig.Config
	aws      *awsconfig.Clients
	jobs     *dynamostore.JobStore
	oidc     *oidctest.Provider
	sender   string
	webURL   string
	db       string // s3:// annotation database
	refName  string
	sample   *synth.Genome
	mu       sync.Mutex
	procs    []*proc
	signInMu sync.Mutex
}

// settings every role gets: short windows and timeouts so the whole life
// of a job fits in seconds.
var testSettings = map[string]string{
	"GAS_FREE_WINDOW":           "6s",
	"GAS_LEASE":                 "3s",
	"GAS_VISIBILITY":            "5s",
	"GAS_POLL_WAIT":             "5s",
	"GAS_RETRY_DELAY":           "500ms",
	"GAS_EXPEDITED_RESTORE":     "1s",
	"GAS_STANDARD_RESTORE":      "6s",
	"GAS_RESTORE_POLL_INTERVAL": "1s",
	"GAS_REDRIVE_DELAY":         "2s",
	"GAS_RECONCILE_INTERVAL":    "1s",
	"GAS_RECONCILE_GRACE":       "20s",
	"GAS_SHUTDOWN_GRACE":        "10s",
	"GAS_AWS_MAX_ATTEMPTS":      "3",
	"GAS_AWS_MAX_BACKOFF":       "200ms",
	"GAS_MAX_RECEIVES":          "3",
	"GAS_ANNOTATOR_WORKERS":     "1",
	"GAS_ADDR":                  "127.0.0.1:0",
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// newCluster bootstraps a fresh deployment with `gas aws bootstrap`,
// verifies the sender with SES, uploads the annotation database to S3 and
// starts an OIDC provider; roles are started by the test.
// settings overrides testSettings (for example GAS_COLD_STORAGE).
func newCluster(t *testing.T, settings ...string) *cluster {
	t.Helper()
	endpoint := awstest.Endpoint(t)
	c := &cluster{t: t, bin: build(t)}
	c.cfg = awstest.Config(t)
	c.cfg.MaxReceives = 3
	c.sender = "gas-" + strings.TrimSuffix(c.cfg.Prefix, "-") + "@example.org"
	c.webURL = fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	var err error
	c.oidc, err = oidctest.New("gas-e2e", "e2e-secret")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.oidc.Close)
	for k, v := range testSettings {
		c.env = append(c.env, k+"="+v)
	}
	c.env = append(c.env,
		"GAS_AWS_ENDPOINT="+endpoint, "GAS_AWS_PREFIX="+c.cfg.Prefix, "GAS_MAIL_FROM="+c.sender,
		"GAS_BASE_URL="+c.webURL, "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_REGION="+c.cfg.Region,
		"PATH="+os.Getenv("PATH"), "HOME="+os.Getenv("HOME"), "TMPDIR="+t.TempDir(),
	)
	c.env = append(c.env, settings...)
	for _, kv := range settings {
		if v, ok := strings.CutPrefix(kv, "GAS_COLD_STORAGE="); ok {
			c.cfg.ColdStorage = v
		}
	}
	t.Cleanup(c.shutdownAll)

	// Bootstrap as an operator would, twice: the second run must converge.
	for i := range 2 {
		out, err := c.command("gas", "aws", "bootstrap")
		if err != nil {
			t.Fatalf("gas aws bootstrap (run %d): %v\n%s", i+1, err, out)
		}
		if i == 1 && !strings.Contains(out, "up to date") {
			t.Fatalf("second bootstrap was not a no-op:\n%s", out)
		}
	}
	env := awstest.NewWith(t, c.cfg)
	c.aws = env.Clients
	ctx := awstest.Ctx(t)
	if _, err := c.aws.SES.CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String(c.sender)}); err != nil {
		t.Fatalf("verify sender: %v", err)
	}
	c.jobs, err = dynamostore.NewJobStore(c.aws.DynamoDB, c.cfg.Names.JobsTable)
	if err != nil {
		t.Fatal(err)
	}
	c.uploadDatabase(ctx)
	return c
}

// uploadDatabase builds the synthetic reference's database and stores it
// in a bucket of its own, so annotators load it from s3://.
func (c *cluster) uploadDatabase(ctx context.Context) {
	t := c.t
	g, err := synth.New(synth.Small())
	if err != nil {
		t.Fatal(err)
	}
	c.sample = g
	var gff, fa, db bytes.Buffer
	if err := g.WriteGFF3(&gff); err != nil {
		t.Fatal(err)
	}
	if err := g.WriteFASTA(&fa); err != nil {
		t.Fatal(err)
	}
	c.refName = "e2e synthetic reference " + c.cfg.Prefix
	ref, err := engine.BuildReference(engine.Sources{Name: c.refName, Genes: &gff, Format: engine.GFF3, FASTA: &fa})
	if err != nil {
		t.Fatal(err)
	}
	if err := gasdb.Write(&db, ref, gasdb.Meta{}); err != nil {
		t.Fatal(err)
	}
	bucket := c.cfg.Prefix + "refdata"
	if _, err := c.aws.S3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.aws.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("synthetic/small.gasdb"),
		Body: bytes.NewReader(db.Bytes())}); err != nil {
		t.Fatal(err)
	}
	c.db = "s3://" + bucket + "/synthetic/small.gasdb"
}

// sampleVCF is a small VCF on the synthetic genome.
func (c *cluster) sampleVCF(size int) []byte {
	var b bytes.Buffer
	if err := c.sample.WriteSampleVCF(&b, size); err != nil {
		c.t.Fatal(err)
	}
	return b.Bytes()
}

func (c *cluster) command(bin string, args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(c.bin, bin), args...)
	cmd.Env = c.env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// start runs a role binary with the deployment's environment plus extra.
func (c *cluster) start(name, bin string, extra ...string) *proc {
	t := c.t
	t.Helper()
	cmd := exec.Command(filepath.Join(c.bin, bin))
	cmd.Env = append(append([]string(nil), c.env...), extra...)
	cmd.SysProcAttr = procAttr()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = cmd.Stderr
	dir := os.Getenv("GAS_E2E_LOGS") // keep the roles' logs there (default: a temporary directory)
	if dir == "" {
		dir = t.TempDir()
	}
	p := &proc{name: name, cmd: cmd, changed: make(chan struct{}), exited: make(chan struct{}),
		file: filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_")+"-"+name+".log")}
	f, err := os.Create(p.file)
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	var reading sync.WaitGroup
	reading.Go(func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(f, line)
			p.add(line)
		}
	})
	go func() {
		reading.Wait()
		p.waitErr = cmd.Wait()
		f.Close()
		close(p.exited)
	}()
	c.mu.Lock()
	c.procs = append(c.procs, p)
	c.mu.Unlock()
	return p
}

// shutdownAll stops every process still running (SIGTERM, then SIGKILL)
// and, when the test failed, prints the tail of every log.
func (c *cluster) shutdownAll() {
	c.mu.Lock()
	procs := append([]*proc(nil), c.procs...)
	c.mu.Unlock()
	for _, p := range procs {
		if p.running() {
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	for _, p := range procs {
		select {
		case <-p.exited:
		case <-time.After(15 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	}
	if c.t.Failed() {
		for _, p := range procs {
			p.mu.Lock()
			lines := p.raw
			if len(lines) > 40 {
				lines = lines[len(lines)-40:]
			}
			c.t.Logf("---- %s (last %d lines of %s) ----\n%s", p.name, len(lines), p.file, strings.Join(lines, "\n"))
			p.mu.Unlock()
		}
	}
}

// job reads a job record straight from DynamoDB.
func (c *cluster) job(t *testing.T, id domain.JobID) *domain.Job {
	t.Helper()
	j, err := c.jobs.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// waitJob polls the job record until ok, failing after timeout.
func (c *cluster) waitJob(t *testing.T, id domain.JobID, what string, timeout time.Duration, ok func(*domain.Job) bool) *domain.Job {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		j, err := c.jobs.Get(context.Background(), id)
		if err == nil && ok(j) {
			return j
		}
		if time.Now().After(deadline) {
			if j != nil {
				t.Fatalf("job %s not %s within %s: status %s storage %s attempts %d reason %q", id, what, timeout,
					j.Status(), j.Storage(), j.Attempts(), j.FailureReason())
			}
			t.Fatalf("job %s not %s within %s: %v", id, what, timeout, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// headObject reports whether key exists in bucket, and its storage class.
func (c *cluster) headObject(t *testing.T, bucket, key string) (bool, string) {
	t.Helper()
	out, err := c.aws.S3.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		var nf interface{ ErrorCode() string }
		if errors.As(err, &nf) && (nf.ErrorCode() == "NotFound" || nf.ErrorCode() == "NoSuchKey") {
			return false, ""
		}
		t.Fatalf("head %s/%s: %v", bucket, key, err)
	}
	return true, string(out.StorageClass)
}

// listKeys lists keys of bucket under prefix.
func (c *cluster) listKeys(t *testing.T, bucket, prefix string) []string {
	t.Helper()
	out, err := c.aws.S3.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	return keys
}

// emailsTo returns the e-mails the notifier sent to addr through SES
// (moto keeps them at /moto-api/data.json).
func (c *cluster) emailsTo(t *testing.T, addr string) []ports.Email {
	t.Helper()
	var data struct {
		SES struct {
			RawMessage []struct {
				Source  string `json:"source"`
				RawData string `json:"raw_data"`
			} `json:"RawMessage"`
		} `json:"ses"`
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(c.cfg.Endpoint + "/moto-api/data.json")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK && json.Unmarshal(body, &data) == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("moto data.json answered %d", resp.StatusCode)
		}
		time.Sleep(250 * time.Millisecond)
	}
	var out []ports.Email
	for _, m := range data.SES.RawMessage {
		if m.Source != c.sender {
			continue
		}
		e, err := mail.ParseMessage([]byte(m.RawData))
		if err != nil {
			t.Fatalf("parse sent message: %v", err)
		}
		if strings.Contains(e.To, addr) {
			out = append(out, e)
		}
	}
	return out
}

// waitEmail waits for an e-mail to addr whose text mentions the job.
func (c *cluster) waitEmail(t *testing.T, addr string, id domain.JobID, timeout time.Duration) ports.Email {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		for _, e := range c.emailsTo(t, addr) {
			if strings.Contains(e.Text, string(id)) {
				return e
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no e-mail to %s about job %s within %s", addr, id, timeout)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

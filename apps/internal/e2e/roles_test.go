package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/gasproject/gas/adapters/aws/awstest"
	"github.com/gasproject/gas/adapters/aws/sqsqueue"
	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/domain/jobs"
	"github.com/gasproject/gas/ports/message"
)

// Users of the test. bob's subject is what the thawer's Expedited refusal
// hook matches in archive keys (archive/<owner>/<job>/...).
const (
	aliceSub = "sub-alice"
	bobSub   = "sub-bob-no-expedited"
	carolSub = "sub-carol"
	daveSub  = "sub-dave"
	// opsSub is an operator's: the web role's GAS_ADMINS.
	opsSub = "sub-ops"
)

// TestRolesEndToEnd deploys the CloudFormation stack (gas aws deploy),
// runs every role as its own process against the resources the stack
// created, and walks a job through its whole life, then the faults of
// issue 5: a conditional-write race between two annotators, Expedited
// retrieval refused, a poison message, the group terminating an
// annotator mid-job (lifecycle hook), kill -9 of an annotator mid-job,
// and SIGTERM of every role; between them the reconciler's repair of a
// stranded job, premium granted on the admin page and with gas users, and
// signing out (here, and everywhere). Last, each role's IAM policy in the
// stack is compared with the AWS calls the role made.
func TestRolesEndToEnd(t *testing.T) {
	c := newStackCluster(t)
	start := time.Now()
	r := c.startRoles(t, map[string][]string{
		// Poison: the store refuses writes of these jobs in annotators only,
		// so their requests can never be claimed and go to the DLQ; and the
		// claim race is widened so both annotators read before either writes.
		"annotator": {"GAS_TEST_FAIL_JOB_WRITES=poison-", "GAS_TEST_JOB_WRITE_DELAY=1s"},
		"archiver":  {"GAS_TEST_REFUSE_EXPEDITED=" + bobSub},
		"thawer":    {"GAS_TEST_REFUSE_EXPEDITED=" + bobSub},
	}, 2)
	a1, a2, thawer, notifier := r["annotator-1"], r["annotator-2"], r["thawer"], r["notifier"]
	t.Logf("deployment bootstrapped and %d roles ready in %s", len(r), time.Since(start).Round(time.Millisecond))

	alice := c.signIn(aliceSub, "Alice Researcher", "alice@example.org")
	bob := c.signIn(bobSub, "Bob Builder", "bob@example.org")
	carol := c.signIn(carolSub, "Carol Poison", "carol@example.org")
	dave := c.signIn(daveSub, "Dave Racer", "dave@example.org")
	ops := c.signIn(opsSub, "Olga Operator", "ops@example.org")
	input := c.sampleVCF(16 << 10)

	// Both annotators idle: one request delivered twice (as SQS may) makes
	// them race for the same job in DynamoDB.
	t.Run("ConditionalWriteRace", func(t *testing.T) {
		dave.t = t
		queue, err := sqsqueue.Open(context.Background(), c.aws.SQS, c.cfg.Names.Queue(message.QueueAnnotate), nil)
		if err != nil {
			t.Fatal(err)
		}
		var dupErr error
		id := dave.upload("race.vcf", input, func(id domain.JobID) {
			dupErr = message.Schedule(context.Background(), queue, message.JobRequest(id, daveSub), time.Now())
		})
		if dupErr != nil {
			t.Fatal(dupErr)
		}
		j := c.waitJob(t, id, "completed", 60*time.Second, func(j *domain.Job) bool { return j.Status() == domain.StatusCompleted })
		if j.Attempts() != 1 {
			t.Fatalf("raced job ran %d times", j.Attempts())
		}
		claimed := len(a1.find(msgJob("job claimed", id))) + len(a2.find(msgJob("job claimed", id)))
		lost := len(a1.find(msgJob("conditional write lost to a concurrent update; backing off", id))) +
			len(a2.find(msgJob("conditional write lost to a concurrent update; backing off", id)))
		if claimed != 1 || lost < 1 {
			t.Fatalf("race for %s: %d claims, %d lost conditional writes (want 1 and at least 1)", id, claimed, lost)
		}
		winner, loser := a1, a2
		if len(a2.find(msgJob("job claimed", id))) == 1 {
			winner, loser = a2, a1
		}
		if len(loser.find(msgJob("conditional write lost to a concurrent update; backing off", id))) == 0 {
			t.Fatalf("the conflict was not on the losing annotator %s", loser.name)
		}
		t.Logf("%s claimed %s; %s lost the conditional write and backed off", winner.name, id, loser.name)
	})

	t.Run("Lifecycle", func(t *testing.T) {
		t.Run("FreeUserUploadAnnotateArchiveUpgradeRestore", func(t *testing.T) {
			t.Parallel()
			alice.t, ops.t = t, t
			lifecycle(t, c, alice, input, domain.RetrievalExpedited, thawer, true, ops.grantOnAdminPage)
		})
		t.Run("ExpeditedRefusedFallsBackToStandard", func(t *testing.T) {
			t.Parallel()
			bob.t = t
			lifecycle(t, c, bob, input, domain.RetrievalStandard, thawer, true, c.grantWithCommand)
		})
		t.Run("PoisonMessageDeadLettered", func(t *testing.T) {
			t.Parallel()
			carol.t = t
			id := carol.upload("poison-pill.vcf", input)
			j := c.waitJob(t, id, "FAILED by the dead-letter handler", 60*time.Second,
				func(j *domain.Job) bool { return j.Status() == domain.StatusFailed })
			if j.Attempts() != 0 || !strings.Contains(j.FailureReason(), "after repeated attempts") {
				t.Fatalf("poisoned job: attempts %d, reason %q", j.Attempts(), j.FailureReason())
			}
			notifier.waitFor(t, "the abandonment", 10*time.Second, msgJob("job abandoned after repeated failures", id))
			_, page := carol.get("/annotations/" + string(id))
			if !strings.Contains(page, "after repeated attempts") {
				t.Fatalf("job page does not give the reason:\n%s", page)
			}
			e := c.waitEmail(t, "carol@example.org", id, 30*time.Second)
			t.Logf("poison job %s FAILED via the DLQ; e-mail %q", id, e.Subject)
		})
	})

	// A web server died between storing a job and publishing its request
	// (the job is written straight into DynamoDB here, its input into S3,
	// and nothing is published): the reconciler role finds it stranded and
	// requests it; an annotator runs it and its owner is told.
	t.Run("ReconcilerRequestsAStrandedJob", func(t *testing.T) {
		ctx := awstest.Ctx(t)
		id := domain.JobID("stranded-" + awstest.Unique())
		key := jobs.InputKey("inputs/", daveSub, id)
		if _, err := c.aws.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(c.cfg.Names.InputsBucket), Key: aws.String(key),
			Body: bytes.NewReader(input)}); err != nil {
			t.Fatal(err)
		}
		j, err := domain.NewJob(id, daveSub, "stranded.vcf", key, int64(len(input)), time.Now().Add(-time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.jobs.Create(ctx, j); err != nil {
			t.Fatal(err)
		}
		c.waitJob(t, id, "completed", 60*time.Second, func(j *domain.Job) bool { return j.Status() == domain.StatusCompleted })
		r["reconciler"].waitFor(t, "the repair", 10*time.Second, func(rec record) bool {
			return rec.str("msg") == "reconcile: repaired" && rec.str("finding") == "pending_unrequested" && rec.str("job") == string(id)
		})
		c.waitEmail(t, "dave@example.org", id, 30*time.Second)
	})

	// Every role exposes Prometheus metrics: the annotators their runs and
	// queue depth, the web its request latencies, the notifier the DLQs,
	// the reconciler its passes and the parked queue.
	t.Run("Metrics", func(t *testing.T) {
		annotators := httpBody(t, "http://"+a1.addr(t)+"/metrics") + httpBody(t, "http://"+a2.addr(t)+"/metrics")
		if !strings.Contains(annotators, `gas_annotations_total{outcome="ok"}`) || !strings.Contains(annotators, "gas_annotated_variants_total") {
			t.Error("annotators' /metrics lack annotation counts")
		}
		for _, m := range []struct {
			p     *proc
			wants []string
		}{
			{a1, []string{`gas_queue_messages{queue="annotate",state="visible"}`, "gas_job_write_conflicts_total", "go_goroutines"}},
			{r["web"], []string{`gas_http_request_duration_seconds_count{code="200",method="GET",route="/annotations/{id}/status"}`}},
			{notifier, []string{`gas_queue_messages{queue="annotate-dlq",state="visible"} 0`, `gas_queue_messages{queue="notify",state="in_flight"}`}},
			{r["reconciler"], []string{`gas_reconcile_runs_total{outcome="ok"}`, `gas_reconcile_findings{finding="pending_unrequested"}`,
				`gas_queue_messages{queue="parked",state="visible"} 0`}},
		} {
			addr := m.p.addr(t)
			if m.p == r["web"] { // the site's own /metrics wants the token; the operations listener does not
				addr = m.p.waitFor(t, "its metrics address", 10*time.Second, msg("metrics listening")).str("addr")
				if code := httpStatus(t, c.webURL+"/metrics"); code != http.StatusUnauthorized {
					t.Errorf("the site's /metrics without the token answered %d, want 401", code)
				}
			}
			body := httpBody(t, "http://"+addr+"/metrics")
			for _, w := range m.wants {
				if !strings.Contains(body, w) {
					t.Errorf("%s /metrics lacks %s", m.p.name, w)
				}
			}
		}
	})

	// Web servers are stateless: sessions are cookies sealed with the shared
	// key and API tokens live in DynamoDB, so both outlive the server.
	t.Run("WebRestartKeepsSessionsAndAPITokens", func(t *testing.T) {
		alice.t = t
		_, page := alice.postForm("/profile", "/profile/tokens", url.Values{"name": {"e2e script"}})
		m := regexp.MustCompile(`id="new-token">(gas_[^<]+)<`).FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("no new token on the profile page:\n%s", page)
		}
		if code := r["web"].stop(t, syscall.SIGTERM, 20*time.Second); code != 0 {
			t.Fatalf("web exited %d on SIGTERM", code)
		}
		r["web"] = c.startWeb("web-2")
		if code := httpStatus(t, "http://"+r["web"].addr(t)+"/readyz"); code != http.StatusOK {
			t.Fatalf("restarted web /readyz answered %d", code)
		}
		req, _ := http.NewRequest(http.MethodGet, c.webURL+"/api/v1/jobs", nil)
		req.Header.Set("Authorization", "Bearer "+html.UnescapeString(m[1]))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var list struct {
			Jobs []struct {
				ID     string `json:"id"`
				Status string `json:"status"`
			} `json:"jobs"`
		}
		if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &list) != nil || len(list.Jobs) != 1 || list.Jobs[0].Status != "COMPLETED" {
			t.Fatalf("API with the token after a web restart: %d %s", resp.StatusCode, body)
		}
		if _, page := alice.get("/profile"); !strings.Contains(page, "alice@example.org") {
			t.Fatal("browser session lost across the web restart")
		}
		// A job submitted through the API streams through the web server.
		id := apiSubmit(t, c, html.UnescapeString(m[1]), "api.vcf", input, http.StatusCreated)
		c.waitJob(t, domain.JobID(id), "completed", 60*time.Second, func(j *domain.Job) bool { return j.Status() == domain.StatusCompleted })
	})

	// A free user's upload over the limit is refused and nothing of it
	// kept; a revoked token opens nothing.
	t.Run("APIRefusesOversizeUploadAndRevokedToken", func(t *testing.T) {
		carol.t = t
		_, page := carol.postForm("/profile", "/profile/tokens", url.Values{"name": {"e2e"}})
		m := regexp.MustCompile(`id="new-token">(gas_[^<]+)<`).FindStringSubmatch(page)
		del := regexp.MustCompile(`action="(/profile/tokens/[^"/]+/delete)"`).FindStringSubmatch(page)
		if m == nil || del == nil {
			t.Fatalf("no new token or no delete form on the profile page:\n%s", page)
		}
		token := html.UnescapeString(m[1])
		before := c.listKeys(t, c.cfg.Names.InputsBucket, "inputs/"+carolSub+"/")
		apiSubmit(t, c, token, "big.vcf", c.sampleVCF(200<<10), http.StatusRequestEntityTooLarge)
		if after := c.listKeys(t, c.cfg.Names.InputsBucket, "inputs/"+carolSub+"/"); len(after) != len(before) {
			t.Fatalf("refused upload kept: %v, before %v", after, before)
		}
		if resp, _ := carol.postForm("/profile", html.UnescapeString(del[1]), nil); resp.StatusCode != http.StatusOK {
			t.Fatalf("revoke: %d", resp.StatusCode)
		}
		apiSubmit(t, c, token, "after.vcf", input, http.StatusUnauthorized)
	})

	// Sessions live in DynamoDB: signing out ends this browser's session
	// at once, signing out everywhere every other browser's too.
	t.Run("SignOutEndsSessions", func(t *testing.T) {
		signedIn := func(b *browser) bool {
			b.t = t
			resp, page := b.get("/profile")
			return resp.Request.URL.Path == "/profile" && strings.Contains(page, b.email)
		}
		here, laptop, phone := c.signIn(carolSub, "Carol Poison", "carol@example.org"),
			c.signIn(carolSub, "Carol Poison", "carol@example.org"), c.signIn(carolSub, "Carol Poison", "carol@example.org")
		here.t, laptop.t = t, t
		if resp, _ := here.postForm("/profile", "/signout", nil); resp.StatusCode != http.StatusOK || signedIn(here) {
			t.Fatalf("still signed in after signing out (%d)", resp.StatusCode)
		}
		if !signedIn(laptop) || !signedIn(phone) {
			t.Fatal("signing out one browser signed out the others")
		}
		if resp, _ := laptop.postForm("/profile", "/signout/everywhere", nil); resp.StatusCode != http.StatusOK || signedIn(laptop) || signedIn(phone) {
			t.Fatalf("a browser still signed in after signing out everywhere (%d)", resp.StatusCode)
		}
	})

	// Scale-in, then a crash, on one job: an annotator whose instance the
	// group terminates mid-job (its lifecycle hook waits) releases the job
	// once its grace period is over — job PENDING again without charging
	// the attempt, request visible at once — and lets the termination go
	// on; the next annotator to take it is killed with -9 mid-job, its
	// instance protected from scale-in meanwhile; a third one completes it,
	// exactly once, and its instance is unprotected once idle.
	var id domain.JobID
	t.Run("ScaleInReleasesJobMidRun", func(t *testing.T) {
		// Idle annotators stop once their last long poll returns (at most
		// GAS_POLL_WAIT): cutting it short could hide the next request.
		begin := time.Now()
		for p, code := range stopAll(t, a1, a2) {
			if code != 0 {
				t.Fatalf("%s exited %d on SIGTERM", p.name, code)
			}
		}
		t.Logf("idle annotators stopped on SIGTERM in %s", time.Since(begin).Round(time.Millisecond))
		// A grace period ending between two lease renewals (every 1 s).
		leaving := c.start("annotator-leaving", "annotator", "GAS_ANNOTATION_DB="+c.db, "GAS_TEST_ANNOTATE_DELAY=60s",
			"GAS_SHUTDOWN_GRACE=1500ms")
		leaving.waitFor(t, "database loaded", 30*time.Second, msg("annotation database loaded"))
		dave.t = t
		id = dave.upload("interrupted.vcf", input)
		leaving.waitFor(t, "the claim", 30*time.Second, msgJob("job claimed", id))
		waitTrue(t, "the leaving annotator's instance protected from scale-in", func() bool { return c.protected(t, leaving.name) })
		begin = time.Now()
		c.stack.metadata[leaving.name].terminate()
		select {
		case <-leaving.exited:
		case <-time.After(20 * time.Second):
			t.Fatal("the annotator did not stop when its group terminated its instance")
		}
		if code := leaving.cmd.ProcessState.ExitCode(); code != 0 {
			t.Fatalf("annotator exited %d when its group terminated its instance", code)
		}
		t.Logf("busy annotator released its job and stopped %s after its group began terminating it", time.Since(begin).Round(time.Millisecond))
		if len(leaving.find(msg("the autoscaling group is terminating this instance; shutting down"))) != 1 ||
			len(leaving.find(msg("grace period over; releasing in-flight work"))) != 1 {
			t.Fatal("the annotator did not say it was terminated and released its job")
		}
		if !c.called(t, leaving.name, "Auto Scaling", "CompleteLifecycleAction") {
			t.Fatal("the annotator did not let the termination go on (CompleteLifecycleAction)")
		}
		if j := c.job(t, id); j.Status() != domain.StatusPending || j.Attempts() != 0 {
			t.Fatalf("released job is %s after %d attempts", j.Status(), j.Attempts())
		}
	})

	t.Run("KillAnnotatorMidJob", func(t *testing.T) {
		if id == "" {
			t.Skip("no released job to continue with")
		}
		released := time.Now()
		slow := c.start("annotator-slow", "annotator", "GAS_ANNOTATION_DB="+c.db, "GAS_TEST_ANNOTATE_DELAY=60s")
		slow.waitFor(t, "the claim of the released job", 30*time.Second, msgJob("job claimed", id))
		t.Logf("released job picked up by the next annotator %s after it was released", time.Since(released).Round(time.Millisecond))
		time.Sleep(1500 * time.Millisecond) // mid-job: lease and visibility renewed at least once
		if j := c.job(t, id); j.Status() != domain.StatusRunning || j.Attempts() != 1 {
			t.Fatalf("job %s is %s (%d attempts) while the slow annotator holds it", id, j.Status(), j.Attempts())
		}
		if !c.protected(t, slow.name) {
			t.Fatal("the slow annotator's instance is not protected from scale-in while it holds a job")
		}
		if err := slow.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-slow.exited
		killedAt := time.Now()
		rescuer := c.start("annotator-3", "annotator", "GAS_ANNOTATION_DB="+c.db)
		j := c.waitJob(t, id, "completed by another annotator", 60*time.Second, func(j *domain.Job) bool { return j.Status() == domain.StatusCompleted })
		t.Logf("job %s completed %s after the kill", id, time.Since(killedAt).Round(time.Millisecond))
		if j.Attempts() != 2 {
			t.Fatalf("job ran %d times, want 2 (the killed run and the rescue)", j.Attempts())
		}
		if n := len(rescuer.find(msgJob("job completed", id))); n != 1 {
			t.Fatalf("rescuer completed the job %d times", n)
		}
		waitTrue(t, "the idle rescuer's instance unprotected", func() bool { return !c.protected(t, rescuer.name) })
		keys := c.listKeys(t, c.cfg.Names.ResultsBucket, "results/"+daveSub+"/"+string(id)+"/")
		if len(keys) == 0 {
			t.Fatal("no results stored")
		}
		gen := strings.TrimSuffix(j.Results().VCF, "annotated.vcf")
		for _, k := range keys {
			if !strings.HasPrefix(k, gen) {
				t.Fatalf("result %s outside the one completed generation %s: %v", k, gen, keys)
			}
		}
		c.waitEmail(t, dave.email, id, 30*time.Second)
	})

	t.Run("SIGTERMStopsEveryRoleCleanly", func(t *testing.T) {
		c.mu.Lock()
		var running []*proc
		for _, p := range c.procs {
			if p.running() {
				running = append(running, p)
			}
		}
		c.mu.Unlock()
		for p, code := range stopAll(t, running...) {
			if code != 0 {
				t.Errorf("%s exited %d on SIGTERM", p.name, code)
			}
			if len(p.find(msg("stopped"))) != 1 {
				t.Errorf("%s did not log its clean stop", p.name)
			}
		}
	})
	t.Run("IAMPoliciesAreExact", func(t *testing.T) { c.checkPolicies(t) })
	t.Logf("end-to-end run took %s", time.Since(start).Round(time.Millisecond))
}

// TestRolesVaultColdStorage runs the roles with Glacier vaults as cold
// storage (GAS_COLD_STORAGE=glacier-vault) and no Expedited capacity at
// all: InsufficientCapacityException makes the thawer use Standard, and as
// moto's vaults send no completion notification, the restorer's polling
// chain (check, still running, check again) brings the result back.
func TestRolesVaultColdStorage(t *testing.T) {
	c := newCluster(t, "GAS_COLD_STORAGE=glacier-vault", "GAS_STANDARD_RESTORE=2s")
	r := c.startRoles(t, map[string][]string{
		"archiver": {"GAS_TEST_REFUSE_EXPEDITED=*"},
		"thawer":   {"GAS_TEST_REFUSE_EXPEDITED=*"},
	}, 1)
	erin := c.signIn("sub-erin", "Erin Vault", "erin@example.org")
	lifecycle(t, c, erin, c.sampleVCF(8<<10), domain.RetrievalStandard, r["thawer"], false, c.grantWithCommand)
	// moto's Standard vault retrieval takes 5 s; the first check was due
	// after 2 s, so the polling chain must have checked again (every 1 s).
	restored := r["restorer"].find(msg("job restored"))
	started := r["thawer"].find(msg("restore started"))
	if len(restored) != 1 || len(started) != 1 {
		t.Fatalf("%d restores started, %d finished", len(started), len(restored))
	}
	took := restored[0].time(t).Sub(started[0].time(t))
	if took < 3*time.Second {
		t.Fatalf("vault restore finished %s after it started: before moto could have completed it", took)
	}
	t.Logf("vault retrieval restored by polling %s after it started", took.Round(time.Millisecond))
}

// startWeb starts a web role on the cluster's web address.
func (c *cluster) startWeb(name string, extra ...string) *proc {
	return c.start(name, "web", append([]string{"GAS_ADDR=" + strings.TrimPrefix(c.webURL, "http://"),
		"GAS_SESSION_KEY=" + c.sessionKey,
		"GAS_OIDC_ISSUER=" + c.oidc.Issuer, "GAS_OIDC_CLIENT_ID=" + c.oidc.ClientID, "GAS_OIDC_CLIENT_SECRET=" + c.oidcSecret,
		"GAS_REFERENCE_NAME=" + c.refName, "GAS_METRICS_ADDR=127.0.0.1:0", "GAS_METRICS_TOKEN=" + metricsToken,
		"GAS_ADMINS=" + opsSub}, extra...)...)
}

// metricsToken lets the test scrape the web role's public /metrics.
const metricsToken = "e2e-metrics-token"

// startRoles starts web, annotators (n of them), archiver, thawer, restorer,
// notifier and reconciler with extra settings per binary, and waits until each
// listens and is ready. Processes are named by binary ("annotator-1" ...).
func (c *cluster) startRoles(t *testing.T, extra map[string][]string, annotators int) map[string]*proc {
	t.Helper()
	procs := map[string]*proc{}
	procs["web"] = c.startWeb("web", extra["web"]...)
	for i := 1; i <= annotators; i++ {
		name := fmt.Sprintf("annotator-%d", i)
		procs[name] = c.start(name, "annotator", append([]string{"GAS_ANNOTATION_DB=" + c.db}, extra["annotator"]...)...)
	}
	for _, role := range []string{"archiver", "thawer", "restorer", "notifier", "reconciler"} {
		procs[role] = c.start(role, role, extra[role]...)
	}
	for name, p := range procs {
		if code := httpStatus(t, "http://"+p.addr(t)+"/readyz"); code != http.StatusOK {
			t.Fatalf("%s /readyz answered %d", name, code)
		}
		if strings.HasPrefix(name, "annotator") {
			p.waitFor(t, "database loaded", 30*time.Second, func(r record) bool {
				return r.str("msg") == "annotation database loaded" && r.str("reference") == c.refName && r.str("source") == c.db
			})
		}
	}
	return procs
}

// stopAll sends SIGTERM to every process at once and returns their exit codes.
func stopAll(t *testing.T, ps ...*proc) map[*proc]int {
	t.Helper()
	for _, p := range ps {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
	}
	codes := map[*proc]int{}
	for _, p := range ps {
		codes[p] = p.stop(t, syscall.SIGTERM, 20*time.Second)
	}
	return codes
}

func httpBody(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	return string(b)
}

func httpStatus(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

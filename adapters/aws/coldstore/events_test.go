package coldstore_test

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/gasproject/gas/adapters/aws/awstest"
	"github.com/gasproject/gas/adapters/aws/coldstore"
	"github.com/gasproject/gas/adapters/aws/sqsqueue"
	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
	"github.com/gasproject/gas/ports/message"
)

func TestParseNotice(t *testing.T) {
	for _, c := range []struct {
		name      string
		body      string
		ok        bool
		keys      []string
		ignorable bool
	}{
		{"s3 restore completed", `{"Records":[{"eventSource":"aws:s3","eventName":"ObjectRestore:Completed","s3":{"object":{"key":"archive/alice/job%2B1/ab+cd.tar"}}}]}`,
			true, []string{"archive/alice/job+1/ab cd.tar"}, false},
		{"s3 restore posted", `{"Records":[{"eventSource":"aws:s3","eventName":"ObjectRestore:Post","s3":{"object":{"key":"k"}}}]}`, true, nil, true},
		{"s3 test event", `{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-01-01T00:00:00Z","Bucket":"b"}`, true, nil, true},
		{"vault job done", `{"Action":"ArchiveRetrieval","JobId":"J","ArchiveId":"A","Completed":true,"StatusCode":"Succeeded","JobDescription":"archive/u/j/h.tar"}`,
			true, []string{"archive/u/j/h.tar"}, false},
		{"vault job failed", `{"Action":"ArchiveRetrieval","Completed":true,"StatusCode":"Failed","JobDescription":"archive/u/j/h.tar"}`, true, nil, true},
		{"gas message", string(message.RestoreCheck("j", time.Unix(0, 0)).Encode()), false, nil, false},
		{"not json", `archive j`, false, nil, false},
	} {
		n, ok := coldstore.ParseNotice([]byte(c.body))
		if ok != c.ok || n.Ignorable != c.ignorable || len(n.Keys) != len(c.keys) || len(c.keys) > 0 && n.Keys[0] != c.keys[0] {
			t.Errorf("%s: got %+v, %v; want keys %q ignorable %v ok %v", c.name, n, ok, c.keys, c.ignorable, c.ok)
		}
	}
}

// TestRestoreEventReachesRestorer runs the event path end to end on a
// bootstrapped deployment: a GLACIER-class archive is restored; the
// bucket's ObjectRestore:Completed notification (moto emits it when the
// restored object is next read) goes to the restore-completions topic and
// on to the restore queue, where the NoticeQueue hands the restorer a
// RestoreCompleted message for the job, having dropped S3's test event.
func TestRestoreEventReachesRestorer(t *testing.T) {
	env, _ := awstest.Deployment(t)
	ctx := awstest.Ctx(t)
	n := env.Config.Names
	a, err := coldstore.NewS3Glacier(env.Clients.S3, n.ArchiveBucket, 0)
	if err != nil {
		t.Fatal(err)
	}
	q, err := sqsqueue.Open(ctx, env.Clients.SQS, n.Queue(message.QueueRestore), nil)
	if err != nil {
		t.Fatal(err)
	}
	nq, err := coldstore.NewNoticeQueue(q, "archive/", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	// The owner's id is path-escaped in the key, as jobs.ArchiveKey writes it,
	// and URL-encoded again in the S3 event.
	id, err := a.Put(ctx, "archive/alice%40x/job-42/0123abcd.tar", io.LimitReader(zeros{}, 1000))
	if err != nil {
		t.Fatal(err)
	}
	rid, err := retrievalID(a.InitiateRestore(ctx, id, domain.RetrievalExpedited))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := a.OpenRestored(ctx, rid)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, rc)
	rc.Close()
	var got []message.Body
	deadline := time.Now().Add(10 * time.Second)
	for len(got) == 0 && time.Now().Before(deadline) {
		ms, err := nq.Receive(ctx, 10, time.Minute, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			msg, err := message.Decode(m.Body)
			if err != nil {
				t.Fatalf("restorer would get a non-GAS body %q: %v", m.Body, err)
			}
			got = append(got, msg)
			if err := nq.Delete(ctx, m.Receipt); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(got) != 1 || got[0].Kind != message.KindRestore || got[0].Job != "job-42" || got[0].Poll {
		t.Fatalf("restore queue delivered %+v, want one RestoreCompleted for job-42", got)
	}
	st, err := q.Stats(ctx)
	if err != nil || st != (ports.QueueStats{}) {
		t.Fatalf("restore queue left %+v, %v (the test event should be acknowledged)", st, err)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

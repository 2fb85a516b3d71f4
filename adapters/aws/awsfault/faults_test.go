package awsfault_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gasproject/gas/adapters/aws/awsfault"
)

// TestInjector: an outage never reaches the server, a lost answer does
// (the call happened) but the client sees a connection reset, a canned
// answer replaces the server's, and each fault ends after its count.
func TestInjector(t *testing.T) {
	var reached atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		io.WriteString(w, "real")
	}))
	defer srv.Close()
	in := &awsfault.Injector{}
	client := &http.Client{Transport: in}
	call := func(target, body string) (string, error) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/x", strings.NewReader(body))
		req.Header.Set("X-Amz-Target", target)
		resp, err := client.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.Status + " " + string(b), nil
	}
	in.Outage(awsfault.Operation("GetItem"), 1)
	if _, err := call("DynamoDB_20120810.GetItem", "{}"); !errors.Is(err, awsfault.ErrInjected) || reached.Load() != 0 {
		t.Fatalf("outage: %v, %d reached", err, reached.Load())
	}
	in.LoseAnswer(awsfault.Operation("PutItem"), 1)
	if _, err := call("DynamoDB_20120810.PutItem", "{}"); !errors.Is(err, awsfault.ErrInjected) || reached.Load() != 1 {
		t.Fatalf("lost answer: %v, %d reached", err, reached.Load())
	}
	in.Respond(awsfault.All(awsfault.Operation("PutItem"), awsfault.BodyContains("reject me")), -1, 400, "application/json", nil, `{"x":1}`)
	if got, err := call("DynamoDB_20120810.PutItem", `{"a":"reject me"}`); err != nil || got != `400 Bad Request {"x":1}` {
		t.Fatalf("canned answer: %q, %v", got, err)
	}
	if got, err := call("DynamoDB_20120810.PutItem", "{}"); err != nil || !strings.HasSuffix(got, "real") || reached.Load() != 2 {
		t.Fatalf("after the faults: %q, %v", got, err)
	}
	if in.Hits() != 3 {
		t.Fatalf("%d faults applied, want 3", in.Hits())
	}
}

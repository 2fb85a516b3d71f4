package awsfault_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gasproject/gas/adapters/aws/awsconfig"
	"github.com/gasproject/gas/adapters/aws/awsfault"
	"github.com/gasproject/gas/adapters/aws/coldstore"
	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

// The refusal is injected below the SDK: the real S3 client and the
// cold-storage adapter turn it into ports.ErrNoExpeditedCapacity at once
// (not retried), while Standard retrievals and other archives pass through.
func TestExpeditedRefusalThroughTheSDK(t *testing.T) {
	var reached atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, restore := r.URL.Query()["restore"]; restore {
			reached.Add(1)
		}
		w.WriteHeader(http.StatusAccepted) // RestoreObject accepted (and the tier record stored)
	}))
	defer srv.Close()
	c := awsconfig.Default("unit-")
	c.Endpoint, c.PathStyle, c.MaxAttempts, c.MaxBackoff = srv.URL, true, 3, 10*time.Millisecond
	cl, err := awsconfig.NewClients(context.Background(), c,
		awsconfig.WithHTTPClient(awsconfig.HTTPClientWith(awsfault.NewExpeditedRefusal("sub-bob", nil))))
	if err != nil {
		t.Fatal(err)
	}
	archive, err := coldstore.NewS3Glacier(cl.S3, "unit-archive", 0)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := archive.InitiateRestore(ctx, "archive/sub-bob/j1/abc.tar", domain.RetrievalExpedited); !errors.Is(err, ports.ErrNoExpeditedCapacity) {
		t.Fatalf("refused Expedited: %v", err)
	}
	if n := reached.Load(); n != 0 {
		t.Fatalf("refused request reached the server %d times", n)
	}
	if _, err := archive.InitiateRestore(ctx, "archive/sub-bob/j1/abc.tar", domain.RetrievalStandard); err != nil {
		t.Fatalf("Standard: %v", err)
	}
	if _, err := archive.InitiateRestore(ctx, "archive/sub-alice/j2/abc.tar", domain.RetrievalExpedited); err != nil {
		t.Fatalf("Expedited of a non-matching archive: %v", err)
	}
	if n := reached.Load(); n != 2 {
		t.Fatalf("%d restore requests passed through, want 2", n)
	}
}

func TestExpeditedRefusalOfVaultJobs(t *testing.T) {
	next := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: http.StatusAccepted, Body: io.NopCloser(strings.NewReader("")), Request: r}, nil
	})
	e := awsfault.NewExpeditedRefusal("*", next)
	post := func(body string) int {
		r := httptest.NewRequest(http.MethodPost, "http://127.0.0.1/-/vaults/v/jobs", strings.NewReader(body))
		resp, err := e.RoundTrip(r)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode == http.StatusBadRequest && resp.Header.Get("X-Amzn-Errortype") != "InsufficientCapacityException" {
			t.Fatalf("refusal without the error type: %v", resp.Header)
		}
		return resp.StatusCode
	}
	if got := post(`{"Type":"archive-retrieval","Tier":"Expedited"}`); got != http.StatusBadRequest {
		t.Fatalf("Expedited vault job: %d", got)
	}
	if got := post(`{"Type":"archive-retrieval","Tier":"Standard"}`); got != http.StatusAccepted {
		t.Fatalf("Standard vault job: %d", got)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

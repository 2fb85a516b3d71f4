package web_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gasproject/gas/adapters/web"
)

func TestScalingPageShowsThePool(t *testing.T) {
	st := web.ScalingStatus{Min: 1, Max: 4, Desired: 3, Running: 3, Busy: 2, Waiting: 17, InFlight: 2,
		BacklogTarget: 12, UtilisationTarget: 0.8, AcceptableWait: 2 * time.Minute, MeanJob: 10 * time.Second, Tick: time.Minute,
		Events: []web.ScalingEvent{{At: time.Date(2026, 3, 1, 12, 5, 0, 0, time.UTC), From: 1, To: 3, Rule: "annotator-backlog-per-instance"}}}
	h := newHarness(t, func(o *web.Options, _ *web.Deps) { o.Scaling = func() web.ScalingStatus { return st } })
	r := h.browser().get("/scaling")
	if r.StatusCode != http.StatusOK {
		t.Fatalf("GET /scaling: %s", r.Status)
	}
	for _, want := range []string{`id="running">3<`, `id="waiting">17<`, "between 1 and 4", "12.0 waiting jobs per annotator",
		"annotator-backlog-per-instance", "12:05:00"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if r := newHarness(t).browser().get("/scaling"); r.StatusCode != http.StatusNotFound {
		t.Errorf("without a pool /scaling is %s, want 404", r.Status)
	}
}

package jobs_test

import (
	"testing"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/domain/jobs"
)

func TestParseInputKeyReadsWhatInputKeyWrites(t *testing.T) {
	for _, c := range []struct {
		user domain.UserID
		id   domain.JobID
	}{{"alice@example.org", "job-7"}, {"user/x", "Ab_9"}, {"ü", "j"}} {
		key := jobs.InputKey("inputs/", c.user, c.id)
		if u, id, ok := jobs.ParseInputKey("inputs/", key); !ok || u != c.user || id != c.id {
			t.Errorf("%q -> %q %q %v, want %q %q", key, u, id, ok, c.user, c.id)
		}
	}
	for _, bad := range []string{"", "inputs/u/j", "inputs/u/j/input/x", "results/u/j/input", "inputs//j/input",
		"inputs/u/j%2Fk/input", "inputs/u/%zz/input", "inputs/u/j/output", "inputs/u/" + string(make([]byte, 200)) + "/input"} {
		if u, id, ok := jobs.ParseInputKey("inputs/", bad); ok {
			t.Errorf("%q accepted as %q %q", bad, u, id)
		}
	}
}

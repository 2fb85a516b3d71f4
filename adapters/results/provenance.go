package results

import (
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/gasproject/gas/domain"
)

// About attaches what the log's provenance says of an engine beyond its
// name: the database's source and checksum, the known-variants source and
// engine settings (apps/internal/reference.Provenance makes it). Wrap
// outermost, after instrumentation.
func About(e Engine, p domain.Provenance) Engine { return about{e, p} }

type about struct {
	Engine
	p domain.Provenance
}

// Provenance is the engine's part of a result's provenance.
func (a about) Provenance() domain.Provenance { return a.p }

// provenanceOf is a run's provenance: the engine's, this build, the job's
// choices and the stages' durations.
func provenanceOf(eng Engine, skipMalformed bool, stages []domain.Stage) domain.Provenance {
	var p domain.Provenance
	if d, ok := eng.(interface{ Provenance() domain.Provenance }); ok {
		p = d.Provenance()
		p.Settings = append([]domain.Setting(nil), p.Settings...)
	}
	p.Engine = buildVersion()
	malformed := "fail the job"
	if skipMalformed {
		malformed = "skip them (counted and listed)"
	}
	p.Settings = append(p.Settings,
		domain.Setting{Name: "Malformed lines", Value: malformed},
		domain.Setting{Name: "ANN entries per allele", Value: "all, most severe first"},
		domain.Setting{Name: "Table and chart unit", Value: domain.RowUnit})
	p.Stages = stages
	return p
}

var buildOnce = sync.OnceValue(func() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "gas (no build information)"
	}
	v := "gas " + bi.Main.Version
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = ", modified"
			}
		}
	}
	var parts []string
	if rev != "" {
		parts = append(parts, "commit "+rev[:min(len(rev), 12)]+dirty)
	}
	parts = append(parts, bi.GoVersion)
	return v + " (" + strings.Join(parts, ", ") + ")"
})

// buildVersion names this build: module version, commit, Go version.
func buildVersion() string { return buildOnce() }

// timer records the stages of a run as they end.
type timer struct {
	last   time.Time
	stages []domain.Stage
}

func newTimer() *timer { return &timer{last: time.Now()} }

// done ends stage name now.
func (t *timer) done(name string) {
	now := time.Now()
	t.stages = append(t.stages, domain.Stage{Name: name, Duration: now.Sub(t.last)})
	t.last = now
}

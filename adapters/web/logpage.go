package web

import (
	"net/http"
	"time"

	"github.com/gasproject/gas/domain"
)

// logData is the log page: the job's provenance — when it waited and ran,
// the engine, reference and checksum, settings, stage timings, warnings
// and skipped lines — and the readable log itself.
type logData struct {
	Job       *domain.Job
	Summary   *domain.Summary
	Waited    string // from submission to the start of the last run
	Ran       string // the last run
	Warnings  []string
	Log, Note string
}

const maxLogBytes = 1 << 20

func (s *Server) logPage(w http.ResponseWriter, r *http.Request, j *domain.Job) {
	d := logData{Job: j}
	if !j.StartedAt().IsZero() {
		d.Waited = humanDuration(j.StartedAt().Sub(j.SubmittedAt()))
		if !j.CompletedAt().IsZero() {
			d.Ran = humanDuration(j.CompletedAt().Sub(j.StartedAt()))
		}
	}
	if j.Status() == domain.StatusCompleted {
		if sum, err := s.summary(r.Context(), j); err == nil {
			d.Summary, d.Warnings = sum, runWarnings(j, sum)
		}
	}
	switch {
	case j.Results().Log == "":
		d.Note = "There is no log yet: it is written when the annotation finishes."
	default:
		b, err := s.readSmall(r.Context(), j.Results().Log, maxLogBytes)
		if isNotFound(err) {
			d.Note = "The log is not available."
		} else if err != nil {
			s.serverError(w, r, err)
			return
		}
		d.Log = string(b)
	}
	if j.Status() == domain.StatusFailed && d.Log == "" {
		d.Note = "The annotation failed: " + failureText(j)
	}
	s.render(w, r, http.StatusOK, "log", view{Title: "Log · " + j.Name(), Nav: "annotations", Data: d})
}

// runWarnings are what a researcher should know before trusting a result.
func runWarnings(j *domain.Job, s *domain.Summary) []string {
	var out []string
	c := j.Counts()
	if c.SuspectReference() {
		out = append(out, "This file may not match the reference "+j.Reference()+" (GRCh38 vs GRCh37?).")
	}
	for _, w := range []struct {
		n    int64
		what string
	}{
		{s.RefMismatches, "records have a REF that disagrees with the reference"},
		{s.UnknownChromosome, "records lie on a chromosome the reference lacks"},
		{s.PastChromosomeEnd, "records reach past their chromosome's end"},
		{s.Skipped, "malformed lines were skipped"},
	} {
		if w.n > 0 {
			out = append(out, domain.Thousands(w.n)+" "+w.what+".")
		}
	}
	if s.Provenance.Known == "" && !s.Provenance.IsZero() {
		out = append(out, "No known-variants source was used: no rsIDs or allele frequencies, and every variant reads as novel.")
	}
	for _, c := range domain.Sorted(s.ByWarning) {
		out = append(out, domain.Thousands(c.Count)+" rows warn "+warningLabel(c.Label)+" ("+c.Label+").")
	}
	return out
}

// stageTime is a stage's duration as the page shows it.
func stageTime(d time.Duration) string { return humanDuration(d) }

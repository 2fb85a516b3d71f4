package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/domain/jobs"
	"github.com/gasproject/gas/ports"
)

// jobOptions reads a submitter's choices from form values: "reference"
// (a name from /api/v1/references; empty is the default) and
// "skip_malformed" (true/false, 1/0, on).
func jobOptions(v url.Values) (domain.JobOptions, error) {
	o := domain.JobOptions{Reference: strings.TrimSpace(v.Get("reference"))}
	switch s := v.Get("skip_malformed"); s {
	case "", "0", "false", "off":
	case "on":
		o.SkipMalformed = true
	default:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return o, fmt.Errorf("skip_malformed must be true or false, not %q", s)
		}
		o.SkipMalformed = b
	}
	return o, nil
}

// countsJSON are a completed job's headline numbers, with the verdict the
// pages and the e-mail show as a banner.
type countsJSON struct {
	domain.Counts
	SuspectReference bool `json:"suspect_reference"`
}

func countsOf(j *domain.Job) *countsJSON {
	if j.Status() != domain.StatusCompleted {
		return nil
	}
	return &countsJSON{j.Counts(), j.Counts().SuspectReference()}
}

// apiRerun makes a new job from a job's input, with the options of the
// request's form or query ("reference", "skip_malformed").
func (s *Server) apiRerun(w http.ResponseWriter, r *http.Request, u *domain.User, j *domain.Job) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		apiError(w, http.StatusBadRequest, "send the options as a form or a query string")
		return
	}
	opts, err := jobOptions(r.Form)
	if err != nil {
		apiError(w, http.StatusBadRequest, err.Error())
		return
	}
	nj, err := s.d.Jobs.Rerun(r.Context(), u.ID(), j.ID(), opts)
	var tooLarge *domain.InputTooLargeError
	switch {
	case err == nil:
		w.Header().Set("Location", "/api/v1/jobs/"+string(nj.ID()))
		writeJSON(w, http.StatusCreated, jobToJSON(nj, domain.DownloadDecision{State: domain.DownloadNotReady}))
	case errors.Is(err, jobs.ErrInputGone):
		apiError(w, http.StatusGone, jobs.ErrInputGone.Error())
	case errors.Is(err, ports.ErrUnknownReference):
		apiError(w, http.StatusBadRequest, plainError(err))
	case errors.As(err, &tooLarge):
		apiError(w, http.StatusRequestEntityTooLarge, tooLarge.Error())
	case isNotFound(err):
		apiError(w, http.StatusNotFound, "no such job")
	default:
		s.log.ErrorContext(r.Context(), "api rerun", "job", j.ID(), "err", err)
		apiError(w, http.StatusInternalServerError, "the job could not be re-run")
	}
}

// apiReferences lists the annotation databases jobs may ask for.
func (s *Server) apiReferences(w http.ResponseWriter, _ *http.Request, _ *domain.User) {
	refs := s.d.Jobs.References()
	out := struct {
		References []string `json:"references"`
		Default    string   `json:"default,omitempty"`
	}{References: refs}
	if len(refs) > 0 {
		out.Default = refs[0]
	}
	if out.References == nil {
		out.References = []string{}
	}
	writeJSON(w, http.StatusOK, out)
}

package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/gorilla/mux"

	"github.com/gasproject/gas/adapters/engine/export"
	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/domain/jobs"
)

// withJob loads the {id} job of the signed-in user; any other user's job —
// and a job that does not exist — is the same 404.
func (s *Server) withJob(h func(w http.ResponseWriter, r *http.Request, j *domain.Job)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u := currentUser(r)
		j, err := s.d.Jobs.Get(r.Context(), u.ID(), domain.JobID(mux.Vars(r)["id"]))
		if err != nil {
			if isNotFound(err) || isInvalidRequest(err) {
				s.notFound(w, r)
				return
			}
			s.serverError(w, r, err)
			return
		}
		h(w, r, j)
	}
}

// jobStatus is the live-update JSON for one job.
type jobStatus struct {
	ID        domain.JobID   `json:"id"`
	Status    domain.Status  `json:"status"`
	Storage   domain.Storage `json:"storage"`
	Label     string         `json:"label"`
	Badge     string         `json:"badge"`
	Terminal  bool           `json:"terminal"`
	ArchiveAt string         `json:"archive_at,omitempty"`
}

func statusOf(j *domain.Job) jobStatus {
	terminal := j.Status().Terminal() && j.Storage() != domain.StorageRestoring
	return jobStatus{ID: j.ID(), Status: j.Status(), Storage: j.Storage(), Label: statusText(j), Badge: badgeClass(j), Terminal: terminal}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) status(w http.ResponseWriter, r *http.Request, j *domain.Job) {
	st := statusOf(j)
	if _, d, err := s.d.Jobs.Download(r.Context(), currentUser(r).ID(), j.ID()); err == nil && !d.ArchiveAt.IsZero() {
		st.ArchiveAt = d.ArchiveAt.UTC().Format("2006-01-02T15:04:05Z")
	}
	writeJSON(w, http.StatusOK, st)
}

// statuses answers the list page's poll for several jobs; ids that are not
// the user's are left out, exactly like ids that do not exist.
func (s *Server) statuses(w http.ResponseWriter, r *http.Request) {
	u := currentUser(r)
	out := []jobStatus{}
	ids := strings.Split(r.URL.Query().Get("ids"), ",")
	if len(ids) > 100 {
		ids = ids[:100]
	}
	for _, id := range ids {
		if id == "" {
			continue
		}
		if j, err := s.d.Jobs.Get(r.Context(), u.ID(), domain.JobID(id)); err == nil {
			out = append(out, statusOf(j))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) cancel(w http.ResponseWriter, r *http.Request, j *domain.Job) {
	err := s.d.Jobs.Cancel(r.Context(), currentUser(r).ID(), j.ID())
	to := "/annotations/" + url.PathEscape(string(j.ID()))
	switch {
	case err == nil:
		s.redirectFlash(w, r, to, "Job cancelled.")
	case errors.Is(err, domain.ErrIllegalTransition):
		s.redirectFlash(w, r, to, "This job has already started and can no longer be cancelled.")
	case isNotFound(err):
		s.notFound(w, r)
	default:
		s.serverError(w, r, err)
	}
}

// retry is the job page's "retry" for a job stuck through no fault of its
// owner: FAILED by the service, or RESTORING past its expected time.
func (s *Server) retry(w http.ResponseWriter, r *http.Request, j *domain.Job) {
	retried, err := s.d.Jobs.Retry(r.Context(), currentUser(r).ID(), j.ID())
	to := "/annotations/" + url.PathEscape(string(j.ID()))
	switch {
	case err == nil && retried.Status() == domain.StatusPending:
		s.redirectFlash(w, r, to, "The job is queued again.")
	case err == nil:
		s.redirectFlash(w, r, to, "The restore is being checked again; this page updates by itself.")
	case errors.Is(err, jobs.ErrInputGone):
		s.redirectFlash(w, r, to, "The uploaded file is no longer stored, so the job cannot run again. Please upload the file again.")
	case errors.Is(err, jobs.ErrNotRetryable):
		s.redirectFlash(w, r, to, "This job cannot be retried now.")
	case isNotFound(err):
		s.notFound(w, r)
	default:
		s.serverError(w, r, err)
	}
}

func (s *Server) readSmall(ctx context.Context, key string, limit int64) ([]byte, error) {
	rc, err := s.d.Objects.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(io.LimitReader(rc, limit))
}

// inputFile streams the user's uploaded VCF back to them.
func (s *Server) inputFile(w http.ResponseWriter, r *http.Request, j *domain.Job) {
	rc, err := s.d.Objects.Get(r.Context(), j.InputKey())
	if err != nil {
		if isNotFound(err) {
			s.errorPage(w, r, http.StatusNotFound, "Input not stored", "The uploaded file is no longer stored.")
			return
		}
		s.serverError(w, r, err)
		return
	}
	defer rc.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", attachment(j.InputName()))
	if j.InputSize() > 0 {
		w.Header().Set("Content-Length", fmt.Sprint(j.InputSize()))
	}
	_, _ = io.Copy(w, rc)
}

// notDownloadable explains, as a page, why results cannot be fetched now.
func (s *Server) notDownloadable(w http.ResponseWriter, r *http.Request, d domain.DownloadDecision) {
	var e errorData
	switch d.State {
	case domain.DownloadUpgradeRequired:
		e = errorData{Heading: "Results archived", Message: "These results are in cold storage. Upgrade to premium to restore and download them.", OfferUpgrade: true}
	case domain.DownloadRestoring:
		e = errorData{Heading: "Results restoring", Message: fmt.Sprintf("These results are being restored (%s retrieval, expected by %s).", d.Tier, d.ExpectedBy.UTC().Format("2006-01-02 15:04 UTC"))}
	default:
		e = errorData{Heading: "No results", Message: "This job has no results to download."}
	}
	s.render(w, r, http.StatusConflict, "error", view{Title: e.Heading, Data: e})
}

// download serves the whole result: the annotated VCF through a short-lived
// presigned URL, or TSV / JSON converted as it streams.
func (s *Server) download(w http.ResponseWriter, r *http.Request, j *domain.Job) {
	format := mux.Vars(r)["format"]
	ef, ferr := export.ParseFormat(format)
	if format != "vcf" && ferr != nil {
		s.notFound(w, r)
		return
	}
	u := currentUser(r)
	j, d, err := s.d.Jobs.Download(r.Context(), u.ID(), j.ID())
	if err != nil {
		s.jobError(w, r, err)
		return
	}
	if d.State != domain.DownloadAllowed {
		s.notDownloadable(w, r, d)
		return
	}
	if format == "vcf" {
		target, err := s.d.Jobs.DownloadURL(r.Context(), j, d)
		if err != nil {
			s.jobError(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, target, http.StatusSeeOther)
		return
	}
	if err := s.export(r.Context(), w, j, ef); err != nil {
		s.log.ErrorContext(r.Context(), "export failed", "job", j.ID(), "format", format, "err", err)
	}
}

func (s *Server) jobError(w http.ResponseWriter, r *http.Request, err error) {
	if isNotFound(err) {
		s.notFound(w, r)
		return
	}
	s.serverError(w, r, err)
}

// failureText is a failed job's reason in plain words.
func failureText(j *domain.Job) string {
	reason := strings.TrimSpace(j.FailureReason())
	if reason == "" {
		return "No reason was recorded."
	}
	reason = strings.TrimPrefix(reason, "bad input: ")
	reason = strings.ToUpper(reason[:1]) + reason[1:]
	if !strings.HasSuffix(reason, ".") {
		reason += "."
	}
	return reason
}

func failureHint(j *domain.Job) string {
	r := strings.ToLower(j.FailureReason())
	switch {
	case j.FailedByService():
		return "This was not caused by your file: the service gave up after repeated attempts. Retry it below; if it fails again, contact the operators."
	case strings.Contains(r, "bad input") || strings.Contains(r, "line ") || strings.Contains(r, "vcf") || strings.Contains(r, "malformed"):
		return "The file could not be read as a VCF. Check the line mentioned above, fix the file and upload it again."
	case strings.Contains(r, "dead") || strings.Contains(r, "attempt"):
		return "The service tried several times and gave up. Please submit the file again; if it fails again, contact the operators."
	}
	return "Please submit the file again. If it keeps failing, the log may help."
}

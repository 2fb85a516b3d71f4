package web

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/domain/jobs"
	"github.com/gasproject/gas/ports"
)

// deleteJob deletes the job with every file it left, cold copies too.
func (s *Server) deleteJob(w http.ResponseWriter, r *http.Request, j *domain.Job) {
	err := s.d.Manage.Delete(r.Context(), currentUser(r).ID(), j.ID())
	switch {
	case err == nil:
		s.redirectFlash(w, r, "/annotations", j.Name()+" deleted, with its input and results.")
	case errors.Is(err, domain.ErrIllegalTransition):
		s.redirectFlash(w, r, jobPath(j), "This job cannot be deleted while it is being annotated or restored. Try again when it has finished.")
	default:
		s.jobError(w, r, err)
	}
}

// renameJob gives the job the name typed in ("" restores the file name).
func (s *Server) renameJob(w http.ResponseWriter, r *http.Request, j *domain.Job) {
	_, err := s.d.Manage.Rename(r.Context(), currentUser(r).ID(), j.ID(), r.PostForm.Get("name"))
	switch {
	case err == nil:
		s.redirectFlash(w, r, jobPath(j), "Renamed.")
	case errors.Is(err, domain.ErrInvalidName):
		s.redirectFlash(w, r, jobPath(j), "Not renamed: "+plainName(err))
	default:
		s.jobError(w, r, err)
	}
}

// rerunJob annotates the job's input again as a new job, with the
// reference and malformed-line choice of the form.
func (s *Server) rerunJob(w http.ResponseWriter, r *http.Request, j *domain.Job) {
	opts, _ := jobOptions(r.PostForm)
	nj, err := s.d.Jobs.Rerun(r.Context(), currentUser(r).ID(), j.ID(), opts)
	var tooLarge *domain.InputTooLargeError
	switch {
	case err == nil:
		ref := opts.Reference
		if ref == "" {
			ref = "the default reference"
		}
		s.redirectFlash(w, r, jobPath(nj), "A new job annotates "+j.InputName()+" again against "+ref+".")
	case errors.Is(err, jobs.ErrInputGone):
		s.redirectFlash(w, r, jobPath(j), "Not re-run: the uploaded file is no longer stored. Upload it again.")
	case errors.Is(err, ports.ErrUnknownReference):
		s.redirectFlash(w, r, jobPath(j), "Not re-run: choose one of the references this server offers.")
	case errors.As(err, &tooLarge):
		s.redirectFlash(w, r, jobPath(j), "Not re-run: "+tooLarge.Error()+".")
	default:
		s.jobError(w, r, err)
	}
}

func jobPath(j *domain.Job) string { return "/annotations/" + url.PathEscape(string(j.ID())) }

// plainName is a name refusal in words.
func plainName(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, domain.ErrInvalidName.Error()); i >= 0 {
		msg = msg[i+len(domain.ErrInvalidName.Error()):]
	}
	return "the name is " + strings.TrimLeft(msg, ": ") + "."
}

// apiDelete is DELETE /api/v1/jobs/{id}: 204, or 409 while the job's
// results are being written.
func (s *Server) apiDelete(w http.ResponseWriter, r *http.Request, u *domain.User, j *domain.Job) {
	err := s.d.Manage.Delete(r.Context(), u.ID(), j.ID())
	switch {
	case err == nil || isNotFound(err):
		w.WriteHeader(http.StatusNoContent)
	case errors.Is(err, domain.ErrIllegalTransition):
		apiError(w, http.StatusConflict, "the job is being annotated or restored; delete it when that has finished")
	default:
		s.log.ErrorContext(r.Context(), "api delete", "job", j.ID(), "err", err)
		apiError(w, http.StatusInternalServerError, "internal error")
	}
}

// apiRename is PATCH /api/v1/jobs/{id} with {"name": "..."}.
func (s *Server) apiRename(w http.ResponseWriter, r *http.Request, u *domain.User, j *domain.Job) {
	var body struct {
		Name *string `json:"name"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&body); err != nil || body.Name == nil {
		apiError(w, http.StatusBadRequest, `send {"name": "..."} as JSON`)
		return
	}
	j, err := s.d.Manage.Rename(r.Context(), u.ID(), j.ID(), *body.Name)
	switch {
	case errors.Is(err, domain.ErrInvalidName):
		apiError(w, http.StatusBadRequest, plainName(err))
	case err != nil:
		s.log.ErrorContext(r.Context(), "api rename", "err", err)
		apiError(w, http.StatusInternalServerError, "internal error")
	default:
		writeJSON(w, http.StatusOK, jobToJSON(j, domain.DecideDownload(j, u, s.d.Jobs.Policy(), s.d.Clock.Now())))
	}
}

package web

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gorilla/mux"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/domain/jobs"
	"github.com/gasproject/gas/ports"
)

// The JSON API (/api/v1) authenticates with personal bearer tokens only:
// no cookies, so no CSRF exposure.

type apiUserKey struct{}

func apiError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func (s *Server) apiRoutes(r *mux.Router) {
	r.HandleFunc("/me", s.api(s.apiMe)).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/jobs", s.api(s.apiSubmit)).Methods(http.MethodPost)
	r.HandleFunc("/jobs", s.api(s.apiList)).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/jobs/{id}", s.api(s.apiJob(s.apiGet))).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/jobs/{id}", s.api(s.apiJob(s.apiDelete))).Methods(http.MethodDelete)
	r.HandleFunc("/jobs/{id}", s.api(s.apiJob(s.apiRename))).Methods(http.MethodPatch)
	r.HandleFunc("/jobs/{id}/result", s.api(s.apiJob(s.apiResult))).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/jobs/{id}/summary", s.api(s.apiJob(s.apiSummary))).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/jobs/{id}/log", s.api(s.apiJob(s.apiLog))).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/jobs/{id}/cancel", s.api(s.apiJob(s.apiCancel))).Methods(http.MethodPost)
	r.HandleFunc("/jobs/{id}/retry", s.api(s.apiJob(s.apiRetry))).Methods(http.MethodPost)
	r.HandleFunc("/jobs/{id}/rerun", s.api(s.apiJob(s.apiRerun))).Methods(http.MethodPost)
	r.HandleFunc("/references", s.api(s.apiReferences)).Methods(http.MethodGet, http.MethodHead)
	// mux loses a method mismatch in a subrouter when a later route shares
	// the prefix, so a miss here may be a 405: noRoute tells them apart.
	r.NotFoundHandler = http.HandlerFunc(s.noRoute)
	r.MethodNotAllowedHandler = http.HandlerFunc(s.noRoute)
}

// api authenticates a bearer token. Every API answer is one user's: no
// cache may keep it.
func (s *Server) api(next func(w http.ResponseWriter, r *http.Request, u *domain.User)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		u, err := s.bearerUser(r.Context(), r.Header.Get("Authorization"))
		if err != nil {
			if !errors.Is(err, errNoToken) && !isNotFound(err) {
				s.log.ErrorContext(r.Context(), "token lookup failed", "err", err)
				apiError(w, http.StatusInternalServerError, "internal error")
				return
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="gas"`)
			apiError(w, http.StatusUnauthorized, "a valid API token is required (Authorization: Bearer gas_...)")
			return
		}
		next(w, r, u)
	}
}

func (s *Server) apiJob(next func(w http.ResponseWriter, r *http.Request, u *domain.User, j *domain.Job)) func(http.ResponseWriter, *http.Request, *domain.User) {
	return func(w http.ResponseWriter, r *http.Request, u *domain.User) {
		j, err := s.d.Jobs.Get(r.Context(), u.ID(), domain.JobID(mux.Vars(r)["id"]))
		if err != nil {
			if isNotFound(err) || isInvalidRequest(err) {
				apiError(w, http.StatusNotFound, "no such job")
				return
			}
			s.log.ErrorContext(r.Context(), "api get job", "err", err)
			apiError(w, http.StatusInternalServerError, "internal error")
			return
		}
		next(w, r, u, j)
	}
}

func isInvalidRequest(err error) bool { return errors.Is(err, jobs.ErrInvalidRequest) }

type userJSON struct {
	ID          domain.UserID `json:"id"`
	Name        string        `json:"name"`
	Email       string        `json:"email"`
	Institution string        `json:"institution"`
	Tier        domain.Tier   `json:"tier"`
	MemberSince time.Time     `json:"member_since"`
}

func (s *Server) apiMe(w http.ResponseWriter, r *http.Request, u *domain.User) {
	writeJSON(w, http.StatusOK, userJSON{u.ID(), u.Name(), u.Email(), u.Institution(), u.Tier(), u.CreatedAt()})
}

type downloadJSON struct {
	State      domain.DownloadState `json:"state"`
	Tier       domain.RetrievalTier `json:"retrieval_tier,omitempty"`
	ExpectedBy *time.Time           `json:"expected_by,omitempty"`
	ArchiveAt  *time.Time           `json:"archive_at,omitempty"`
}

type jobJSON struct {
	ID            domain.JobID   `json:"id"`
	Name          string         `json:"name"`
	InputName     string         `json:"input_name"`
	InputSize     int64          `json:"input_size"`
	Status        domain.Status  `json:"status"`
	Storage       domain.Storage `json:"storage,omitempty"`
	SubmittedAt   time.Time      `json:"submitted_at"`
	StartedAt     *time.Time     `json:"started_at,omitempty"`
	CompletedAt   *time.Time     `json:"completed_at,omitempty"`
	FailureReason string         `json:"failure_reason,omitempty"`
	// NoticeError says why the owner could not be e-mailed.
	NoticeError string            `json:"notice_error,omitempty"`
	Reference   string            `json:"reference,omitempty"`
	Options     domain.JobOptions `json:"options"`
	Counts      *countsJSON       `json:"counts,omitempty"`
	Download    downloadJSON      `json:"download"`
	Links       map[string]string `json:"links"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func jobToJSON(j *domain.Job, d domain.DownloadDecision) jobJSON {
	base := "/api/v1/jobs/" + string(j.ID())
	out := jobJSON{ID: j.ID(), Name: j.Name(), InputName: j.InputName(), InputSize: j.InputSize(), Status: j.Status(), Storage: j.Storage(),
		SubmittedAt: j.SubmittedAt(), StartedAt: timePtr(j.StartedAt()), CompletedAt: timePtr(j.CompletedAt()),
		Reference: j.Reference(), Options: j.Options(), Counts: countsOf(j),
		Download: downloadJSON{State: d.State, Tier: d.Tier, ExpectedBy: timePtr(d.ExpectedBy), ArchiveAt: timePtr(d.ArchiveAt)},
		Links:    map[string]string{"self": base, "page": "/annotations/" + string(j.ID())}}
	if j.Status() == domain.StatusFailed {
		out.FailureReason = failureText(j)
	}
	out.NoticeError = j.NoticeError()
	if j.Status() == domain.StatusCompleted {
		out.Links["result"], out.Links["summary"], out.Links["log"] = base+"/result", base+"/summary", base+"/log"
	}
	return out
}

// apiSubmit takes a multipart upload (field "file", after the optional
// fields "reference" and "skip_malformed") and streams it into a new job,
// like the local-mode form.
func (s *Server) apiSubmit(w http.ResponseWriter, r *http.Request, u *domain.User) {
	r.Body = http.MaxBytesReader(w, r.Body, s.d.Jobs.Policy().MaxInputSize+(1<<20))
	mr, err := multipartBody(r)
	if err != nil {
		apiError(w, http.StatusBadRequest, "send the VCF as multipart/form-data in a field named \"file\"")
		return
	}
	form := url.Values{}
	for {
		part, err := mr.NextPart()
		if err != nil {
			apiError(w, http.StatusBadRequest, "the form has no \"file\" field")
			return
		}
		if part.FormName() != "file" {
			v, _ := io.ReadAll(io.LimitReader(part, 1<<10))
			_, _ = io.Copy(io.Discard, io.LimitReader(part, 64<<10))
			form.Set(part.FormName(), string(v))
			continue
		}
		opts, err := jobOptions(form)
		if err != nil {
			apiError(w, http.StatusBadRequest, err.Error())
			return
		}
		name := part.FileName()
		if name == "" {
			apiError(w, http.StatusBadRequest, "the \"file\" field needs a file name ending in .vcf, .vcf.gz or .vcf.bgz")
			return
		}
		body := s.uploadBody(w, part)
		j, err := s.d.Jobs.UploadWith(r.Context(), u.ID(), name, opts, body)
		if err != nil {
			if body.cutShort() {
				s.log.WarnContext(r.Context(), "upload cut short", "user", u.ID(), "err", body.err)
				apiError(w, http.StatusBadRequest, "the upload ended before the whole file arrived; send it again")
				return
			}
			_, _ = io.CopyN(io.Discard, r.Body, 32<<20)
			var tooLarge *domain.InputTooLargeError
			switch {
			case errors.As(err, &tooLarge):
				apiError(w, http.StatusRequestEntityTooLarge, tooLarge.Error())
			case errors.Is(err, domain.ErrNotVCF), errors.Is(err, domain.ErrInvalidInputName), errors.Is(err, ports.ErrUnknownReference):
				apiError(w, http.StatusBadRequest, plainError(err))
			default:
				s.log.ErrorContext(r.Context(), "api upload", "err", err)
				apiError(w, http.StatusInternalServerError, "the upload could not be stored")
			}
			return
		}
		w.Header().Set("Location", "/api/v1/jobs/"+string(j.ID()))
		writeJSON(w, http.StatusCreated, jobToJSON(j, domain.DownloadDecision{State: domain.DownloadNotReady}))
		return
	}
}

func (s *Server) apiList(w http.ResponseWriter, r *http.Request, u *domain.User) {
	limit := 25
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			apiError(w, http.StatusBadRequest, "limit must be 1..100")
			return
		}
		limit = n
	}
	_, f := parseListSearch(r.URL.Query())
	var js []*domain.Job
	var next string
	var err error
	if f.Any() {
		js, next, err = s.d.Jobs.List(r.Context(), u.ID(), r.URL.Query().Get("cursor"), limit)
	} else {
		js, next, err = s.d.Manage.Search(r.Context(), u.ID(), f, r.URL.Query().Get("cursor"), limit)
	}
	if err != nil {
		apiError(w, http.StatusBadRequest, "bad cursor or limit")
		return
	}
	out := struct {
		Jobs []jobJSON `json:"jobs"`
		Next string    `json:"next,omitempty"`
	}{Jobs: make([]jobJSON, 0, len(js)), Next: next}
	for _, j := range js {
		out.Jobs = append(out.Jobs, jobToJSON(j, s.decide(j, u)))
	}
	writeJSON(w, http.StatusOK, out)
}

// decide is the download decision for j of its owner u now: the one
// decision a request acts on.
func (s *Server) decide(j *domain.Job, u *domain.User) domain.DownloadDecision {
	return domain.DecideDownload(j, u, s.d.Jobs.Policy(), s.d.Clock.Now())
}

// apiResult streams the annotated VCF, or says why it cannot (409 with the
// download decision).
func (s *Server) apiResult(w http.ResponseWriter, r *http.Request, u *domain.User, j *domain.Job) {
	d := s.decide(j, u)
	if d.State != domain.DownloadAllowed {
		writeJSON(w, http.StatusConflict, map[string]any{"error": "results not downloadable now", "download": jobToJSON(j, d).Download})
		return
	}
	name := jobs.AnnotatedName(j.InputName())
	s.streamObject(r.Context(), w, j.Results().VCF, ports.MediaType(name), name)
}

func (s *Server) apiSummary(w http.ResponseWriter, r *http.Request, u *domain.User, j *domain.Job) {
	if j.Status() != domain.StatusCompleted || j.Results().Summary == "" {
		apiError(w, http.StatusConflict, "the job has no summary yet")
		return
	}
	s.streamObject(r.Context(), w, j.Results().Summary, "application/json", "")
}

func (s *Server) apiLog(w http.ResponseWriter, r *http.Request, u *domain.User, j *domain.Job) {
	if j.Results().Log == "" {
		apiError(w, http.StatusConflict, "the job has no log yet")
		return
	}
	s.streamObject(r.Context(), w, j.Results().Log, "text/plain; charset=utf-8", "")
}

func (s *Server) apiCancel(w http.ResponseWriter, r *http.Request, u *domain.User, j *domain.Job) {
	if err := s.d.Jobs.Cancel(r.Context(), u.ID(), j.ID()); err != nil {
		if errors.Is(err, domain.ErrIllegalTransition) {
			apiError(w, http.StatusConflict, "the job has already started")
			return
		}
		apiError(w, http.StatusInternalServerError, "internal error")
		return
	}
	j, err := s.d.Jobs.Get(r.Context(), u.ID(), j.ID())
	if err != nil {
		apiError(w, http.StatusInternalServerError, "internal error")
		return
	}
	writeJSON(w, http.StatusOK, jobToJSON(j, s.decide(j, u)))
}

// apiRetry queues a job FAILED by the service again, or has a late
// restore checked again; 409 for any other job.
func (s *Server) apiRetry(w http.ResponseWriter, r *http.Request, u *domain.User, j *domain.Job) {
	j, err := s.d.Jobs.Retry(r.Context(), u.ID(), j.ID())
	switch {
	case errors.Is(err, jobs.ErrNotRetryable):
		apiError(w, http.StatusConflict, "the job cannot be retried now: only jobs failed by the service and restores past their time can")
	case errors.Is(err, jobs.ErrInputGone):
		apiError(w, http.StatusConflict, "the uploaded file is no longer stored; submit it again")
	case isNotFound(err):
		apiError(w, http.StatusNotFound, "not found")
	case err != nil:
		apiError(w, http.StatusInternalServerError, "internal error")
	default:
		writeJSON(w, http.StatusOK, jobToJSON(j, s.decide(j, u)))
	}
}

func (s *Server) streamObject(ctx context.Context, w http.ResponseWriter, key, ctype, filename string) {
	rc, err := s.d.Objects.Get(ctx, key)
	if err != nil {
		if isNotFound(err) {
			apiError(w, http.StatusNotFound, "object not stored")
			return
		}
		apiError(w, http.StatusInternalServerError, "internal error")
		return
	}
	defer rc.Close()
	w.Header().Set("Content-Type", ctype)
	if filename != "" {
		w.Header().Set("Content-Disposition", attachment(filename))
	}
	_, _ = io.Copy(w, rc)
}

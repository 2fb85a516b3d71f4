package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"html/template"
	"io"
	"mime"
	"net/http"
	"net/url"
	"path"
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

type annotateData struct {
	Action       string
	Fields       map[string]string
	Limit        string
	LimitBytes   int64
	MaxSize      string
	Samples      []Sample
	Error        string
	OfferUpgrade bool
}

func (s *Server) annotateData(u *domain.User, csrf string) annotateData {
	p := s.d.Jobs.Policy()
	d := annotateData{Limit: domain.HumanBytes(p.InputLimit(u.Tier())), LimitBytes: p.InputLimit(u.Tier()),
		MaxSize: domain.HumanBytes(p.MaxInputSize), Samples: s.o.Samples}
	if s.o.StreamUploads {
		d.Action, d.Fields = "/annotate", map[string]string{csrfField: csrf}
	}
	return d
}

// annotatePage shows the upload form. Streaming mode posts to the app; the
// presigned mode posts straight to object storage with a policy carrying
// the tier's size limit, which redirects back to /annotate/uploaded.
func (s *Server) annotatePage(w http.ResponseWriter, r *http.Request) {
	u := currentUser(r)
	d := s.annotateData(u, s.loadSession(r).CSRF)
	if !s.o.StreamUploads {
		form, _, err := s.d.Jobs.NewUpload(r.Context(), u.ID(), s.baseURL(r)+"/annotate/uploaded")
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		d.Action, d.Fields = form.URL, form.Fields
		if o := originOf(form.URL); o != "" {
			w.Header().Set("Content-Security-Policy", s.csp(o))
		}
	}
	s.render(w, r, http.StatusOK, "annotate", view{Title: "Annotate", Nav: "annotate", Data: d})
}

func originOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

func (s *Server) baseURL(r *http.Request) string {
	if s.o.BaseURL != "" {
		return s.o.BaseURL
	}
	scheme := "http"
	if r.TLS != nil || s.o.Secure {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// uploadRefused renders the form again with why the upload was refused.
func (s *Server) uploadRefused(w http.ResponseWriter, r *http.Request, err error) {
	u := currentUser(r)
	d := s.annotateData(u, s.loadSession(r).CSRF)
	status := http.StatusBadRequest
	var tooLarge *domain.InputTooLargeError
	switch {
	case errors.As(err, &tooLarge):
		status = http.StatusRequestEntityTooLarge
		d.Error = "Upload refused: " + tooLarge.Error() + "."
		d.OfferUpgrade = tooLarge.Tier == domain.TierFree
	case errors.Is(err, domain.ErrNotVCF), errors.Is(err, domain.ErrInvalidInputName):
		d.Error = "Upload refused: " + plainError(err)
	case errors.Is(err, errNoFile):
		d.Error = "Choose a VCF file to upload."
	default:
		s.serverError(w, r, err)
		return
	}
	if !s.o.StreamUploads {
		if form, _, ferr := s.d.Jobs.NewUpload(r.Context(), u.ID(), s.baseURL(r)+"/annotate/uploaded"); ferr == nil {
			d.Action, d.Fields = form.URL, form.Fields
			if o := originOf(form.URL); o != "" {
				w.Header().Set("Content-Security-Policy", s.csp(o))
			}
		}
	}
	s.render(w, r, status, "annotate", view{Title: "Annotate", Nav: "annotate", Data: d})
}

// plainError keeps the last, human part of a wrapped error chain.
func plainError(err error) string {
	msg := err.Error()
	for _, sentinel := range []error{domain.ErrNotVCF, domain.ErrInvalidInputName} {
		if errors.Is(err, sentinel) {
			if i := strings.Index(msg, sentinel.Error()); i >= 0 {
				msg = msg[i:]
			}
		}
	}
	if msg != "" {
		msg = strings.ToUpper(msg[:1]) + msg[1:]
	}
	if !strings.HasSuffix(msg, ".") {
		msg += "."
	}
	return msg
}

var errNoFile = errors.New("no file in the upload")

// streamUpload takes the local-mode upload form. The CSRF token is the
// form's first part, checked before a byte of the file is read; the file
// part streams into object storage through the jobs service, which stops
// at the tier's limit and keeps nothing of a refused file.
func (s *Server) streamUpload(w http.ResponseWriter, r *http.Request) {
	if !s.o.StreamUploads {
		s.notFound(w, r)
		return
	}
	u := currentUser(r)
	sess := s.loadSession(r)
	r.Body = http.MaxBytesReader(w, r.Body, s.d.Jobs.Policy().MaxInputSize+(1<<20))
	mr, err := r.MultipartReader()
	if err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "Bad upload", "The upload was not a multipart form.")
		return
	}
	part, err := mr.NextPart()
	var token []byte
	if err == nil && part.FormName() == csrfField {
		token, _ = io.ReadAll(io.LimitReader(part, 256))
	}
	if !sess.csrfOK(string(token)) || !sameOrigin(r) {
		s.log.WarnContext(r.Context(), "CSRF check failed", "path", r.URL.Path)
		s.errorPage(w, r, http.StatusForbidden, "This form has expired",
			"The upload was not accepted because it did not come from this page or your session changed. Reload the page and try again.")
		return
	}
	for {
		part, err = mr.NextPart()
		if err != nil {
			s.uploadRefused(w, r, errNoFile)
			return
		}
		if part.FormName() == "file" {
			break
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(part, 64<<10))
	}
	name := part.FileName()
	if name == "" {
		s.uploadRefused(w, r, errNoFile)
		return
	}
	j, err := s.d.Jobs.Upload(r.Context(), u.ID(), name, part)
	if err != nil {
		// Read (and drop) the rest of a refused body so the browser gets
		// the explanation instead of a reset connection.
		_, _ = io.CopyN(io.Discard, r.Body, 32<<20)
		s.uploadRefused(w, r, err)
		return
	}
	s.redirectFlash(w, r, "/annotations/"+url.PathEscape(string(j.ID())), fmt.Sprintf("%s uploaded; annotation is queued.", j.InputName()))
}

// uploadNameCookie carries the chosen file's name (set by gas.js) across a
// presigned upload, which only tells the app the object key.
const uploadNameCookie = "gas_upload_name"

// uploaded is where object storage sends the browser after a presigned
// upload: the key names the job; Submit checks size and ownership.
func (s *Server) uploaded(w http.ResponseWriter, r *http.Request) {
	u := currentUser(r)
	owner, id, ok := jobs.ParseInputKey(s.o.InputPrefix, r.URL.Query().Get("key"))
	if !ok || owner != u.ID() {
		s.notFound(w, r)
		return
	}
	name := "upload.vcf"
	if c, err := r.Cookie(uploadNameCookie); err == nil {
		if v, err := url.QueryUnescape(c.Value); err == nil && v != "" {
			name = path.Base(v)
		}
	}
	http.SetCookie(w, &http.Cookie{Name: uploadNameCookie, Value: "", Path: "/annotate", MaxAge: -1})
	j, err := s.d.Jobs.Submit(r.Context(), u.ID(), id, name, domain.JobOptions{})
	if err != nil {
		if isNotFound(err) || errors.Is(err, jobs.ErrNoUpload) || isInvalidRequest(err) {
			s.notFound(w, r)
			return
		}
		s.uploadRefused(w, r, err)
		return
	}
	s.redirectFlash(w, r, "/annotations/"+url.PathEscape(string(j.ID())), fmt.Sprintf("%s uploaded; annotation is queued.", j.InputName()))
}

func (s *Server) sampleFile(w http.ResponseWriter, r *http.Request) {
	sm, ok := s.samples[mux.Vars(r)["name"]]
	if !ok {
		s.notFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Disposition", attachment(sm.Name))
	_, _ = w.Write(sm.Data)
}

func (s *Server) submitSample(w http.ResponseWriter, r *http.Request) {
	sm, ok := s.samples[mux.Vars(r)["name"]]
	if !ok {
		s.notFound(w, r)
		return
	}
	j, err := s.d.Jobs.Upload(r.Context(), currentUser(r).ID(), sm.Name, bytes.NewReader(sm.Data))
	if err != nil {
		s.uploadRefused(w, r, err)
		return
	}
	s.redirectFlash(w, r, "/annotations/"+url.PathEscape(string(j.ID())), fmt.Sprintf("Sample %s submitted; annotation is queued.", sm.Name))
}

func attachment(name string) string {
	return mime.FormatMediaType("attachment", map[string]string{"filename": name})
}

type listData struct {
	Jobs  []*domain.Job
	Rows  template.HTML
	Next  string
	First bool
}

// jobRows renders the list's table rows in Go: the list is the hottest page
// (a user with thousands of jobs reloads it), and per-field template
// reflection was two thirds of its cost. Every value is HTML-escaped here.
func jobRows(js []*domain.Job) template.HTML {
	var b strings.Builder
	b.Grow(len(js) * 400)
	for _, j := range js {
		id := html.EscapeString(string(j.ID()))
		if j.Status().Terminal() && j.Storage() != domain.StorageRestoring {
			b.WriteString("  <tr>\n")
		} else {
			b.WriteString(`  <tr data-job="` + id + "\">\n")
		}
		b.WriteString("    <td>" + j.SubmittedAt().UTC().Format("2006-01-02 15:04:05 UTC") + "</td>\n")
		b.WriteString(`    <td><a href="/annotations/` + id + `">` + html.EscapeString(j.InputName()) + "</a></td>\n")
		b.WriteString(`    <td><span class="badge badge-` + badgeClass(j) + `" data-status>` + statusText(j) + "</span></td>\n")
		if ref := j.Reference(); ref != "" {
			b.WriteString("    <td>" + html.EscapeString(ref) + "</td>\n")
		} else {
			b.WriteString("    <td><span class=\"muted\">—</span></td>\n")
		}
		b.WriteString("  </tr>\n")
	}
	return template.HTML(b.String()) // every dynamic part escaped above
}

// annotations lists the user's jobs newest first, a page at a time.
func (s *Server) annotations(w http.ResponseWriter, r *http.Request) {
	u := currentUser(r)
	cursor := r.URL.Query().Get("cursor")
	js, next, err := s.d.Jobs.List(r.Context(), u.ID(), cursor, s.o.PageSize)
	if err != nil {
		if cursor != "" {
			s.errorPage(w, r, http.StatusBadRequest, "Bad page link", "This page link is not valid. Start from the newest jobs.")
			return
		}
		s.serverError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "annotations", view{Title: "Annotations", Nav: "annotations",
		Data: listData{Jobs: js, Rows: jobRows(js), Next: next, First: cursor != ""}})
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

type logData struct {
	Job  *domain.Job
	Log  string
	Note string
}

const maxLogBytes = 1 << 20

func (s *Server) logPage(w http.ResponseWriter, r *http.Request, j *domain.Job) {
	d := logData{Job: j}
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
	s.render(w, r, http.StatusOK, "log", view{Title: "Log · " + j.InputName(), Nav: "annotations", Data: d})
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
		target, err := s.d.Jobs.DownloadURL(r.Context(), u.ID(), j.ID())
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
	case strings.Contains(r, "bad input") || strings.Contains(r, "line ") || strings.Contains(r, "vcf") || strings.Contains(r, "malformed"):
		return "The file could not be read as a VCF. Check the line mentioned above, fix the file and upload it again."
	case strings.Contains(r, "dead") || strings.Contains(r, "attempt"):
		return "The service tried several times and gave up. Please submit the file again; if it fails again, contact the operators."
	}
	return "Please submit the file again. If it keeps failing, the log may help."
}

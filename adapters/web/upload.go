package web

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"

	"github.com/gorilla/mux"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/domain/jobs"
	"github.com/gasproject/gas/ports"
)

type annotateData struct {
	Action       string
	Fields       map[string]string
	Limit        string
	LimitBytes   int64
	MaxSize      string
	Samples      []Sample
	Error        string
	OfferUpgrade bool
	// References are the annotation databases a job may ask for, the
	// default first; Presigned says the options travel by cookie.
	References []string
	Presigned  bool
}

func (s *Server) annotateData(u *domain.User, csrf string) annotateData {
	p := s.d.Jobs.Policy()
	d := annotateData{Limit: domain.HumanBytes(p.InputLimit(u.Tier())), LimitBytes: p.InputLimit(u.Tier()),
		MaxSize: domain.HumanBytes(p.MaxInputSize), Samples: s.o.Samples, References: s.d.Jobs.References(), Presigned: !s.o.StreamUploads}
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
	d.Error, d.OfferUpgrade = s.refusal(r.URL.Query())
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

// uploadRefused sends the browser back to the form with why the upload
// was refused (POST-redirect-GET: reloading the page shows the refusal
// again instead of re-posting the file). The reason travels in the query
// as the facts it is made of — kind, size, plan, file name — and the form
// page rebuilds the sentence from them (refusal), so nothing a link
// carries is shown verbatim.
func (s *Server) uploadRefused(w http.ResponseWriter, r *http.Request, name string, err error) {
	q := url.Values{}
	var tooLarge *domain.InputTooLargeError
	switch {
	case errors.As(err, &tooLarge):
		q.Set("refused", "size")
		q.Set("size", strconv.FormatInt(tooLarge.Size, 10))
		q.Set("plan", string(tooLarge.Tier))
		if tooLarge.AtLeast {
			q.Set("at_least", "1")
		}
	case errors.Is(err, domain.ErrNotVCF), errors.Is(err, domain.ErrInvalidInputName):
		q.Set("refused", "name")
		q.Set("name", name)
	case errors.Is(err, ports.ErrUnknownReference):
		q.Set("refused", "reference")
	case errors.Is(err, errNoFile):
		q.Set("refused", "nofile")
	default:
		s.serverError(w, r, err)
		return
	}
	http.Redirect(w, r, "/annotate?"+q.Encode(), http.StatusSeeOther)
}

// refusal is the sentence of a refusal uploadRefused put in the query,
// and whether to offer the upgrade; "" for none (or a made-up one).
func (s *Server) refusal(q url.Values) (string, bool) {
	p := s.d.Jobs.Policy()
	switch q.Get("refused") {
	case "size":
		size, err := strconv.ParseInt(q.Get("size"), 10, 64)
		tier := domain.Tier(q.Get("plan"))
		if err != nil || size <= 0 || (tier != domain.TierFree && tier != domain.TierPremium) {
			return "", false
		}
		return "Upload refused: " + p.TooLarge(tier, size, q.Get("at_least") == "1").Error() + ".", tier == domain.TierFree
	case "name":
		if err := domain.ValidateInputName(q.Get("name")); err != nil {
			return "Upload refused: " + plainError(err), false
		}
	case "nofile":
		return "Choose a VCF file to upload.", false
	case "reference":
		return "Upload refused: choose one of the references this server offers (" + strings.Join(s.d.Jobs.References(), ", ") + ").", false
	}
	return "", false
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
	mr, err := multipartBody(r)
	if err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "Bad upload", "The upload was not a multipart form.")
		return
	}
	part, err := mr.NextPart()
	var token []byte
	if err == nil && part.FormName() == csrfField {
		token, _ = io.ReadAll(io.LimitReader(part, 256))
	}
	if !sess.csrfOK(string(token)) || !s.sameOrigin(r) {
		s.log.WarnContext(r.Context(), "CSRF check failed", "path", r.URL.Path)
		s.errorPage(w, r, http.StatusForbidden, "This form has expired",
			"The upload was not accepted because it did not come from this page or your session changed. Reload the page and try again.")
		return
	}
	fields := url.Values{} // the options, which come before the file
	for {
		part, err = mr.NextPart()
		if err != nil {
			s.uploadRefused(w, r, "", errNoFile)
			return
		}
		if part.FormName() == "file" {
			break
		}
		v, _ := io.ReadAll(io.LimitReader(part, 256))
		fields.Set(part.FormName(), string(v))
		_, _ = io.Copy(io.Discard, io.LimitReader(part, 64<<10))
	}
	name := part.FileName()
	if name == "" {
		s.uploadRefused(w, r, "", errNoFile)
		return
	}
	opts, _ := jobOptions(fields) // a checkbox sends "on" or nothing
	body := s.uploadBody(w, part)
	j, err := s.d.Jobs.UploadWith(r.Context(), u.ID(), name, opts, body)
	if err != nil {
		if body.cutShort() {
			s.log.WarnContext(r.Context(), "upload cut short", "user", u.ID(), "err", body.err)
			s.errorPage(w, r, http.StatusBadRequest, "Upload incomplete", "The upload ended before the whole file arrived. Please send it again.")
			return
		}
		// Read (and drop) the rest of a refused body so the browser gets
		// the explanation instead of a reset connection.
		_, _ = io.CopyN(io.Discard, r.Body, 32<<20)
		s.uploadRefused(w, r, name, err)
		return
	}
	s.redirectSubmitted(w, r, j, fmt.Sprintf("%s uploaded.", j.InputName()))
}

// uploadNameCookie carries the chosen file's name (set by gas.js) across a
// presigned upload, which only tells the app the object key.
const uploadNameCookie = "gas_upload_name"

// uploadOptionsCookie carries the form's job options (reference,
// skip_malformed, as a query string; set by gas.js) across a presigned
// upload: object storage takes only the fields its policy signs.
const uploadOptionsCookie = "gas_upload_options"

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
	var opts domain.JobOptions
	if c, err := r.Cookie(uploadOptionsCookie); err == nil {
		if raw, err := url.QueryUnescape(c.Value); err == nil {
			if v, err := url.ParseQuery(raw); err == nil {
				opts, _ = jobOptions(v)
			}
		}
	}
	http.SetCookie(w, &http.Cookie{Name: uploadOptionsCookie, Value: "", Path: "/annotate", MaxAge: -1})
	j, err := s.d.Jobs.Submit(r.Context(), u.ID(), id, name, opts)
	if err != nil {
		if isNotFound(err) || errors.Is(err, jobs.ErrNoUpload) || isInvalidRequest(err) {
			s.notFound(w, r)
			return
		}
		s.uploadRefused(w, r, name, err)
		return
	}
	s.redirectSubmitted(w, r, j, fmt.Sprintf("%s uploaded.", j.InputName()))
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
		s.uploadRefused(w, r, sm.Name, err)
		return
	}
	s.redirectSubmitted(w, r, j, fmt.Sprintf("Sample %s submitted.", sm.Name))
}

func attachment(name string) string {
	return mime.FormatMediaType("attachment", map[string]string{"filename": name})
}

package web

import (
	"bufio"
	"crypto/subtle"
	"errors"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gorilla/mux"
)

// DefaultBodyTimeout is how long a request body may take to arrive, and
// how long a streaming upload may go without progressing by uploadStride.
const DefaultBodyTimeout = 30 * time.Second

// uploadStride is the progress that moves a streaming upload's deadline on:
// a real upload sends it within seconds, a connection trickling a byte at
// a time never does.
const uploadStride = 64 << 10

// guard refuses what no handler should see and bounds what every handler
// reads: a request with two Authorization headers (which one would be
// believed depends on who reads it) is a 400, and a request body must
// arrive within BodyTimeout (streaming uploads move their deadline on
// with progress, see uploadBody). Only requests with a body get a read
// deadline: on a GET it would cut a long download short. OPTIONS on the
// API is answered here, with the methods its path takes.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.Header.Values("Authorization")) > 1 {
			s.log.WarnContext(r.Context(), "request with several Authorization headers refused", "path", r.URL.Path)
			if strings.HasPrefix(r.URL.Path, "/api/") {
				apiError(w, http.StatusBadRequest, "send one Authorization header")
			} else {
				http.Error(w, "send one Authorization header", http.StatusBadRequest)
			}
			return
		}
		if r.ContentLength != 0 && r.Body != nil && r.Body != http.NoBody {
			_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(s.o.BodyTimeout))
		}
		if r.Method == http.MethodOptions && strings.HasPrefix(r.URL.Path, "/api/") {
			s.observe(http.HandlerFunc(s.apiOptions)).ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// maxBoundary bounds a form's boundary (RFC 2046 allows 70 characters).
const maxBoundary = 256

// multipartBody reads r's multipart form through a 256 KiB buffer: a
// large upload is pulled from the connection and searched for its
// boundary a window of that size at a time (formReader).
func multipartBody(r *http.Request) (*formReader, error) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mt, "multipart/") || params["boundary"] == "" || len(params["boundary"]) > maxBoundary {
		return nil, http.ErrNotMultipart
	}
	return newFormReader(bufio.NewReaderSize(r.Body, 256<<10), params["boundary"]), nil
}

// uploadBody is a streaming upload's body: its read deadline moves on by
// BodyTimeout each time uploadStride more bytes have arrived, so an upload
// of any size may take as long as it keeps coming, and a trickle is cut
// after BodyTimeout. Read errors (a body cut before its multipart closing
// boundary, a deadline passed) are kept: they are the client's doing.
type uploadBody struct {
	r        io.Reader
	rc       *http.ResponseController
	timeout  time.Duration
	n, moved int64
	err      error
}

func (s *Server) uploadBody(w http.ResponseWriter, r io.Reader) *uploadBody {
	return &uploadBody{r: r, rc: http.NewResponseController(w), timeout: s.o.BodyTimeout}
}

func (b *uploadBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.n += int64(n)
	if b.n-b.moved >= uploadStride {
		b.moved = b.n
		_ = b.rc.SetReadDeadline(time.Now().Add(b.timeout))
	}
	if err != nil && !errors.Is(err, io.EOF) && b.err == nil {
		b.err = err
	}
	return n, err
}

// cutShort reports whether a failed upload failed because its body did
// not arrive whole: the client's fault, a 400 and a warning, not a 500.
func (b *uploadBody) cutShort() bool {
	var tooBig *http.MaxBytesError
	return b.err != nil && !errors.As(b.err, &tooBig)
}

// allowed lists the methods the router serves at r's path.
func (s *Server) allowed(r *http.Request) []string {
	var out []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		var match mux.RouteMatch
		if s.router.Match(probe, &match) && match.MatchErr == nil {
			out = append(out, m)
		}
	}
	return out
}

// noRoute answers a request no route took: 405 with the Allow header when
// the path takes other methods, else 404.
func (s *Server) noRoute(w http.ResponseWriter, r *http.Request) {
	api := strings.HasPrefix(r.URL.Path, "/api/")
	allow := s.allowed(r)
	switch {
	case len(allow) > 0:
		w.Header().Set("Allow", strings.Join(allow, ", "))
		if api {
			apiError(w, http.StatusMethodNotAllowed, "method not allowed")
			return
		}
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	case api:
		apiError(w, http.StatusNotFound, "not found")
	default:
		s.notFound(w, r)
	}
}

// apiOptions answers OPTIONS on the API with the methods a path takes (no
// CORS: the API is for scripts, not other sites' pages).
func (s *Server) apiOptions(w http.ResponseWriter, r *http.Request) {
	allow := s.allowed(r)
	if len(allow) == 0 {
		apiError(w, http.StatusNotFound, "not found")
		return
	}
	w.Header().Set("Allow", strings.Join(append(allow, http.MethodOptions), ", "))
	w.WriteHeader(http.StatusNoContent)
}

// noListing serves files only: a directory is "not found", so /static/
// does not list what the site ships.
type noListing struct{ fs fs.FS }

func (n noListing) Open(name string) (fs.File, error) {
	f, err := n.fs.Open(name)
	if err != nil {
		return nil, err
	}
	if st, err := f.Stat(); err != nil || st.IsDir() {
		f.Close()
		return nil, fs.ErrNotExist
	}
	return f, nil
}

// metrics serves /metrics to a scraper presenting MetricsToken; without a
// token configured the site does not serve it at all (the roles serve it
// on their own operations listener, GAS_METRICS_ADDR).
func (s *Server) metrics(w http.ResponseWriter, r *http.Request) {
	want := "Bearer " + s.o.MetricsToken
	if s.o.MetricsToken == "" {
		s.notFound(w, r)
		return
	}
	if got := r.Header.Get("Authorization"); subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
		http.Error(w, "a metrics token is required", http.StatusUnauthorized)
		return
	}
	s.d.Metrics.Handler().ServeHTTP(w, r)
}

// sameOrigin refuses a state-changing request whose Origin (or, lacking
// it, Referer) is not this site — scheme, host and port: defence in depth
// beside the CSRF token. An HTTPS site accepts only its own origin; a
// plain-HTTP one (local mode) also the host the browser used.
func (s *Server) sameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || origin == "null" {
		ref := r.Header.Get("Referer")
		if ref == "" {
			return origin == ""
		}
		origin = ref
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	got := strings.ToLower(u.Scheme + "://" + u.Host)
	ok := []string{strings.ToLower(originOf(s.baseURL(r)))}
	if !s.o.Secure && r.TLS == nil {
		ok = append(ok, strings.ToLower("http://"+r.Host))
	}
	return slices.Contains(ok, got)
}

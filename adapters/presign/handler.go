package presign

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gasproject/gas/ports"
)

// maxFieldSize bounds each non-file form field, so a hostile client cannot
// make the handler buffer much before the signature is checked.
const maxFieldSize = 64 << 10

// maxFields bounds the number of fields before the file for the same reason.
const maxFields = 32

// Store is what the handler needs of the store it serves.
type Store interface {
	// PutLimited streams r to key, storing nothing (ErrTooLarge) once r
	// yields more than limit bytes.
	PutLimited(ctx context.Context, key string, r io.Reader, limit int64) (ports.ObjectInfo, error)
	// Open reads key; ports.ErrNotFound if absent.
	Open(ctx context.Context, key string) (io.ReadSeekCloser, ports.ObjectInfo, error)
}

// Handler serves st's presigned requests, playing S3's part in local mode:
// POST <prefix>/upload takes a presigned form (refusing a body over the
// signed limit with 400 while it streams, storing nothing), and GET or
// HEAD <prefix>/download serves a presigned URL with its file name and
// Range support. Mount it at the prefix's path, with or without
// http.StripPrefix.
func (s *Signer) Handler(st Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if s.path != "" && strings.HasPrefix(p, s.path+"/") {
			p = strings.TrimPrefix(p, s.path)
		}
		switch p {
		case "/upload":
			if r.Method != http.MethodPost {
				w.Header().Set("Allow", http.MethodPost)
				http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
				return
			}
			s.serveUpload(w, r, st)
		case "/download":
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				w.Header().Set("Allow", "GET, HEAD")
				http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
				return
			}
			s.serveDownload(w, r, st)
		default:
			http.NotFound(w, r)
		}
	})
}

func (s *Signer) serveUpload(w http.ResponseWriter, r *http.Request, st Store) {
	mr, err := r.MultipartReader()
	if err != nil {
		http.Error(w, "expected a multipart/form-data upload", http.StatusBadRequest)
		return
	}
	fields := map[string]string{}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			http.Error(w, "the form has no file field", http.StatusBadRequest)
			return
		}
		if err != nil {
			http.Error(w, "malformed multipart body", http.StatusBadRequest)
			return
		}
		name := part.FormName()
		if name != FieldFile {
			if len(fields) >= maxFields {
				part.Close()
				http.Error(w, "too many form fields", http.StatusBadRequest)
				return
			}
			v, err := io.ReadAll(io.LimitReader(part, maxFieldSize+1))
			part.Close()
			if err != nil || len(v) > maxFieldSize {
				http.Error(w, "form field too large", http.StatusBadRequest)
				return
			}
			fields[name] = string(v)
			continue
		}
		pol, status, err := s.checkUpload(fields)
		if err != nil {
			w.Header().Set("Connection", "close")
			http.Error(w, err.Error(), status)
			return
		}
		// The file part is deliberately not Closed: Close would drain it,
		// reading a refused upload to its end instead of stopping at the limit.
		info, err := st.PutLimited(r.Context(), pol.Key, part, pol.MaxSize)
		switch {
		case errors.Is(err, ports.ErrTooLarge):
			w.Header().Set("Connection", "close")
			http.Error(w, fmt.Sprintf("EntityTooLarge: the file is larger than the %d bytes allowed", pol.MaxSize), http.StatusBadRequest)
			return
		case err != nil:
			slog.WarnContext(r.Context(), "presigned upload failed", "key", pol.Key, "err", err)
			http.Error(w, "upload failed", http.StatusBadRequest)
			return
		}
		if pol.Redirect == "" {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		q := url.Values{"key": {info.Key}}
		if info.SHA256 != "" {
			q.Set("sha256", info.SHA256)
		}
		http.Redirect(w, r, withQuery(pol.Redirect, q), http.StatusSeeOther)
		return
	}
}

// checkUpload verifies the signed policy of an upload form and that the
// form's key is the one signed.
func (s *Signer) checkUpload(fields map[string]string) (uploadPolicy, int, error) {
	var pol uploadPolicy
	policy := fields[FieldPolicy]
	if policy == "" || fields[FieldSignature] == "" {
		return pol, http.StatusForbidden, errors.New("the form lacks its policy or signature")
	}
	if err := s.verify(fields[FieldSignature], "upload", policy); err != nil {
		return pol, http.StatusForbidden, err
	}
	raw, err := base64.RawURLEncoding.DecodeString(policy)
	if err != nil {
		return pol, http.StatusForbidden, fmt.Errorf("malformed policy: %v", err)
	}
	if err := json.Unmarshal(raw, &pol); err != nil {
		return pol, http.StatusForbidden, fmt.Errorf("malformed policy: %v", err)
	}
	if err := s.checkExpiry(pol.Expires); err != nil {
		return pol, http.StatusForbidden, err
	}
	if fields[FieldKey] != pol.Key {
		return pol, http.StatusForbidden, fmt.Errorf("key %q is not the one the policy allows", fields[FieldKey])
	}
	return pol, 0, nil
}

func (s *Signer) serveDownload(w http.ResponseWriter, r *http.Request, st Store) {
	q := r.URL.Query()
	key, filename, exp := q.Get("key"), q.Get("filename"), q.Get("expires")
	if err := s.verify(q.Get(FieldSignature), "download", key, filename, exp); err != nil {
		http.Error(w, err.Error(), http.StatusForbidden)
		return
	}
	unix, err := strconv.ParseInt(exp, 10, 64)
	if err != nil {
		http.Error(w, "malformed expiry", http.StatusForbidden)
		return
	}
	if err := s.checkExpiry(unix); err != nil {
		http.Error(w, err.Error(), http.StatusForbidden)
		return
	}
	f, info, err := st.Open(r.Context(), key)
	if errors.Is(err, ports.ErrNotFound) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		slog.WarnContext(r.Context(), "presigned download failed", "key", key, "err", err)
		http.Error(w, "download failed", http.StatusInternalServerError)
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", ports.MediaType(filename))
	if filename != "" {
		w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": filename}))
	}
	w.Header().Set("ETag", etag(info))
	w.Header().Set("Cache-Control", "private, no-store")
	http.ServeContent(w, r, "", info.ModTime, f)
}

func withQuery(target string, add url.Values) string {
	u, err := url.Parse(target)
	if err != nil {
		return target
	}
	q := u.Query()
	for k, vs := range add {
		q[k] = vs
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// etag names an object's version: its SHA-256 where the store recorded
// one, else its size and modification time (a put replaces an object
// whole, with a new time).
func etag(info ports.ObjectInfo) string {
	if info.SHA256 != "" {
		return `"` + info.SHA256 + `"`
	}
	return fmt.Sprintf(`"%x-%x"`, info.Size, info.ModTime.UnixNano())
}

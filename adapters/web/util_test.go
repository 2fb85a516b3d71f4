package web_test

import (
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

var (
	hiddenRE  = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
	jobLinkRE = regexp.MustCompile(`<a href="/annotations/([A-Za-z0-9_-]+)">`)
	nextRE    = regexp.MustCompile(`<a href="(/annotations\?cursor=[^"]+)" rel="next">`)
)

func itoa(i int) string { return strconv.Itoa(i) }

func between(s, a, b string) string {
	i := strings.Index(s, a)
	if i < 0 {
		return ""
	}
	j := strings.Index(s[i:], b)
	if j < 0 {
		return s[i:]
	}
	return s[i : i+j]
}

// multipartWriter writes fields then one file part; it returns the content type.
func multipartWriter(w io.Writer, fields map[string]string, field, name string, data []byte) string {
	mw := multipart.NewWriter(w)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile(field, name)
	_, _ = fw.Write(data)
	_ = mw.Close()
	return mw.FormDataContentType()
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

// apiCall makes API requests to the harness with a bearer token (none
// when tok is empty).
type apiCall struct {
	h   *harness
	tok string
}

func (c *apiCall) do(method, path string, body io.Reader, ctype string) resp {
	req, _ := http.NewRequest(method, c.h.ts.URL+path, body)
	if c.tok != "" {
		req.Header.Set("Authorization", "Bearer "+c.tok)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	r, err := http.DefaultClient.Do(req)
	must(c.h.t, err)
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return resp{r, string(b)}
}

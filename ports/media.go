package ports

import (
	"mime"
	"path"
	"strings"
)

// downloadTypes are the media types of the files GAS hands out. The
// system's MIME table cannot be trusted for them: Debian's maps ".vcf" to
// text/vcard (a contact card), which makes browsers offer an address book
// for an annotated VCF.
var downloadTypes = map[string]string{
	".vcf":   "text/x-vcf; charset=utf-8",
	".tsv":   "text/tab-separated-values; charset=utf-8",
	".jsonl": "application/x-ndjson",
	".json":  "application/json",
	".gz":    "application/gzip",
	".bgz":   "application/gzip",
	".svg":   "image/svg+xml",
	".log":   "text/plain; charset=utf-8",
	".txt":   "text/plain; charset=utf-8",
}

// MediaType is the Content-Type a download named filename is served as,
// by every object store's presigned download and every page that streams
// a file, so the one file is labelled alike whichever path serves it.
func MediaType(filename string) string {
	ext := strings.ToLower(path.Ext(filename))
	if t, ok := downloadTypes[ext]; ok {
		return t
	}
	if t := mime.TypeByExtension(ext); t != "" {
		return t
	}
	return "application/octet-stream"
}

package web

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"strings"
	"testing"
)

// formPartRead is one part as a reader saw it.
type formPartRead struct{ name, file, content string }

// readForm reads every part with formReader through a buffer of size
// bytes.
func readForm(body []byte, boundary string, size int) ([]formPartRead, error) {
	return readParts(newFormReader(bufio.NewReaderSize(bytes.NewReader(body), size), boundary).NextPart)
}

// readStdlib reads them with mime/multipart, the reference.
func readStdlib(body []byte, boundary string) ([]formPartRead, error) {
	return readParts(multipart.NewReader(bytes.NewReader(body), boundary).NextPart)
}

// readParts reads the parts next hands out until io.EOF.
func readParts[P interface {
	io.Reader
	FormName() string
	FileName() string
}](next func() (P, error)) ([]formPartRead, error) {
	var out []formPartRead
	for {
		p, err := next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		b, err := io.ReadAll(p)
		out = append(out, formPartRead{p.FormName(), p.FileName(), string(b)})
		if err != nil {
			return out, err
		}
	}
}

// uploadForm is the upload forms' shape: fields, then the file.
func uploadForm(t testing.TB, content []byte, preamble string) ([]byte, string) {
	var body bytes.Buffer
	body.WriteString(preamble)
	mw := multipart.NewWriter(&body)
	if err := mw.SetBoundary(testBoundary); err != nil {
		t.Fatal(err)
	}
	_ = mw.WriteField("csrf_token", "abc123")
	_ = mw.WriteField("reference", "GRCh38")
	_ = mw.WriteField("empty", "")
	fw, err := mw.CreateFormFile("file", "../dir/sample.vcf")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = fw.Write(content)
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	body.WriteString("epilogue, ignored")
	return body.Bytes(), mw.Boundary()
}

// testBoundary is the test forms' boundary, so content can be made of
// its prefixes.
const testBoundary = "gasTestBoundary0123456789abcdefghijklmnop"

// nearBoundary is content full of what a delimiter starts with: CRLFs,
// dashes and prefixes of the boundary, at every offset.
func nearBoundary(rng *rand.Rand, boundary string, n int) []byte {
	pieces := []string{"\r\n", "\r\n--", "--", "\r", "\n", "chr1\t100\t.\tA\tT\n", "\r\n--" + boundary[:len(boundary)/2]}
	var b bytes.Buffer
	for b.Len() < n {
		b.WriteString(pieces[rng.IntN(len(pieces))])
	}
	return b.Bytes()[:n]
}

// TestFormReadsWhatMultipartReads: every part's name, file name and
// content as mime/multipart reads them, whatever the buffer size and
// however much of the content looks like the start of a delimiter.
func TestFormReadsWhatMultipartReads(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 17, 4095, 4096, 70_000, 300_000} {
		for _, preamble := range []string{"", "a preamble\r\n"} {
			content := nearBoundary(rng, testBoundary, n)
			body, boundary := uploadForm(t, content, preamble)
			want, err := readStdlib(body, boundary)
			if err != nil {
				t.Fatal(err)
			}
			for _, size := range []int{16, 100, 4096, 256 << 10} {
				got, err := readForm(body, boundary, size)
				if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("%d bytes, buffer %d: %d parts (%v), multipart %d", n, size, len(got), err, len(want))
				}
			}
			if want[3].file != "sample.vcf" || want[3].content != string(content) {
				t.Fatalf("the reference read file %q", want[3].file)
			}
		}
	}
}

// TestFormCutShortIsAnError: a body that ends before its closing boundary
// (a dropped upload) is an error from the part being read, never a short
// file taken for a whole one.
func TestFormCutShortIsAnError(t *testing.T) {
	body, boundary := uploadForm(t, bytes.Repeat([]byte("chr1\t100\t.\tA\tT\t.\t.\t.\n"), 5000), "")
	end := bytes.LastIndex(body, []byte("--"+boundary+"--"))
	for _, cut := range []int{0, 10, 200, len(body) / 2, end - 3, end, end + len(boundary)} {
		got, err := readForm(body[:cut], boundary, 4096)
		if err == nil {
			t.Fatalf("cut at %d of %d: no error, %d parts", cut, len(body), len(got))
		}
	}
	if _, err := readForm(body[:end+len(boundary)+4], boundary, 4096); err != nil {
		t.Fatalf("the closing boundary itself: %v", err)
	}
}

// TestFormRefusesMalformedHeaders: a part header without its blank line,
// or one line longer than the limit, is an error, not a wait for memory.
func TestFormRefusesMalformedHeaders(t *testing.T) {
	for name, body := range map[string]string{
		"long header": "--B\r\nContent-Disposition: form-data; name=\"" + strings.Repeat("x", maxPartHeaderLine) + "\"\r\n\r\nv\r\n--B--",
		"many lines":  "--B\r\n" + strings.Repeat("X-A: b\r\n", maxPartHeaderLines+1) + "\r\nv\r\n--B--",
		"no header":   "--B\r\nContent-Disposition: form-data; name=\"a\"",
		"bad line":    "--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n--B junk\r\n",
	} {
		if got, err := readForm([]byte(body), "B", 256<<10); err == nil {
			t.Errorf("%s: read %v", name, got)
		}
	}
}

// FuzzForm: for any file content the parts are mime/multipart's, and any
// body at all is read or refused without a panic.
func FuzzForm(f *testing.F) {
	f.Add([]byte("chr1\t1\t.\tA\tT\n"), []byte("--B\r\n\r\nx\r\n--B--"), uint8(16))
	f.Add([]byte("\r\n--\r\n-"), []byte("--B\r\nContent-Disposition: form-data; name=file; filename=a\r\n\r\n\r\n--B\r\n"), uint8(0))
	f.Fuzz(func(t *testing.T, content, raw []byte, size uint8) {
		_, _ = readForm(raw, "B", 16+int(size))
		body, boundary := uploadForm(t, content, "")
		want, werr := readStdlib(body, boundary)
		got, err := readForm(body, boundary, 16+int(size))
		if werr != nil || err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("parts %q (%v), multipart %q (%v)", got, err, want, werr)
		}
	})
}

// BenchmarkForm reads a 38 MiB VCF upload (the job path benchmark's
// size) with mime/multipart and with formReader, both through the
// servers' 256 KiB buffer.
func BenchmarkForm(b *testing.B) {
	body, boundary := uploadForm(b, bytes.Repeat([]byte("chr1\t1234567\t.\tA\tT\t50\tPASS\tDP=20\tGT\t0/1\n"), 38<<20/40), "")
	buf := make([]byte, 1<<20)
	b.Run("mime-multipart", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			mr := multipart.NewReader(bufio.NewReaderSize(bytes.NewReader(body), 256<<10), boundary)
			for {
				p, err := mr.NextPart()
				if err != nil {
					break
				}
				_, _ = io.CopyBuffer(io.Discard, struct{ io.Reader }{p}, buf)
			}
		}
	})
	b.Run("formReader", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			fr := newFormReader(bufio.NewReaderSize(bytes.NewReader(body), 256<<10), boundary)
			for {
				p, err := fr.NextPart()
				if err != nil {
					break
				}
				_, _ = io.CopyBuffer(io.Discard, struct{ io.Reader }{p}, buf)
			}
		}
	})
}

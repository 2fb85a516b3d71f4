package bgzf

import (
	"bytes"
	stdflate "compress/flate"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"testing"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
)

// BenchmarkCodecs compares, in one run on the same data, the DEFLATE
// encoders and decoders a BGZF writer and reader can use:
// github.com/klauspost/compress (flate, which the Writer and Reader use, and
// gzip writing and reading whole BGZF members) and the standard library's
// compress/flate as a reference. (At commit 14102ee the package still had
// its own encoder and inflater, measured there against these; the figures
// that retired them are in docs/benchmarks.md.) Each sub-benchmark turns the text into (or
// back from) complete BGZF blocks of 0xff00 input bytes: header, deflate
// data, CRC32 and ISIZE, checked on the way back. MB/s is of uncompressed
// text; %size is the compressed size as a percentage of it.
//
// The text is annotated-VCF-like (annotatedLike), or the first 32 MB of the
// file named by GAS_BGZF_BENCH_DATA, e.g. the plain output of gas annotate
// on the 1M benchmark set:
//
//	gas bench --sizes 1m --modes plain --snpeff none --keep --dir /tmp/b
//	GAS_BGZF_BENCH_DATA=/tmp/b/out-1000000-plain-gas.vcf \
//	  go test ./adapters/engine/bgzf -run '^$' -bench Codecs -count 5
func BenchmarkCodecs(b *testing.B) {
	data := benchText(b)
	for _, c := range blockEncoders() {
		b.Run("deflate/"+c.name, func(b *testing.B) {
			enc := c.make()
			var out []byte
			b.SetBytes(int64(len(data)))
			n := 0
			for b.Loop() {
				n = 0
				for p := range blocksOf(data) {
					out = enc(out[:0], p)
					n += len(out)
				}
			}
			b.ReportMetric(100*float64(n)/float64(len(data)), "%size")
		})
	}
	// What the reader meets: blocks from our writer at its default level,
	// and bgzip's (zlib level 6; compress/flate level 6 stands in for it).
	for _, in := range []struct{ name, enc string }{{"level1-blocks", "klauspost-flate1"}, {"level6-blocks", "stdlib-flate6"}} {
		z := encodeAll(b, data, in.enc)
		for _, d := range blockDecoders() {
			b.Run("inflate/"+in.name+"/"+d.name, func(b *testing.B) {
				dec := d.make()
				out := make([]byte, 0, MaxBlockSize)
				checkDecoder(b, dec, z, data)
				b.SetBytes(int64(len(data)))
				for b.Loop() {
					for _, blk := range z {
						if _, err := dec(out, blk); err != nil {
							b.Fatal(err)
						}
					}
				}
			})
		}
	}
}

func benchText(b *testing.B) []byte {
	p := os.Getenv("GAS_BGZF_BENCH_DATA")
	if p == "" {
		return annotatedLike(32<<20, 1)
	}
	d, err := os.ReadFile(p)
	if err != nil {
		b.Fatal(err)
	}
	return d[:min(len(d), 32<<20)]
}

// blocksOf yields data in BGZF-sized pieces.
func blocksOf(data []byte) func(func([]byte) bool) {
	return func(yield func([]byte) bool) {
		for p := data; len(p) > 0; p = p[min(len(p), BlockDataSize):] {
			if !yield(p[:min(len(p), BlockDataSize)]) {
				return
			}
		}
	}
}

// A blockEncoder appends the BGZF block of src to dst.
type blockEncoder func(dst, src []byte) []byte

func blockEncoders() []struct {
	name string
	make func() blockEncoder
} {
	return []struct {
		name string
		make func() blockEncoder
	}{
		{"klauspost-flate1", klauspostFlate(1)},
		{"klauspost-flate6", klauspostFlate(6)},
		{"klauspost-gzip1", klauspostGzip(1)},
		{"stdlib-flate1", stdlibFlate(1)},
		{"stdlib-flate6", stdlibFlate(6)},
	}
}

func klauspostFlate(level int) func() blockEncoder {
	return func() blockEncoder {
		var z bytes.Buffer
		fw, _ := flate.NewWriter(&z, level)
		return func(dst, src []byte) []byte {
			z.Reset()
			fw.Reset(&z)
			fw.Write(src)
			fw.Close()
			return wrapBlock(dst, z.Bytes(), src)
		}
	}
}

func stdlibFlate(level int) func() blockEncoder {
	return func() blockEncoder {
		var z bytes.Buffer
		fw, _ := stdflate.NewWriter(&z, level)
		return func(dst, src []byte) []byte {
			z.Reset()
			fw.Reset(&z)
			fw.Write(src)
			fw.Close()
			return wrapBlock(dst, z.Bytes(), src)
		}
	}
}

// klauspostGzip writes each block as a gzip member carrying the BC extra
// subfield, then patches BSIZE in: a BGZF block straight from gzip.Writer.
func klauspostGzip(level int) func() blockEncoder {
	return func() blockEncoder {
		var z bytes.Buffer
		gw, _ := gzip.NewWriterLevel(&z, level)
		return func(dst, src []byte) []byte {
			z.Reset()
			gw.Reset(&z)
			gw.Header = gzip.Header{Extra: []byte{'B', 'C', 2, 0, 0, 0}, OS: 0xff}
			gw.Write(src)
			gw.Close()
			blk := z.Bytes()
			binary.LittleEndian.PutUint16(blk[16:18], uint16(len(blk)-1))
			return append(dst, blk...)
		}
	}
}

// wrapBlock frames raw deflate data z of src as a BGZF block.
func wrapBlock(dst, z, src []byte) []byte {
	bsize := headerSize + len(z) + trailerSize - 1
	dst = append(dst, 0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 0xff, 6, 0, 'B', 'C', 2, 0,
		byte(bsize), byte(bsize>>8))
	dst = append(dst, z...)
	dst = binary.LittleEndian.AppendUint32(dst, crc32.ChecksumIEEE(src))
	return binary.LittleEndian.AppendUint32(dst, uint32(len(src)))
}

func encodeAll(b *testing.B, data []byte, name string) [][]byte {
	for _, c := range blockEncoders() {
		if c.name == name {
			enc := c.make()
			var z [][]byte
			for p := range blocksOf(data) {
				z = append(z, enc(nil, p))
			}
			return z
		}
	}
	b.Fatalf("no encoder %q", name)
	return nil
}

// A blockDecoder appends the data of BGZF block blk to dst, checking its
// CRC32 and size.
type blockDecoder func(dst, blk []byte) ([]byte, error)

func blockDecoders() []struct {
	name string
	make func() blockDecoder
} {
	return []struct {
		name string
		make func() blockDecoder
	}{
		{"klauspost-flate", func() blockDecoder {
			fr := flate.NewReader(bytes.NewReader(nil))
			var br bytes.Reader
			return func(dst, blk []byte) ([]byte, error) {
				br.Reset(blk[headerSize : len(blk)-trailerSize])
				fr.(flate.Resetter).Reset(&br, nil)
				return readChecked(dst, fr, blk)
			}
		}},
		{"klauspost-gzip", func() blockDecoder {
			var gr gzip.Reader
			var br bytes.Reader
			return func(dst, blk []byte) ([]byte, error) {
				br.Reset(blk)
				if err := gr.Reset(&br); err != nil {
					return nil, err
				}
				gr.Multistream(false)
				return readAll(dst, &gr)
			}
		}},
		{"stdlib-flate", func() blockDecoder {
			fr := stdflate.NewReader(bytes.NewReader(nil))
			var br bytes.Reader
			return func(dst, blk []byte) ([]byte, error) {
				br.Reset(blk[headerSize : len(blk)-trailerSize])
				fr.(stdflate.Resetter).Reset(&br, nil)
				return readChecked(dst, fr, blk)
			}
		}},
	}
}

// readChecked reads a raw deflate stream to its end and checks it against
// the block's CRC32 and ISIZE.
func readChecked(dst []byte, r io.Reader, blk []byte) ([]byte, error) {
	out, err := readAll(dst, r)
	if err != nil {
		return nil, err
	}
	n := len(blk)
	if crc32.ChecksumIEEE(out) != binary.LittleEndian.Uint32(blk[n-8:]) || len(out) != int(binary.LittleEndian.Uint32(blk[n-4:])) {
		return nil, fmt.Errorf("block CRC or size mismatch: %w", ErrCorrupt)
	}
	return out, nil
}

// readAll reads r to EOF into dst's spare capacity.
func readAll(dst []byte, r io.Reader) ([]byte, error) {
	for {
		if len(dst) == cap(dst) {
			dst = append(dst, 0)[:len(dst)]
		}
		n, err := r.Read(dst[len(dst):cap(dst)])
		dst = dst[:len(dst)+n]
		if err == io.EOF {
			return dst, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// checkDecoder makes sure dec gives back data before it is timed.
func checkDecoder(b *testing.B, dec blockDecoder, z [][]byte, data []byte) {
	var got []byte
	for _, blk := range z {
		out, err := dec(make([]byte, 0, MaxBlockSize), blk)
		if err != nil {
			b.Fatal(err)
		}
		got = append(got, out...)
	}
	if !bytes.Equal(got, data) {
		b.Fatal("decoded data differs")
	}
}

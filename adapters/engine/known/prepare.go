package known

import (
	"bufio"
	"fmt"
	"io"
	"os"

	"github.com/gasproject/gas/adapters/engine/bgzf"
	"github.com/gasproject/gas/adapters/engine/input"
	"github.com/gasproject/gas/adapters/engine/tabix"
)

// Prepare makes a known-variants file ready for random access: it writes
// dst as BGZF (recompressing a plain or gzip src; copying a BGZF one) and
// builds dst+".tbi". `gas db build --known` uses it so lookups never need
// a full scan. The source must be sorted (tabix.ErrUnsorted otherwise).
func Prepare(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrSource, err)
	}
	defer in.Close()
	br := bufio.NewReaderSize(in, 64<<10)
	format, err := input.Detect(br)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrSource, src, err)
	}
	tmp := dst + ".tmp"
	out, err := os.Create(tmp)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if format == input.BGZF {
		_, err = io.Copy(out, br)
	} else {
		var rc io.ReadCloser
		rc, err = input.Open(br, input.Limits{})
		if err == nil {
			var zw *bgzf.Writer
			zw, err = bgzf.NewWriter(out, bgzf.WithLevel(6))
			if err == nil {
				_, err = io.Copy(zw, rc)
				if cerr := zw.Close(); err == nil {
					err = cerr
				}
			}
			rc.Close()
		}
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%w: prepare %s: %v", ErrSource, src, err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		return err
	}
	return tabix.IndexFile(dst)
}

// EnsureIndex builds path+".tbi" for a BGZF known-variants file that has
// none; it does nothing when the index exists.
func EnsureIndex(path string) error {
	if _, err := os.Stat(path + ".tbi"); err == nil {
		return nil
	}
	return tabix.IndexFile(path)
}

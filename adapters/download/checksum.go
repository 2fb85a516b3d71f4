package download

import (
	"bufio"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// ErrChecksum is wrapped when a downloaded file does not match the
// provider's published checksum.
var ErrChecksum = errors.New("checksum mismatch")

// BSDSumOf computes BSD `sum` (the default algorithm of GNU `sum`, `sum -r`):
// a 16-bit checksum rotated right one bit before each byte is added, and
// the size in 1 KiB blocks rounded up. Ensembl publishes these.
func BSDSumOf(r io.Reader) (sum uint16, blocks int64, err error) {
	buf := make([]byte, 256<<10)
	var s uint32
	var n int64
	for {
		k, rerr := r.Read(buf)
		for _, b := range buf[:k] {
			s = (s >> 1) + ((s & 1) << 15)
			s = (s + uint32(b)) & 0xffff
		}
		n += int64(k)
		if rerr == io.EOF {
			return uint16(s), (n + 1023) / 1024, nil
		}
		if rerr != nil {
			return 0, 0, rerr
		}
	}
}

// MD5Of returns the hex MD5 of r.
func MD5Of(r io.Reader) (string, error) {
	h := md5.New()
	if _, err := io.Copy(h, r); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Expected is a published checksum for one file.
type Expected struct {
	Algo   Algo
	Sum    uint16 // BSD
	Blocks int64  // BSD
	MD5    string
}

// ParseChecksums reads a provider's checksum list into file name -> sum.
// Ensembl CHECKSUMS lines are "sum blocks name"; GENCODE MD5SUMS lines are
// "md5  name" (md5sum output, an optional '*' before binary names).
func ParseChecksums(r io.Reader, algo Algo) (map[string]Expected, error) {
	out := map[string]Expected{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		switch algo {
		case BSDSum:
			if len(f) != 3 {
				return nil, fmt.Errorf("CHECKSUMS line %d: want \"sum blocks name\", got %q", n, sc.Text())
			}
			s, err1 := strconv.ParseUint(f[0], 10, 16)
			b, err2 := strconv.ParseInt(f[1], 10, 64)
			if err1 != nil || err2 != nil {
				return nil, fmt.Errorf("CHECKSUMS line %d: bad numbers in %q", n, sc.Text())
			}
			out[f[2]] = Expected{Algo: BSDSum, Sum: uint16(s), Blocks: b}
		case MD5:
			if len(f) != 2 || len(f[0]) != 32 {
				return nil, fmt.Errorf("MD5SUMS line %d: want \"md5 name\", got %q", n, sc.Text())
			}
			out[strings.TrimPrefix(f[1], "*")] = Expected{Algo: MD5, MD5: strings.ToLower(f[0])}
		}
	}
	return out, sc.Err()
}

// Verify checks r against e.
func (e Expected) Verify(r io.Reader) error {
	switch e.Algo {
	case BSDSum:
		s, b, err := BSDSumOf(r)
		if err != nil {
			return err
		}
		if s != e.Sum || b != e.Blocks {
			return fmt.Errorf("%w: BSD sum %05d %d, published %05d %d", ErrChecksum, s, b, e.Sum, e.Blocks)
		}
	case MD5:
		m, err := MD5Of(r)
		if err != nil {
			return err
		}
		if m != e.MD5 {
			return fmt.Errorf("%w: MD5 %s, published %s", ErrChecksum, m, e.MD5)
		}
	}
	return nil
}

package disk

import (
	"bufio"
	"os"
)

// writebackEvery is how much an object file receives between requests
// to the kernel to start writing it out.
const writebackEvery = 8 << 20

// fileWriter batches writes to an object file (uploads arrive in pieces
// of a few kilobytes) and, where the system allows it, asks the kernel to
// start writing each few megabytes to disk while the rest still streams,
// so the fsync that ends a large write waits for the last megabytes only,
// not for the whole object.
type fileWriter struct {
	*bufio.Writer
	f *os.File
	w writeback
}

func newFileWriter(f *os.File) *fileWriter {
	fw := &fileWriter{f: f, w: writeback{fd: int(f.Fd())}}
	fw.Writer = bufio.NewWriterSize(writebackFile{fw}, 1<<20)
	return fw
}

// writebackFile writes to the file and starts writeback as it grows.
type writebackFile struct{ fw *fileWriter }

func (w writebackFile) Write(p []byte) (int, error) {
	n, err := w.fw.f.Write(p)
	w.fw.w.wrote(int64(n))
	return n, err
}

// sync flushes what is buffered and makes the file durable.
func (fw *fileWriter) sync() error {
	if err := fw.Flush(); err != nil {
		return err
	}
	return fw.f.Sync()
}

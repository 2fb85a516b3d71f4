package disk

import (
	"bufio"
	"os"
)

// writebackEvery is how much an object file receives between background
// syncs.
const writebackEvery = 8 << 20

// writebackKick is how much an object file receives before it is handed
// to the device, without waiting (see writeback).
const writebackKick = 1 << 20

// dropWritten says large objects leave the page cache once durable
// (writeback.drop); benchmarks turn it off to measure the peer.
var dropWritten = true

// dropAbove is the size above which a written object leaves the page
// cache. Smaller ones stay: an upload is read back at once by the
// annotator, and a small job's results by the pages that show them.
const dropAbove = 64 << 20

// directWrite is the size from which a write skips the buffer: a
// result's chunks are large already, and copying them once more costs a
// pass over every byte.
const directWrite = 64 << 10

// fileWriter batches small writes to an object file (uploads arrive in
// pieces of a few kilobytes) and, where the system allows it, makes each
// few megabytes durable while the rest still streams (writeback), so the
// fsync that ends a large write waits for the last megabytes only, not
// for the whole object.
type fileWriter struct {
	buf *bufio.Writer
	f   *os.File
	w   writeback
}

func newFileWriter(f *os.File) *fileWriter {
	fw := &fileWriter{f: f, w: writeback{fd: int(f.Fd())}}
	fw.buf = bufio.NewWriterSize(writebackFile{fw}, 1<<20)
	return fw
}

func (fw *fileWriter) Write(p []byte) (int, error) {
	if len(p) < directWrite {
		return fw.buf.Write(p)
	}
	if err := fw.buf.Flush(); err != nil {
		return 0, err
	}
	return writebackFile{fw}.Write(p)
}

// writebackFile writes to the file and syncs it as it grows.
type writebackFile struct{ fw *fileWriter }

func (w writebackFile) Write(p []byte) (int, error) {
	n, err := w.fw.f.Write(p)
	w.fw.w.wrote(int64(n))
	return n, err
}

// sync flushes what is buffered and makes the file durable, then lets a
// large file's pages go (writeback.drop).
func (fw *fileWriter) sync() error {
	if err := fw.buf.Flush(); err != nil {
		return err
	}
	if err := fw.w.wait(); err != nil {
		return err
	}
	if err := fw.f.Sync(); err != nil {
		return err
	}
	fw.w.drop()
	return nil
}

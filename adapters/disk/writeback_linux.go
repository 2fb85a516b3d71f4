package disk

import "golang.org/x/sys/unix"

// writeback tracks how much of a file was written and starts the kernel's
// writeback of each writebackEvery bytes (sync_file_range, without
// waiting); a failure only means the final fsync does all the work.
type writeback struct {
	fd           int
	written, off int64
}

func (w *writeback) wrote(n int64) {
	w.written += n
	if w.written-w.off >= writebackEvery {
		_ = unix.SyncFileRange(w.fd, w.off, w.written-w.off, unix.SYNC_FILE_RANGE_WRITE)
		w.off = w.written
	}
}

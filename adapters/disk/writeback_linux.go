package disk

import (
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// writeback makes each writebackEvery bytes of a file durable in the
// background (fdatasync on its own goroutine, one at a time) while the
// rest still streams, so the fsync that ends a large write has only the
// last megabytes left to flush. Starting the kernel's writeback alone
// (sync_file_range) is not enough: the final flush still persisted the
// whole file on the development VM, 0.5 ms per megabyte (100 ms for a
// 191 MB result; 5 ms with the background syncs). Once a file has
// passed dropAbove, each background sync also lets go of the pages it
// made durable (see drop), so the cache does not grow with the file and
// the final step has only the tail left to drop. Between the syncs, each
// writebackKick bytes are handed to the device as soon as written
// (sync_file_range, which waits for nothing): the syncs then find them
// written or on their way, and an upload's final fsync has a megabyte at
// most left to write instead of up to writebackEvery (38 MB uploads:
// median 201 after 44–46 ms instead of 48–49, two runs of alternating
// builds; BenchmarkPutLarge 153 against 162 ms per 191 MB, CPU no more).
type writeback struct {
	fd           int
	written, off int64
	kicked       int64 // bytes handed to the device so far
	busy         atomic.Bool
	wg           sync.WaitGroup
	// err is a background sync's failure. Linux reports a write-back
	// error to one fsync only, so it is kept for the final one to return.
	err error
	// dropped is how much of the file, from its start, has left the
	// page cache; set by the background syncs, read after wait.
	dropped int64
}

func (w *writeback) wrote(n int64) {
	w.written += n
	if w.written-w.kicked >= writebackKick {
		_ = unix.SyncFileRange(w.fd, w.kicked, w.written-w.kicked, unix.SYNC_FILE_RANGE_WRITE)
		w.kicked = w.written
	}
	if w.written-w.off < writebackEvery || !w.busy.CompareAndSwap(false, true) {
		return
	}
	w.off = w.written
	upto := w.off
	w.wg.Go(func() {
		err := unix.Fdatasync(w.fd)
		if err != nil && w.err == nil {
			w.err = err
		}
		if err == nil && dropWritten && upto > dropAbove {
			_ = unix.Fadvise(w.fd, w.dropped, upto-w.dropped, unix.FADV_DONTNEED)
			w.dropped = upto
		}
		w.busy.Store(false)
	})
}

// wait returns once no background sync runs, with the first one's error:
// before the final fsync, and before the file is closed.
func (w *writeback) wait() error {
	w.wg.Wait()
	return w.err
}

// drop takes a durable file of more than dropAbove bytes out of the page
// cache (what the background syncs have not dropped already). Such an
// object (a large job's result and index) is written once and read later
// by ranges or not at all; cached, every job would grow the page cache by
// its output, and each new cache page costs its first touch — on a
// virtual machine a fault to the host: putting 191 MB cost 0.066 CPU-s
// with its pages dropped and 0.20 (up to 0.4) with them kept once the
// cache had grown (BenchmarkPutLarge). Its pages are clean after the
// fsync, so letting them go costs nothing now.
func (w *writeback) drop() {
	if dropWritten && w.written > dropAbove {
		_ = unix.Fadvise(w.fd, w.dropped, 0, unix.FADV_DONTNEED)
	}
}

package contract

import (
	"net/url"
	"sync"
	"testing"

	"github.com/gasproject/gas/ports"
)

// TestIDs checks a ports.IDs: non-empty, URL- and key-safe, and unique even
// when drawn concurrently.
func TestIDs(t *testing.T, ids ports.IDs) {
	const workers, each = 8, 2000
	var mu sync.Mutex
	seen := make(map[string]bool, workers*each)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			local := make([]string, each)
			for i := range local {
				local[i] = ids.NewID()
			}
			mu.Lock()
			defer mu.Unlock()
			for _, id := range local {
				if id == "" {
					t.Errorf("empty id")
				}
				if url.PathEscape(id) != id || len(id) > 128 {
					t.Errorf("id %q is not URL-safe or too long", id)
				}
				if seen[id] {
					t.Errorf("id %q issued twice", id)
				}
				seen[id] = true
			}
		})
	}
	wg.Wait()
}

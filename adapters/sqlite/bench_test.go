package sqlite_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gasproject/gas/adapters/memory"
	"github.com/gasproject/gas/adapters/sqlite"
	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

// BenchmarkJobStore compares the SQLite job store on a real file with the
// memory one in the same run, on the calls a busy site makes: reading a
// job, a conditional update, and the first page of a user's 10,000 jobs.
//
//	go test -run '^$' -bench JobStore ./adapters/sqlite
func BenchmarkJobStore(b *testing.B) {
	for _, st := range []struct {
		name string
		open func(b *testing.B) ports.JobStore
	}{
		{"memory", func(*testing.B) ports.JobStore { return memory.NewJobStore() }},
		{"sqlite", func(b *testing.B) ports.JobStore { return sqlite.NewJobStore(openDB(b)) }},
	} {
		b.Run(st.name, func(b *testing.B) {
			store, ctx := st.open(b), context.Background()
			t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			var last *domain.Job
			for i := range 10_000 {
				j, err := domain.NewJob(domain.JobID(fmt.Sprintf("job%05d", i)), "many", "a.vcf", "inputs/a", 10, t0.Add(time.Duration(i)*time.Second))
				if err != nil {
					b.Fatal(err)
				}
				if err := store.Create(ctx, j); err != nil {
					b.Fatal(err)
				}
				last = j
			}
			b.Run("Get", func(b *testing.B) {
				for b.Loop() {
					if _, err := store.Get(ctx, last.ID()); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("Update", func(b *testing.B) {
				j, _ := store.Get(ctx, last.ID())
				for b.Loop() {
					var err error
					if j, err = store.Update(ctx, j); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("ListFirstPage", func(b *testing.B) {
				for b.Loop() {
					if js, _, err := store.ListByUser(ctx, "many", "", 25); err != nil || len(js) != 25 {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

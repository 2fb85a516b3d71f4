package archival_test

import (
	"testing"
	"time"

	"github.com/gasproject/gas/adapters/memory"
	"github.com/gasproject/gas/adapters/tarball"
	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/domain/archival"
)

// The protocols themselves are tested end to end in adapters/workers
// (protocol_test.go, random_test.go, ack_test.go) with every worker.

func TestNewServiceNeedsEveryPort(t *testing.T) {
	fc := memory.NewFakeClock(time.Time{})
	objects, _ := memory.NewObjectStore()
	arch, _ := memory.NewArchive(fc)
	q, _ := memory.NewQueue("restore", fc)
	cfg := archival.Config{Policy: domain.DefaultPolicy()}
	full := archival.Ports{Jobs: memory.NewJobStore(), Users: memory.NewUserStore(), Objects: objects, Archive: arch,
		Bundler: tarball.New(objects), Restores: q, Clock: fc}
	if _, err := archival.NewService(full, cfg); err != nil {
		t.Fatal(err)
	}
	for name, drop := range map[string]func(*archival.Ports){
		"archive": func(p *archival.Ports) { p.Archive = nil }, "bundler": func(p *archival.Ports) { p.Bundler = nil },
		"restore queue": func(p *archival.Ports) { p.Restores = nil },
	} {
		p := full
		drop(&p)
		if _, err := archival.NewService(p, cfg); err == nil {
			t.Errorf("nil %s accepted", name)
		}
	}
}

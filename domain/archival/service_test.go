package archival_test

import (
	"testing"
	"time"

	"github.com/gasproject/gas/adapters/memory"
	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/domain/archival"
)

// The protocols themselves are tested end to end in domain/pipeline
// (protocol_test.go, random_test.go, ack_test.go) with every worker.

func TestNewServiceNeedsEveryPort(t *testing.T) {
	fc := memory.NewFakeClock(time.Time{})
	objects, _ := memory.NewObjectStore()
	arch, _ := memory.NewArchive(fc)
	q, _ := memory.NewQueue("restore", fc)
	cfg := archival.Config{Policy: domain.DefaultPolicy()}
	if _, err := archival.NewService(memory.NewJobStore(), memory.NewUserStore(), objects, arch, q, fc, cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := archival.NewService(memory.NewJobStore(), memory.NewUserStore(), objects, nil, q, fc, cfg); err == nil {
		t.Fatal("nil archive accepted")
	}
	if _, err := archival.NewService(memory.NewJobStore(), memory.NewUserStore(), objects, arch, nil, fc, cfg); err == nil {
		t.Fatal("nil restore queue accepted")
	}
}

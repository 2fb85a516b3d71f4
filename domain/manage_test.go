package domain

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestRenameKeepsTheInputName(t *testing.T) {
	j := state(t, "available")
	if err := j.Rename(" My exome "); err != nil || j.Name() != "My exome" || j.InputName() != "in.vcf" {
		t.Fatalf("rename: %v, name %q, input %q", err, j.Name(), j.InputName())
	}
	if err := j.Rename(""); err != nil || j.Name() != "in.vcf" {
		t.Fatalf("empty name: %v %q", err, j.Name())
	}
	for _, bad := range []string{"tab\there", strings.Repeat("é", MaxJobName+1)} {
		if err := j.Rename(bad); !errors.Is(err, ErrInvalidName) || !errors.Is(err, ErrInvalidJob) {
			t.Errorf("rename %q: %v", bad, err)
		}
	}
}

func TestDeletableUnlessResultsAreBeingWritten(t *testing.T) {
	for name, ok := range map[string]bool{"pending": true, "running": false, "available": true, "archived": true,
		"restoring": false, "restored": true, "failed": true, "cancelled": true} {
		if err := state(t, name).Deletable(); (err == nil) != ok {
			t.Errorf("%s deletable: %v, want %v", name, err, ok)
		}
	}
}

func TestJobFilter(t *testing.T) {
	j := state(t, "archived")
	_ = j.Rename("Tumour")
	for _, c := range []struct {
		f    JobFilter
		want bool
	}{
		{JobFilter{}, true},
		{JobFilter{Name: "tum"}, true},
		{JobFilter{Name: "IN.VCF"}, true},
		{JobFilter{Name: "normal"}, false},
		{JobFilter{State: StateArchived}, true},
		{JobFilter{State: string(StatusCompleted)}, false},
		{JobFilter{From: t0, To: t0.Add(time.Second)}, true},
		{JobFilter{From: t0.Add(time.Second)}, false},
		{JobFilter{To: t0}, false},
	} {
		if got := c.f.Matches(j); got != c.want {
			t.Errorf("%+v matches: %v, want %v", c.f, got, c.want)
		}
	}
	if !(JobFilter{From: t0.Add(time.Second)}).Older(j) || (JobFilter{}).Older(j) {
		t.Error("Older")
	}
}

package domain

import "time"

// Provenance says how a result was made, for the log page and anyone who
// must reproduce or cite it: the build that annotated, the annotation
// database and its checksum, the known-variants source, the settings, and
// how long each stage took. It is stored with the summary.
type Provenance struct {
	// Engine is the GAS build that annotated ("gas v1.2.3 (commit abc123, go1.26)").
	Engine string `json:"engine,omitempty"`
	// Database is the annotation database's source (a path or URI) and
	// Checksum its checksum ("crc32:1a2b3c4d"), which with the reference
	// name identifies the exact reference used.
	Database string `json:"database,omitempty"`
	Checksum string `json:"checksum,omitempty"`
	// Known is the known-variants source ("" when none was used).
	Known string `json:"known,omitempty"`
	// Settings are the choices that shaped the result, in order.
	Settings []Setting `json:"settings,omitempty"`
	// Stages are the annotation's stages with their durations, in order.
	Stages []Stage `json:"stages,omitempty"`
}

// Setting is one named choice of a run.
type Setting struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Stage is one timed step of a run.
type Stage struct {
	Name     string        `json:"name"`
	Duration time.Duration `json:"duration_ns"`
}

// IsZero reports whether nothing is known of the run (a summary stored
// before provenance was kept).
func (p Provenance) IsZero() bool {
	return p.Engine == "" && p.Database == "" && p.Checksum == "" && p.Known == "" && len(p.Settings) == 0 && len(p.Stages) == 0
}

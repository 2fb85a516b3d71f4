package scalesim

import (
	"fmt"
	"time"

	"github.com/gasproject/gas/domain/scaling"
)

// seedWeb is the original's Locust run: 200 users reaching 25 requests/s
// over five minutes, holding for half an hour, then stopping. The web
// model is a small instance (40 requests/s, 6 ms idle latency), so two
// instances carry the load at under 10 ms, which is exactly what made the
// seed scale-in alarm fire under steady load.
func seedWeb() Scenario {
	return Scenario{
		Name:  "seed-web",
		About: "Locust, 200 users at 25 requests/s: 5 min ramp, 30 min hold, stop; 60 min simulated",
		Farm:  Web, Length: 60 * time.Minute,
		Sources: []Source{{User: "locust", Shape: Shape{Start: 2 * time.Minute, Ramp: 5 * time.Minute, Hold: 30 * time.Minute, Peak: 25}}},
		Min:     scaling.SeedMinInstances, Max: scaling.SeedMaxInstances,
		Boot: 2 * time.Minute, Warmup: 5 * time.Minute,
		Web: WebModel{Capacity: scaling.WebInstanceCapacity, Base: 6 * time.Millisecond},
	}
}

// seedAnnotator is the original's ann_load.py: the same test file
// submitted in a loop for an hour, then nothing. Our engine annotates a
// few million variants a second, so the file here is a whole-genome VCF
// (5 million variants) and the loop submits 4 a second: about six
// annotators' worth of work at the default calibration.
func seedAnnotator() Scenario {
	return Scenario{
		Name:  "seed-annotator",
		About: "ann_load.py: a 5M-variant VCF submitted 4 times a second for 60 min, then nothing; 150 min simulated",
		Farm:  Annotator, Length: 150 * time.Minute,
		Sources: []Source{{User: "ann_load", Shape: Shape{Start: 2 * time.Minute, Hold: 60 * time.Minute, Peak: 4}, Variants: 5_000_000}},
		Min:     scaling.SeedMinInstances, Max: scaling.SeedMaxInstances,
		Boot: 2 * time.Minute, Warmup: 5 * time.Minute,
		Calibration: DefaultCalibration, AcceptableWait: scaling.DefaultAcceptableWait,
	}
}

// skewed is many light users and one heavy one: thirty researchers each
// submitting an exome-sized VCF every two minutes for an hour, and one
// submitting 300 whole genomes in a burst ten minutes in. Dispatch is
// fair (round-robin between users), as ARCHITECTURE.md's fair share asks.
func skewed() Scenario {
	s := Scenario{
		Name:  "skewed",
		About: "30 light users (100k-variant jobs, 0.25/s together) for 60 min; one heavy user bursts 300 whole genomes at 10 min; fair dispatch",
		Farm:  Annotator, Length: 120 * time.Minute, Fair: true,
		Min: scaling.SeedMinInstances, Max: scaling.SeedMaxInstances,
		Boot: 2 * time.Minute, Warmup: 5 * time.Minute,
		Calibration: DefaultCalibration, AcceptableWait: scaling.DefaultAcceptableWait,
	}
	for i := range 30 {
		s.Sources = append(s.Sources, Source{User: fmt.Sprintf("light-%02d", i+1),
			Shape:    Shape{Start: 2 * time.Minute, Hold: 60 * time.Minute, Peak: 0.25 / 30},
			Variants: 100_000, Spread: 0.5})
	}
	s.Sources = append(s.Sources, Source{User: "heavy",
		Shape:    Shape{Start: 10 * time.Minute, Hold: 2 * time.Minute, Peak: 2.5},
		Variants: 5_000_000, Spread: 0.2})
	return s
}

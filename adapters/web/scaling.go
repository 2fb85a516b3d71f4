package web

import (
	"net/http"
	"time"
)

// ScalingStatus is an elastic annotator pool as the /scaling page shows
// it: its bounds and size, the queue it reads, the targets of the rules
// that size it, and its recent resizes.
type ScalingStatus struct {
	Min, Max, Desired int
	Running, Busy     int // annotator loops, and those holding a job
	Waiting, InFlight int // annotation requests waiting, and being worked on
	// BacklogTarget is waiting jobs per annotator (acceptable wait ÷ mean
	// job time); UtilisationTarget is jobs in flight per annotator.
	BacklogTarget, UtilisationTarget float64
	AcceptableWait, MeanJob          time.Duration
	Tick                             time.Duration // one CloudWatch minute of the pool's clock
	Events                           []ScalingEvent
}

// ScalingEvent is one resize of the pool.
type ScalingEvent struct {
	At       time.Time
	From, To int
	Rule     string
}

// scaling renders the pool's status.
func (s *Server) scaling(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "scaling", view{Title: "Annotator pool", Data: s.o.Scaling()})
}

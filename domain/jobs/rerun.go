package jobs

import (
	"context"
	"errors"
	"fmt"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

// Rerun makes a new job from the input of the owner's job id, annotated
// with opts (against another reference, say). The input is copied to the
// new job's own key, so either job can be deleted or expire without the
// other; an input that is no longer stored (input retention, a deleted
// job) is ErrInputGone. The owner's size limit of today applies.
func (s *Service) Rerun(ctx context.Context, user domain.UserID, id domain.JobID, opts domain.JobOptions) (*domain.Job, error) {
	old, err := s.Get(ctx, user, id)
	if err != nil {
		return nil, fmt.Errorf("rerun: %w", err)
	}
	if err := s.checkOptions(opts); err != nil {
		return nil, fmt.Errorf("rerun job %s: %w", id, err)
	}
	in, err := s.objects.Get(ctx, old.InputKey())
	if errors.Is(err, ports.ErrNotFound) {
		return nil, fmt.Errorf("rerun job %s: %w", id, ErrInputGone)
	}
	if err != nil {
		return nil, fmt.Errorf("rerun job %s: read input: %w", id, err)
	}
	defer in.Close()
	j, err := s.store(ctx, user, old.InputName(), opts, in)
	if err != nil {
		return nil, fmt.Errorf("rerun job %s: %w", id, err)
	}
	s.log.InfoContext(ctx, "job re-run", "job", j.ID(), "from", id, "reference", opts.Reference)
	return j, nil
}

package web

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/gasproject/gas/adapters/results"

	"github.com/gasproject/gas/adapters/vartable"
	"github.com/gasproject/gas/domain"
)

// indexCache keeps recently opened variant indexes (their dictionaries and
// recent selections), so paging through a table costs a few range reads.
type indexCache struct {
	mu    sync.Mutex
	max   int
	order *list.List
	items map[string]*list.Element
}

type indexEntry struct {
	key string
	ix  *vartable.Index
}

func newIndexCache(max int) *indexCache {
	return &indexCache{max: max, order: list.New(), items: map[string]*list.Element{}}
}

func (c *indexCache) get(key string) *vartable.Index {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		c.order.MoveToFront(e)
		return e.Value.(*indexEntry).ix
	}
	return nil
}

func (c *indexCache) put(key string, ix *vartable.Index) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		c.order.MoveToFront(e)
		return
	}
	c.items[key] = c.order.PushFront(&indexEntry{key, ix})
	for c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.items, last.Value.(*indexEntry).key)
	}
}

// ranger reads ranges of one stored object.
func (s *Server) ranger(key string) vartable.Ranger {
	return func(ctx context.Context, off, n int64) (io.ReadCloser, error) {
		return s.d.Objects.GetRange(ctx, key, off, n)
	}
}

// openIndex opens (or finds cached) the variant index stored at key.
func (s *Server) openIndex(ctx context.Context, key string) (*vartable.Index, error) {
	if ix := s.indexes.get(key); ix != nil {
		return ix, nil
	}
	info, err := s.d.Objects.Head(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("open variant index %s: %w", key, err)
	}
	ix, err := vartable.Open(ctx, s.ranger(key), info.Size)
	if err != nil {
		return nil, fmt.Errorf("open variant index %s: %w", key, err)
	}
	s.indexes.put(key, ix)
	return ix, nil
}

type detailData struct {
	Job          *domain.Job
	Decision     domain.DownloadDecision
	Summary      *domain.Summary
	SummaryError string
	Charts       []chart
	Table        *tableView
	TableNote    string
	Failure      string
	FailureHint  string
	Window       string
	Deletable    bool
	// References are the databases a re-run may use, the default first.
	References []string
	// Suspect says the input may not match its reference: BadRecords of
	// its records disagree with it (REF, chromosome, end).
	Suspect    bool
	BadRecords int64
	// Retryable offers the retry action: FAILED by the service, or
	// RESTORING past its expected time.
	Retryable bool
	// NoticeError says why the owner could not be e-mailed.
	NoticeError string
}

// annotation is the job page: times, downloads or why not, charts, top
// genes and the variant table.
func (s *Server) annotation(w http.ResponseWriter, r *http.Request, j *domain.Job) {
	u := currentUser(r)
	j, dec, err := s.d.Jobs.Download(r.Context(), u.ID(), j.ID())
	if err != nil {
		s.jobError(w, r, err)
		return
	}
	d := detailData{Job: j, Decision: dec, Window: humanDuration(s.d.Jobs.Policy().FreeWindow), Deletable: j.Deletable() == nil,
		References: s.d.Jobs.References(), Retryable: j.FailedByService() || j.RestoreOverdue(s.d.Clock.Now()), NoticeError: j.NoticeError()}
	if c := j.Counts(); j.Status() == domain.StatusCompleted && c.SuspectReference() {
		d.Suspect, d.BadRecords = true, c.RefMismatches+c.UnknownChromosome+c.PastChromosomeEnd
	}
	if j.Status() == domain.StatusFailed {
		d.Failure, d.FailureHint = failureText(j), failureHint(j)
		// The failure is the news: a green "uploaded" banner left by the
		// submission must not sit above it.
		s.loadSession(r).dropSubmitted(j.ID())
	}
	if j.Status() == domain.StatusCompleted {
		if sum, err := s.summary(r.Context(), j); err != nil {
			s.log.WarnContext(r.Context(), "summary unavailable", "job", j.ID(), "err", err)
			d.SummaryError = "The summary of this job could not be read."
		} else {
			d.Summary = sum
		}
		switch {
		case dec.State != domain.DownloadAllowed:
			d.TableNote = "The variant table is shown while the results are in hot storage."
		case j.Results().Index == "":
			d.TableNote = "This job has no variant index."
		default:
			tv, err := s.table(r, j)
			switch {
			case errors.Is(err, vartable.ErrOldFormat):
				d.TableNote = "This job's variant table was written by an older version of GAS; run the job again to see it."
			case err != nil:
				s.log.WarnContext(r.Context(), "variant table unavailable", "job", j.ID(), "err", err)
				d.TableNote = "The variant table could not be read."
			}
			d.Table = tv
		}
		if d.Summary != nil {
			d.Charts = summaryCharts(d.Summary, d.Table != nil)
		}
	}
	s.render(w, r, http.StatusOK, "annotation", view{Title: j.Name(), Nav: "annotations", Data: d})
}

func (s *Server) summary(ctx context.Context, j *domain.Job) (*domain.Summary, error) {
	if j.Results().Summary == "" {
		return nil, fmt.Errorf("job %s has no summary", j.ID())
	}
	sum, err := results.ReadSummary(ctx, s.d.Objects, j.Results().Summary)
	if err != nil {
		return nil, fmt.Errorf("summary of job %s: %w", j.ID(), err)
	}
	return &sum, nil
}

package coldstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/domain/jobs"
	"github.com/gasproject/gas/ports"
	"github.com/gasproject/gas/ports/message"
)

// Notice is what a cold-storage notification says, in GAS terms.
type Notice struct {
	// Keys are the archive keys whose retrieval completed.
	Keys []string
	// Ignorable marks notices with nothing to act on (S3's s3:TestEvent when
	// a bucket notification is configured, or a failed vault job, which
	// polling reports).
	Ignorable bool
}

// ParseNotice recognises the notifications AWS cold storage sends to the
// restore-completions topic (delivered raw to the restore queue):
//
//   - S3 event records "ObjectRestore:Completed" (object keys URL-encoded),
//   - S3's "s3:TestEvent",
//   - Glacier vault job notifications (Action "ArchiveRetrieval"; the job's
//     description is the archive key, see Vault.InitiateRestore).
//
// ok is false for any other body, such as GAS's own messages.
func ParseNotice(body []byte) (n Notice, ok bool) {
	var v struct {
		Records []struct {
			EventSource string `json:"eventSource"`
			EventName   string `json:"eventName"`
			S3          struct {
				Object struct {
					Key string `json:"key"`
				} `json:"object"`
			} `json:"s3"`
		} `json:"Records"`
		Event          string `json:"Event"`
		Action         string `json:"Action"`
		StatusCode     string `json:"StatusCode"`
		Completed      bool   `json:"Completed"`
		JobDescription string `json:"JobDescription"`
	}
	if !json.Valid(body) || json.Unmarshal(body, &v) != nil {
		return Notice{}, false
	}
	switch {
	case v.Event == "s3:TestEvent":
		return Notice{Ignorable: true}, true
	case len(v.Records) > 0:
		for _, r := range v.Records {
			if r.EventSource != "aws:s3" {
				return Notice{}, false
			}
			if !strings.HasPrefix(r.EventName, "ObjectRestore:Completed") {
				continue
			}
			key, err := url.QueryUnescape(r.S3.Object.Key)
			if err != nil {
				continue
			}
			n.Keys = append(n.Keys, key)
		}
		n.Ignorable = len(n.Keys) == 0
		return n, true
	case v.Action == "ArchiveRetrieval":
		if !v.Completed || v.StatusCode != "Succeeded" || v.JobDescription == "" {
			return Notice{Ignorable: true}, true
		}
		return Notice{Keys: []string{v.JobDescription}}, true
	}
	return Notice{}, false
}

// NoticeQueue wraps the restore queue so the restorer sees only GAS
// messages: each cold-storage notification is handed over as
// message.RestoreCompleted for its job (the restorer re-checks the
// retrieval with RestoreStatus, so a stale or duplicate notice is
// harmless), and notices with nothing to act on are acknowledged and
// dropped. Everything else passes through untouched.
type NoticeQueue struct {
	ports.Queue
	archivePrefix string
	log           *slog.Logger
}

// NewNoticeQueue wraps q. Archive keys are read with jobs.JobOfArchiveKey
// under archivePrefix (archival.Config.ArchivePrefix), so a notice for
// anything else is dropped.
func NewNoticeQueue(q ports.Queue, archivePrefix string, log *slog.Logger) (*NoticeQueue, error) {
	if q == nil || archivePrefix == "" {
		return nil, errors.New("notice queue: needs a queue and the archive key prefix")
	}
	if log == nil {
		log = slog.Default()
	}
	return &NoticeQueue{Queue: q, archivePrefix: archivePrefix, log: log}, nil
}

// Receive translates notifications as described on NoticeQueue.
func (q *NoticeQueue) Receive(ctx context.Context, limit int, visibility, wait time.Duration) ([]ports.Message, error) {
	ms, err := q.Queue.Receive(ctx, limit, visibility, wait)
	if err != nil {
		return nil, err
	}
	out := ms[:0]
	for _, m := range ms {
		n, ok := ParseNotice(m.Body)
		if !ok {
			out = append(out, m)
			continue
		}
		var job domain.JobID
		for _, k := range n.Keys {
			if id, found := jobs.JobOfArchiveKey(q.archivePrefix, k); found {
				job = id
				break
			}
		}
		if job == "" {
			q.log.Info("dropping cold-storage notice with nothing to restore", "message", m.ID, "keys", n.Keys)
			if err := q.Queue.Delete(ctx, m.Receipt); err != nil {
				return nil, fmt.Errorf("drop notice %s: %w", m.ID, err)
			}
			continue
		}
		if len(n.Keys) > 1 {
			q.log.Warn("cold-storage notice names several archives; restoring the first", "message", m.ID, "keys", n.Keys)
		}
		m.Body = message.RestoreCompleted(job).Encode()
		out = append(out, m)
	}
	return out, nil
}

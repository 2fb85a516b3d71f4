package jobs

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"path"
	"strings"

	"github.com/gasproject/gas/domain"
)

// File names of a job's outputs inside its result folder.
const (
	ResultVCFName     = "annotated.vcf"
	ResultIndexName   = "annotated.idx"
	ResultSummaryName = "summary.json"
	ResultLogName     = "summary.log"
)

// InputKey is where a job's uploaded VCF lives: <prefix><user>/<job>/input.
func InputKey(prefix string, user domain.UserID, id domain.JobID) string {
	return prefix + url.PathEscape(string(user)) + "/" + url.PathEscape(string(id)) + "/input"
}

// ParseInputKey recovers the owner and job from a key made by InputKey under
// prefix, so the page a presigned upload redirects to can tell which job the
// stored object belongs to. ok is false for any other key.
func ParseInputKey(prefix, key string) (user domain.UserID, id domain.JobID, ok bool) {
	rest, found := strings.CutPrefix(key, prefix)
	if !found {
		return "", "", false
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 3 || parts[2] != "input" {
		return "", "", false
	}
	u, uerr := url.PathUnescape(parts[0])
	j, jerr := url.PathUnescape(parts[1])
	if uerr != nil || jerr != nil || u == "" || !validID(domain.JobID(j)) {
		return "", "", false
	}
	return domain.UserID(u), domain.JobID(j), true
}

// ResultKeys lays out a job's outputs under <prefix><user>/<job>/<generation>/.
// Every run and every restore writes a fresh generation, so a stale worker
// that deletes or rewrites "its" keys can never touch the copy the job
// currently points to (the archive/restore and lease-takeover races).
func ResultKeys(prefix string, user domain.UserID, id domain.JobID, generation string) domain.ResultKeys {
	dir := prefix + url.PathEscape(string(user)) + "/" + url.PathEscape(string(id)) + "/" + generation + "/"
	return domain.ResultKeys{
		VCF:     dir + ResultVCFName,
		Index:   dir + ResultIndexName,
		Summary: dir + ResultSummaryName,
		Log:     dir + ResultLogName,
	}
}

// RestoredKeys are where a retrieval's bytes go back to: the VCF and index
// move to a generation named after the retrieval; summary and log, which are
// never archived, stay where they are.
func RestoredKeys(k domain.ResultKeys, retrievalID string) domain.ResultKeys {
	gen := "r" + shortHash(retrievalID)
	out := k
	out.VCF = path.Join(path.Dir(path.Dir(k.VCF)), gen, ResultVCFName)
	if k.Index != "" {
		out.Index = path.Join(path.Dir(path.Dir(k.VCF)), gen, ResultIndexName)
	}
	return out
}

// ArchiveKey is the cold-storage key of a job's results: derived from the
// job and the generation archived, so a retry overwrites its own earlier
// attempt while a later re-archive of restored results never collides with
// an archive copy still waiting to be deleted.
func ArchiveKey(prefix string, j *domain.Job) string {
	return prefix + url.PathEscape(string(j.Owner())) + "/" + url.PathEscape(string(j.ID())) + "/" + shortHash(j.Results().VCF) + ".tar"
}

func shortHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:8])
}

// validID accepts the ids GAS issues (ports.IDs): short, URL and key safe.
func validID(id domain.JobID) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	return !strings.ContainsFunc(string(id), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
	})
}

// JobOfArchiveKey recovers the job from a cold-storage key made by
// ArchiveKey, so a retrieval-completion notification that names only the
// archive can be turned into message.RestoreCompleted(job).
func JobOfArchiveKey(prefix, key string) (domain.JobID, bool) {
	rest, ok := strings.CutPrefix(key, prefix)
	if !ok {
		return "", false
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 3 || !strings.HasSuffix(parts[2], ".tar") {
		return "", false
	}
	id, err := url.PathUnescape(parts[1])
	if err != nil || !validID(domain.JobID(id)) {
		return "", false
	}
	return domain.JobID(id), true
}

package web

import (
	"context"
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/gasproject/gas/adapters/engine/export"
	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/domain/jobs"
	"github.com/gasproject/gas/ports"
)

// export streams the whole result in format f through the one export
// schema (adapters/engine/export), as `gas annotate --format` writes it.
func (s *Server) export(ctx context.Context, w http.ResponseWriter, j *domain.Job, f export.Format) error {
	rc, err := s.d.Objects.Get(ctx, j.Results().VCF)
	if err != nil {
		http.Error(w, "result not available", http.StatusInternalServerError)
		return err
	}
	defer rc.Close()
	w.Header().Set("Content-Type", f.ContentType())
	w.Header().Set("Content-Disposition", attachment(resultBase(j)+f.Ext()))
	w.Header().Set("Cache-Control", "no-store")
	return export.Convert(rc, w, f)
}

// resultBase is the download name of a job's results without extension:
// "sample.vcf.gz" gives "sample.annot".
func resultBase(j *domain.Job) string {
	return strings.TrimSuffix(jobs.AnnotatedName(j.InputName()), ".vcf")
}

// subset streams the filtered, sorted table (variants.tsv, .jsonl) in the
// one export schema, exactly the rows the table selects, or (variants.vcf)
// the result's header and the VCF lines of the selected rows, once each,
// in file order.
func (s *Server) subset(w http.ResponseWriter, r *http.Request, j *domain.Job) {
	format := mux.Vars(r)["format"]
	ef, ferr := export.ParseFormat(format)
	if format != "vcf" && (ferr != nil || format == "json") {
		s.notFound(w, r)
		return
	}
	j, d, err := s.d.Jobs.Download(r.Context(), currentUser(r).ID(), j.ID())
	if err != nil {
		s.jobError(w, r, err)
		return
	}
	if d.State != domain.DownloadAllowed {
		s.notDownloadable(w, r, d)
		return
	}
	if j.Results().Index == "" {
		s.errorPage(w, r, http.StatusNotFound, "No variant index", "This job has no variant index to filter.")
		return
	}
	ix, err := s.openIndex(r.Context(), j.Results().Index)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	f, key, desc, _ := tableQuery(r.URL.Query())
	name := resultBase(j) + ".subset." + format
	w.Header().Set("Content-Type", ports.MediaType(name))
	w.Header().Set("Content-Disposition", attachment(name))
	w.Header().Set("Cache-Control", "no-store")
	vcf := s.ranger(j.Results().VCF)
	if format == "vcf" {
		err = ix.ExportVCF(r.Context(), vcf, f, w)
	} else {
		err = ix.Export(r.Context(), vcf, f, key, desc, w, ef)
	}
	if err != nil {
		s.log.ErrorContext(r.Context(), "subset export failed", "job", j.ID(), "format", format, "err", err)
	}
}

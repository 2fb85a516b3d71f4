package web

import (
	"context"
	"fmt"
	"io"

	"github.com/gasproject/gas/adapters/engine/export"
)

// EngineExporter converts whole results with the annotation engine's export
// package, so downloads match `gas annotate --format tsv|json` exactly.
type EngineExporter struct{}

// Export streams annotatedVCF to w as "tsv" or "json".
func (EngineExporter) Export(ctx context.Context, format string, annotatedVCF io.Reader, w io.Writer) error {
	switch format {
	case "tsv":
		return export.ToTSV(annotatedVCF, w)
	case "json":
		return export.ToJSON(annotatedVCF, w)
	}
	return fmt.Errorf("export: unknown format %q", format)
}

package vartable

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"slices"
	"sort"

	"github.com/gasproject/gas/adapters/engine/export"
)

// Row is a row with every column of its ANN entry, read back from its VCF
// line.
type Row struct {
	Variant
	ID, Ref, Alt string
	Feature      string // the entry's Feature_ID (transcript)
	Biotype      string
	HGVSc, HGVSp string
	// Fields are the row's export columns (export.Columns), the same the
	// downloads write for it.
	Fields export.Row
	Line   string // the whole VCF line: export.Rows(line, Allele, …) gives all of the allele's rows
}

// ReadRows reads the VCF lines of rows from the result (coalescing nearby
// lines into one range read) and fills in their columns. A line that does
// not hold the row's entry leaves the columns empty.
func ReadRows(ctx context.Context, vcf Ranger, vs []Variant) ([]Row, error) {
	lines, err := readLines(ctx, vcf, vs)
	if err != nil {
		return nil, err
	}
	rows := make([]Row, len(vs))
	for i, v := range vs {
		r := &rows[i]
		r.Variant, r.Line = v, lines[i]
		if export.Entry([]byte(r.Line), v.Allele, v.Entry, &r.Fields) == nil {
			f := &r.Fields
			r.ID, r.Ref, r.Alt, r.Feature, r.Biotype, r.HGVSc, r.HGVSp = f.ID, f.Ref, f.Alt, f.Ann[6], f.Ann[7], f.Ann[9], f.Ann[10]
		}
	}
	return rows, nil
}

// readLines reads the VCF line of each variant.
func readLines(ctx context.Context, vcf Ranger, vs []Variant) ([]string, error) {
	idx := make([]int, len(vs))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return vs[idx[a]].Offset < vs[idx[b]].Offset })
	lines := make([]string, len(vs))
	const gap, maxRun = 16 << 10, 4 << 20
	for i := 0; i < len(idx); {
		start := vs[idx[i]].Offset
		end := start + int64(vs[idx[i]].Length)
		j := i + 1
		for j < len(idx) {
			v := vs[idx[j]]
			if v.Offset-end > gap || v.Offset+int64(v.Length)-start > maxRun {
				break
			}
			end = max(end, v.Offset+int64(v.Length))
			j++
		}
		b, err := readRange(ctx, vcf, start, end-start)
		if err != nil {
			return nil, fmt.Errorf("read variant lines: %w", err)
		}
		for _, k := range idx[i:j] {
			at := vs[k].Offset - start
			lines[k] = string(b[at : at+int64(vs[k].Length)])
		}
		i = j
	}
	return lines, nil
}

// Export writes the selection, in sort order, as TSV or JSON lines in the
// one export schema: one line per row, exactly the rows the table shows,
// with the columns of the whole-result download.
func (ix *Index) Export(ctx context.Context, vcf Ranger, flt Filter, key SortKey, desc bool, w io.Writer, f export.Format) error {
	out := export.NewWriter(w, f)
	err := ix.Each(ctx, flt, key, desc, 2000, func(vs []Variant) error {
		rows, err := ReadRows(ctx, vcf, vs)
		if err != nil {
			return err
		}
		for i := range rows {
			if err := out.Write(&rows[i].Fields); err != nil {
				return err
			}
		}
		return nil
	})
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// ExportVCF writes the result's VCF header and the lines of the selected
// rows, each line once and in file order (whatever the table's sort), so
// the output is a valid VCF other tools can read.
func (ix *Index) ExportVCF(ctx context.Context, vcf Ranger, flt Filter, w io.Writer) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	hdr, err := readRange(ctx, vcf, 0, ix.dict.Header)
	if err != nil {
		return fmt.Errorf("read VCF header: %w", err)
	}
	if _, err := bw.Write(hdr); err != nil {
		return err
	}
	last := int64(-1)
	err = ix.Each(ctx, flt, SortPosition, false, 2000, func(vs []Variant) error {
		vs = slices.DeleteFunc(vs, func(v Variant) bool {
			dup := v.Offset == last
			last = v.Offset
			return dup
		})
		lines, err := readLines(ctx, vcf, vs)
		if err != nil {
			return err
		}
		for _, l := range lines {
			if _, err := bw.WriteString(l + "\n"); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return bw.Flush()
}

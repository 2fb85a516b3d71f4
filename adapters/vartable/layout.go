package vartable

import (
	"fmt"
	"math"
	"slices"
)

// layout maps the table's rows and postings to byte ranges of the file:
// rows are in runs of runRows, each run with its records (and, format
// 4, their block table), bitmap and postings; format 2 is read as one
// run.
type layout struct {
	runRows int64
	runs    []runEntry
	// pieces are, per facet, its postings in table order as byte ranges:
	// a value's rows in one run each (adjacent ones merged).
	pieces map[Facet][]piece
}

// piece is n postings from posting index start, at byte offset at, in a
// run's postings; or, when at < 0, the n ordinals from ord.
type piece struct {
	start, n, at int64
	run          int
	ord          int64
}

// newLayout checks the dictionary's runs against the file (dOff: where
// the dictionary starts) and maps them; format 2 becomes one run.
func newLayout(d *dictionary, dOff int64) (*layout, error) {
	l := &layout{runRows: d.RunRows, runs: d.Runs, pieces: map[Facet][]piece{}}
	if d.Version == 2 {
		l.runRows = max((d.Rows+63)/64*64, 64)
		run := runEntry{Records: headerSize, Bitmap: d.Bitmap}
		for _, f := range d.Facets {
			run.Postings = append(run.Postings, f.Offset)
		}
		if d.Rows > 0 {
			l.runs = []runEntry{run}
		}
		for i := range d.Facets {
			for j := range d.Facets[i].Values {
				v := &d.Facets[i].Values[j]
				v.Runs = [][]int64{{0, v.Count}}
			}
		}
	}
	if err := l.check(d, dOff); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	for i := range d.Facets {
		l.pieces[d.Facets[i].Name] = l.facetPieces(d, i)
	}
	return l, nil
}

// check validates the runs' regions: in order, inside the file, each
// large enough for its rows and postings.
func (l *layout) check(d *dictionary, dOff int64) error {
	if l.runRows <= 0 || l.runRows%64 != 0 || int64(len(l.runs)) != (d.Rows+l.runRows-1)/l.runRows {
		return fmt.Errorf("%d runs of %d rows for %d rows", len(l.runs), l.runRows, d.Rows)
	}
	postings := make([][]int64, len(l.runs)) // per run and facet
	for r := range postings {
		postings[r] = make([]int64, len(d.Facets))
	}
	for i, f := range d.Facets {
		for _, v := range f.Values {
			var sum int64
			last := int64(-1)
			for _, rn := range v.Runs {
				if !l.validRun(d, rn, last) {
					return fmt.Errorf("facet %s value %q: rows in runs %v", f.Name, v.Value, rn)
				}
				last, sum = rn[0], sum+rn[1]
				if len(rn) == 2 {
					postings[rn[0]][i] += rn[1]
				}
			}
			if sum != v.Count {
				return fmt.Errorf("facet %s value %q: %d rows in runs, %d in all", f.Name, v.Value, sum, v.Count)
			}
		}
	}
	end := int64(headerSize)
	for r, run := range l.runs {
		rows := l.rows(d, int64(r))
		if len(run.Postings) != len(d.Facets) || run.Records < end || recordsEnd(d, run, rows) > run.Bitmap {
			return fmt.Errorf("run %d's records", r)
		}
		end = run.Bitmap + (rows+63)/64*8
		for i, at := range run.Postings {
			if at < end {
				return fmt.Errorf("run %d's %s postings overlap", r, d.Facets[i].Name)
			}
			end = at + postings[r][i]*postingSize
		}
		if end > dOff {
			return fmt.Errorf("run %d ends past the dictionary", r)
		}
	}
	return nil
}

// recordsEnd is where the records of a run of rows end: rows of 40
// bytes, or (format 4) the block table after rows of at least 4 bytes
// (past any bitmap when the table cannot be after them).
func recordsEnd(d *dictionary, run runEntry, rows int64) int64 {
	if d.Version < 4 {
		return run.Records + rows*recordSize
	}
	if run.Blocks-run.Records < 4*rows || run.Blocks-run.Records > math.MaxUint32 {
		return math.MaxInt64
	}
	return run.Blocks + 4*((rows+rowBlock-1)/rowBlock+1)
}

// rows is the number of rows of run r.
func (l *layout) rows(d *dictionary, r int64) int64 { return min(l.runRows, d.Rows-r*l.runRows) }

// validRun checks a value's rows in a run, rn (after run last): a run
// there is, some rows, and a range of them inside the run.
func (l *layout) validRun(d *dictionary, rn []int64, last int64) bool {
	if len(rn) < 2 || len(rn) > 3 || rn[0] <= last || rn[0] >= int64(len(l.runs)) || rn[1] <= 0 {
		return false
	}
	from := rn[0] * l.runRows
	return len(rn) == 2 || (rn[2] >= from && rn[2]+rn[1] <= from+l.rows(d, rn[0]))
}

// facetPieces lists facet i's postings in table order: for each value,
// its rows in each run, which sit in that run's postings after the rows
// of the values before it, or are a range of ordinals.
func (l *layout) facetPieces(d *dictionary, i int) []piece {
	inRun := make([]int64, len(l.runs))
	var out []piece
	for _, v := range d.Facets[i].Values {
		start := v.Start
		for _, rn := range v.Runs {
			p := piece{start: start, n: rn[1], at: -1, run: int(rn[0])}
			if len(rn) == 3 {
				p.ord = rn[2]
			} else {
				p.at = l.runs[rn[0]].Postings[i] + inRun[rn[0]]*postingSize
				inRun[rn[0]] += rn[1]
			}
			start += rn[1]
			if k := len(out) - 1; k >= 0 && p.at >= 0 && out[k].run == p.run && out[k].at+out[k].n*postingSize == p.at && out[k].start+out[k].n == p.start {
				out[k].n += p.n
				continue
			}
			out = append(out, p)
		}
	}
	return out
}

// ranges are the byte ranges of postings [start, start+count) of f, in
// order, as pieces. Those of one run are consecutive in its postings
// (the values between the first and the last are whole), so a run's
// share is one range read.
func (l *layout) ranges(f Facet, start, count int64) []piece {
	ps := l.pieces[f]
	i, _ := slices.BinarySearchFunc(ps, start, func(p piece, s int64) int {
		if p.start+p.n <= s {
			return -1
		}
		return 1
	})
	var out []piece
	for end := start + count; start < end && i < len(ps); i++ {
		p := ps[i]
		skip := start - p.start
		n := min(p.n-skip, end-start)
		q := piece{start: start, n: n, at: -1, run: p.run, ord: p.ord + skip}
		if p.at >= 0 {
			q.at = p.at + skip*postingSize
		}
		out = append(out, q)
		start += n
	}
	return out
}

// record is the byte offset of row o's record.
func (l *layout) record(o int64) int64 {
	r := o / l.runRows
	return l.runs[r].Records + (o-r*l.runRows)*recordSize
}

// sameRun reports whether rows a and b are in one run (their records
// one range).
func (l *layout) sameRun(a, b int64) bool { return a/l.runRows == b/l.runRows }

// bitmapRanges are the byte ranges of the bitmap's words [w0, w1), each
// within one run: n words at byte offset at.
func (l *layout) bitmapRanges(w0, w1 int64) []piece {
	per := l.runRows / 64
	var out []piece
	for w := w0; w < w1; {
		r := w / per
		end := min(w1, (r+1)*per)
		out = append(out, piece{start: w, n: end - w, at: l.runs[r].Bitmap + (w-r*per)*8, run: int(r)})
		w = end
	}
	return out
}

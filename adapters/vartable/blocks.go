package vartable

import (
	"context"
	"encoding/binary"
	"fmt"
)

// blockRecords reads the records of the given ordinals (ascending) from a
// format 4 index: per run, the blocks that hold them, nearby blocks in
// one range read, each block decoded once.
func (ix *Index) blockRecords(ctx context.Context, sorted []uint32) (map[uint32]record, error) {
	got := make(map[uint32]record, len(sorted))
	var rows []record
	for i := 0; i < len(sorted); {
		run, k0 := ix.blockOf(sorted[i])
		j, k1 := i+1, k0
		for ; j < len(sorted); j++ {
			r, k := ix.blockOf(sorted[j])
			if r != run || k-k1 > 2 { // two blocks of unwanted rows beat another request
				break
			}
			k1 = k
		}
		tab, err := ix.blockTable(ctx, run)
		if err != nil {
			return nil, err
		}
		b, err := readRange(ctx, ix.src, ix.lay.runs[run].Records+int64(tab[k0]), int64(tab[k1+1]-tab[k0]))
		if err != nil {
			return nil, fmt.Errorf("read variant records: %w", err)
		}
		decoded := int64(-1)
		for _, o := range sorted[i:j] {
			_, k := ix.blockOf(o)
			first := run*ix.lay.runRows + k*rowBlock
			if k != decoded {
				n := min(rowBlock, ix.lay.rows(&ix.dict, run)-k*rowBlock)
				if rows, err = decodeBlock(b[tab[k]-tab[k0]:tab[k+1]-tab[k0]], int(n), rows[:0]); err != nil {
					return nil, fmt.Errorf("%w: run %d, block %d: %v", ErrCorrupt, run, k, err)
				}
				decoded = k
			}
			got[o] = rows[int64(o)-first]
		}
		i = j
	}
	return got, nil
}

// blockOf is the run of row o and its block in the run.
func (ix *Index) blockOf(o uint32) (run, block int64) {
	run = int64(o) / ix.lay.runRows
	return run, (int64(o) - run*ix.lay.runRows) / rowBlock
}

// blockTable reads (once) and checks run's block table: each block
// starts after the one before, the first at 0, and they end where the
// table starts.
func (ix *Index) blockTable(ctx context.Context, run int64) ([]uint32, error) {
	ix.mu.Lock()
	tab, ok := ix.tables[run]
	ix.mu.Unlock()
	if ok {
		return tab, nil
	}
	re := ix.lay.runs[run]
	n := (ix.lay.rows(&ix.dict, run)+rowBlock-1)/rowBlock + 1
	b, err := readRange(ctx, ix.src, re.Blocks, n*4)
	if err != nil {
		return nil, fmt.Errorf("read block table: %w", err)
	}
	tab = make([]uint32, n)
	for i := range tab {
		tab[i] = binary.LittleEndian.Uint32(b[4*i:])
		if i > 0 && tab[i] <= tab[i-1] || i == 0 && tab[i] != 0 {
			return nil, fmt.Errorf("%w: run %d's block table", ErrCorrupt, run)
		}
	}
	if int64(tab[n-1]) != re.Blocks-re.Records {
		return nil, fmt.Errorf("%w: run %d's blocks end at %d, its table at %d", ErrCorrupt, run, tab[n-1], re.Blocks-re.Records)
	}
	ix.mu.Lock()
	if ix.tables == nil {
		ix.tables = map[int64][]uint32{}
	}
	ix.tables[run] = tab
	ix.mu.Unlock()
	return tab, nil
}

// Package vartable is the variant table index: a compact binary file the
// annotator runner writes next to an annotated VCF while the VCF streams, so
// the detail page can page, filter (impact, consequence, gene, known/novel)
// and sort a result of millions of variants on the server while reading only
// the byte ranges it needs — a few kilobytes of the index and the page's own
// VCF lines — instead of loading the whole result.
//
// The package is pure: it sees storage only through the Ranger function, so
// the same code serves object storage, files and tests.
//
// File layout (format 4, little-endian), written strictly front to back
// so it can be produced through a pipe, a run of rows at a time (runs of
// BuildOptions.ChunkRows rows, the last shorter):
//
//	"GASVIX04"                       8-byte magic
//	per run:
//	  records                        its rows in VCF order, one per row (one ANN entry of one
//	                                 ALT allele): line offset and length, position,
//	                                 chromosome, allele and ANN index, impact, flags, term
//	                                 and warning bits, gene, AF; in blocks of 64 rows, each
//	                                 row in varints as its difference from the row before
//	                                 in the block (rowcode.go): about 12 bytes a row
//	  block table                    where each block starts in the records (uint32), then
//	                                 where they end: a row is read with its block alone
//	  allele bitmap                  one bit per row, set on each allele's first row
//	  postings, one region per facet its rows' ordinals (uint32) grouped by value in the
//	                                 facet's order: impact, consequence, gene, known,
//	                                 transcript, warning, consequence order, AF; a value
//	                                 whose rows in the run are consecutive ordinals, 16 or
//	                                 more or all the run's, lists none (the dictionary gives
//	                                 the first: a gene's rows mostly follow one another, and
//	                                 without known variants every row is novel, of unknown AF)
//	dictionary                       JSON: chromosome, consequence, warning and gene
//	                                 names, allele blocks, where each run's regions are,
//	                                 and per facet value its rows in table order and in
//	                                 each run (with the first, when consecutive)
//	footer                           dictionary offset (uint64), length (uint64), "GASVIXE4"
//
// A facet value's posting list in table order is its rows of each run in
// turn (every run's ordinals follow the previous run's), so a filter reads
// one range per run, and a single-valued facet's postings read value by
// value are the table sorted by that facet (a sort). A row appears once
// per term, tag or warning it carries in the multi-valued facets
// (consequence, transcript, warning). Writing run by run lets the index
// stream with the VCF: nothing is written twice, and when the VCF ends
// only the last run's postings are left to sort and write. Format 3
// (fixed 40-byte records, no block table) and format 2 (format 3 in one
// run, offsets in other dictionary fields) are still read.
package vartable

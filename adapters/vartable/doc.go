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
// File layout (format 2, little-endian), written strictly front to back
// so it can be produced through a pipe:
//
//	"GASVIX02"                       8-byte magic
//	records                          N fixed-size 40-byte records in VCF order, one per row
//	                                 (one ANN entry of one ALT allele): line offset and
//	                                 length, position, chromosome, allele and ANN index,
//	                                 impact, flags, term and warning bits, gene, AF
//	allele bitmap                    one bit per row, set on each allele's first row
//	postings, one region per facet   N or more uint32 ordinals each: impact, consequence,
//	                                 gene, known, transcript, warning, consequence order, AF
//	dictionary                       JSON: chromosome, consequence, warning and gene
//	                                 names, allele blocks, and per facet where each
//	                                 value's postings start
//	footer                           dictionary offset (uint64), length (uint64), "GASVIXE2"
//
// Each facet's postings list the rows of one value contiguously and in VCF
// order, so one facet value's posting list is a single byte range (a
// filter), and a single-valued facet's region is the table sorted by that
// facet (a sort). A row appears once per term, tag or warning it carries
// in the multi-valued facets (consequence, transcript, warning).
package vartable

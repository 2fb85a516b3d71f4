// Package variants is the variant table index: a compact binary file the
// annotator runner writes next to an annotated VCF while the VCF streams, so
// the detail page can page, filter (impact, consequence, gene, known/novel)
// and sort a result of millions of variants on the server while reading only
// the byte ranges it needs — a few kilobytes of the index and the page's own
// VCF lines — instead of loading the whole result.
//
// The package is pure: it sees storage only through the Ranger function, so
// the same code serves object storage, files and tests.
//
// File layout (little-endian), written strictly front to back so it can be
// produced through a pipe:
//
//	"GASVIX01"                       8-byte magic
//	records                          N fixed-size records in VCF order (one per ALT allele)
//	postings impact                  N uint32 ordinals: the records sorted by impact (most severe first)
//	postings consequence             N uint32 ordinals sorted by consequence name
//	postings gene                    N uint32 ordinals sorted by gene name
//	postings known                   N uint32 ordinals: novel first, then known
//	dictionary                       JSON: chromosome, consequence and gene names, facet values
//	footer                           dictionary offset (uint64), length (uint64), "GASVIXE1"
//
// Each facet's postings are a permutation of all records in which the
// records of one value are contiguous and in VCF order, so one facet value's
// posting list is a single byte range (a filter), and the whole region is
// the table sorted by that facet (a sort).
package vartable

// Package memory implements every GAS port in process memory (and, for
// large objects, on a local disk), so local mode runs the whole service on
// one machine and tests exercise the real protocols without AWS. The
// adapters keep the semantics the AWS ones have — conditional writes,
// queue delays, visibility timeouts, redelivery, dead-letter queues,
// presigned size-limited uploads and slow cold-storage retrievals — because
// local mode must be correct, not approximate. Every type is safe for
// concurrent use.
package memory

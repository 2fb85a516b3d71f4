package memory

// storeShards is how many independently locked parts the job store, its
// user index and the in-memory blob store are split into: a few times the
// cores of a large machine, so concurrent requests for different jobs,
// users or objects rarely wait for one lock, at the cost of a few empty
// maps.
const storeShards = 64

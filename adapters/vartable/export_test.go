package vartable

// CPUTime is cpuTime for the package's external benchmarks.
var CPUTime = cpuTime

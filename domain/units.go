package domain

import "strconv"

// Thousands renders n with a comma between each group of three digits
// ("12,345"), the way counts of variants and bytes are written for people.
func Thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	start := 0
	if n < 0 {
		start = 1
	}
	for i := len(s) - 3; i > start; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

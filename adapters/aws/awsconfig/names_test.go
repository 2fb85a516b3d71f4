package awsconfig

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// TestNameChecksMatchPatterns checks the hand-written name checks against the
// AWS naming patterns they replace, on edge cases and random strings.
func TestNameChecksMatchPatterns(t *testing.T) {
	checks := []struct {
		name  string
		check func(string) bool
		re    *regexp.Regexp
	}{
		{"bucket", bucketName, regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)},
		{"table", tableName, regexp.MustCompile(`^[A-Za-z0-9_.-]{3,255}$`)},
		{"queue", queueName, regexp.MustCompile(`^[A-Za-z0-9_-]{1,76}$`)},
		{"topic", topicName, regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)},
	}
	cases := []string{"", "a", "ab", "abc", "a-b", "-ab", "ab-", "a.b", "A_b", "gas-results", "x\n",
		strings.Repeat("a", 63), strings.Repeat("a", 64), strings.Repeat("a", 76), strings.Repeat("a", 77),
		strings.Repeat("a", 255), strings.Repeat("a", 256), strings.Repeat("a", 257), "ab c", "ab/c", "é9z"}
	alphabet := "abzAZ09._-/ \né"
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 5000; i++ {
		n := rng.IntN(80)
		if i%50 == 0 {
			n = 240 + rng.IntN(30)
		}
		var b strings.Builder
		for j := 0; j < n; j++ {
			b.WriteByte(alphabet[rng.IntN(len(alphabet))])
		}
		cases = append(cases, b.String())
	}
	for _, c := range checks {
		for _, s := range cases {
			if got, want := c.check(s), c.re.MatchString(s); got != want {
				t.Errorf("%s name %q: check says %v, pattern says %v", c.name, s, got, want)
			}
		}
	}
}

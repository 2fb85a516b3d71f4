package lineio

import (
	"errors"
	"io"
	"strings"
	"testing"
)

func TestReader(t *testing.T) {
	r := NewReader(strings.NewReader("\xEF\xBB\xBFone\r\ntwo\n\nthree"), 10)
	var got []string
	for {
		l, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(l))
	}
	if strings.Join(got, "|") != "one|two||three" || r.Line() != 4 {
		t.Fatalf("%q line %d", got, r.Line())
	}
	r = NewReader(strings.NewReader("ok\n"+strings.Repeat("x", 100)+"\n"), 20)
	r.Next()
	_, err := r.Next()
	var le *LineError
	if !errors.As(err, &le) || le.Line != 2 || !errors.Is(err, ErrLineTooLong) {
		t.Fatalf("long line: %v", err)
	}
}

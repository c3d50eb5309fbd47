package training

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkReadCompletions reads a 100,000-row LMS export.
func BenchmarkReadCompletions(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("User ID,Email Address,Department,Completion Status,Completion Date,Score\n")
	for i := range 100_000 {
		fmt.Fprintf(&sb, "%d,person%d@city.example,Operations,Completed,2026-03-02 14:10:00,%d\n", i, i, i%101)
	}
	src := sb.String()
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		got, err := ReadCompletions("b.csv", strings.NewReader(src), opts())
		if err != nil || len(got.Completions) != 100_000 {
			b.Fatal(err)
		}
	}
}

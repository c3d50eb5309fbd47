package citymodel

import (
	"cmp"
	"container/heap"
	"fmt"
	"slices"
	"strings"

	"bulwark"
)

// pos locates a value: a file (index into problems.files), line and column.
type pos struct {
	file      int32
	line, col int32
}

// located is a problem before its file name is attached.
type located struct {
	at    pos
	field string
	msg   string
}

// problems collects every problem of an import, keeping the first
// MaxProblems in input order and counting the rest.
type problems struct {
	files []string
	list  []located
	total int
}

func (p *problems) add(at pos, field, format string, args ...any) {
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	p.push(located{at, field, msg})
}

// push keeps the MaxProblems first problems in input order (file, line,
// column), whatever order they are found in: p.list is a max-heap while
// full, so the last of the kept ones is dropped for an earlier one. Keeping
// the earliest (not the first found) makes the report the same whether
// documents are decoded one by one or in parallel.
func (p *problems) push(l located) {
	p.total++
	if len(p.list) < MaxProblems {
		p.list = append(p.list, l)
		if len(p.list) == MaxProblems {
			heap.Init((*problemHeap)(&p.list))
		}
		return
	}
	if compareLocated(l, p.list[0]) < 0 {
		p.list[0] = l
		heap.Fix((*problemHeap)(&p.list), 0)
	}
}

func compareLocated(a, b located) int {
	return cmp.Or(cmp.Compare(a.at.file, b.at.file), cmp.Compare(a.at.line, b.at.line), cmp.Compare(a.at.col, b.at.col),
		strings.Compare(a.field, b.field), strings.Compare(a.msg, b.msg))
}

// problemHeap is a max-heap of problems by compareLocated.
type problemHeap []located

func (h problemHeap) Len() int           { return len(h) }
func (h problemHeap) Less(i, j int) bool { return compareLocated(h[i], h[j]) > 0 }
func (h problemHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *problemHeap) Push(x any)        { *h = append(*h, x.(located)) }
func (h *problemHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// merge adds the problems of q (found in a part of the input read apart)
// as if they had been added to p one by one.
func (p *problems) merge(q *problems) {
	for _, l := range q.list {
		p.push(l)
	}
	p.total += q.total - len(q.list)
}

func (p *problems) where(at pos) string {
	if int(at.file) >= len(p.files) {
		return fmt.Sprintf("line %d", at.line)
	}
	return fmt.Sprintf("%s:%d", p.files[at.file], at.line)
}

// err returns nil when there is no problem, else one *bulwark.Error listing
// them in file and line order.
func (p *problems) err() error {
	if p.total == 0 {
		return nil
	}
	list := slices.Clone(p.list)
	slices.SortFunc(list, compareLocated)
	details := make([]bulwark.Problem, 0, len(list)+1)
	for _, l := range list {
		pr := bulwark.Problem{Line: int(l.at.line), Column: int(l.at.col), Field: l.field, Message: l.msg}
		if int(l.at.file) < len(p.files) {
			pr.File = p.files[l.at.file]
		}
		details = append(details, pr)
	}
	if p.total > len(list) {
		details = append(details, bulwark.Problem{Message: fmt.Sprintf("and %d more problems", p.total-len(list))})
	}
	noun := "problems"
	if p.total == 1 {
		noun = "problem"
	}
	return &bulwark.Error{Code: bulwark.EINVALID, Message: fmt.Sprintf("city model has %d %s", p.total, noun), Details: details}
}

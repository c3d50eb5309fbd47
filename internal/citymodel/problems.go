package citymodel

import (
	"cmp"
	"fmt"
	"slices"

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
// MaxProblems and counting the rest.
type problems struct {
	files []string
	list  []located
	total int
}

func (p *problems) add(at pos, field, format string, args ...any) {
	p.total++
	if len(p.list) < MaxProblems {
		msg := format
		if len(args) > 0 {
			msg = fmt.Sprintf(format, args...)
		}
		p.list = append(p.list, located{at, field, msg})
	}
}

// merge adds the problems of q (found in a part of the input read apart)
// as if they had been added to p one by one.
func (p *problems) merge(q *problems) {
	p.total += q.total
	n := min(len(q.list), MaxProblems-len(p.list))
	if n > 0 {
		p.list = append(p.list, q.list[:n]...)
	}
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
	slices.SortStableFunc(list, func(a, b located) int {
		return cmp.Or(cmp.Compare(a.at.file, b.at.file), cmp.Compare(a.at.line, b.at.line), cmp.Compare(a.at.col, b.at.col))
	})
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

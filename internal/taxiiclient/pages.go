package taxiiclient

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"time"

	"bulwark"
)

// PagingError says why Pages stopped before the server said "no more".
type PagingError struct {
	// Limit is true when Options.MaxPages pages were read: the collection
	// may simply be large, and reading can resume from the last page's
	// Following filter. Otherwise the server's paging is broken (a
	// repeated next, no way forward).
	Limit bool
	Pages int
	msg   string
}

func (e *PagingError) Error() string { return e.msg }

// Unwrap gives the error a bulwark code: EUNAVAILABLE for broken paging
// (the server is at fault), ETOOLARGE for the page limit.
func (e *PagingError) Unwrap() error {
	if e.Limit {
		return &bulwark.Error{Code: bulwark.ETOOLARGE, Message: e.msg}
	}
	return &bulwark.Error{Code: bulwark.EUNAVAILABLE, Message: e.msg}
}

// IsPageLimit reports whether err is Pages stopping at Options.MaxPages.
func IsPageLimit(err error) bool {
	var pe *PagingError
	return errors.As(err, &pe) && pe.Limit
}

// maxEmptyPages stops a server that keeps answering "more" with nothing.
const maxEmptyPages = 100

// Page is one page that Pages yields, with where reading goes on from.
type Page struct {
	*ObjectsPage
	// Following is the query of the next page, nil after the last one. A
	// reader that stops (or crashes) after this page resumes with it.
	Following *Filter
}

// Pages reads a collection's objects page by page, starting with f, and
// yields each page (or an error, after which it stops). It follows next;
// from a server that answers "more" without next it moves added_after to
// just before the page's X-TAXII-Date-Added-Last, so that objects sharing
// that date_added beyond the page are read again rather than skipped (a
// reader must accept repeats). It stops with a *PagingError when next
// repeats, when "more" comes without next and without a date that moves
// forward, after maxEmptyPages empty pages in a row, and after
// Options.MaxPages pages.
func (r *Root) Pages(ctx context.Context, col string, f Filter) iter.Seq2[*Page, error] {
	return func(yield func(*Page, error) bool) {
		seen := map[string]bool{}
		empty := 0
		for n := 1; ; n++ {
			if n > r.c.opt.MaxPages {
				yield(nil, &PagingError{Limit: true, Pages: n - 1, msg: fmt.Sprintf("stopped after %d pages; the rest is read next time", n-1)})
				return
			}
			p, err := r.Objects(ctx, col, f)
			if err != nil {
				yield(nil, err)
				return
			}
			page := &Page{ObjectsPage: p}
			if len(p.Objects)+len(p.Rejected) == 0 {
				empty++
			} else {
				empty = 0
			}
			var stop error
			switch {
			case !p.More:
			case empty >= maxEmptyPages:
				stop = &PagingError{Pages: n, msg: fmt.Sprintf("the TAXII server answered %d empty pages in a row that each said there was more; stopped", empty)}
			case p.Next != "":
				if seen[p.Next] {
					stop = &PagingError{Pages: n, msg: fmt.Sprintf("the TAXII server repeated a next value after %d pages (a paging loop); stopped", n)}
					break
				}
				seen[p.Next] = true
				nf := f
				nf.Next = p.Next
				page.Following = &nf
			case p.DateAddedLast.IsZero():
				stop = &PagingError{Pages: n, msg: "the TAXII server said there was more but gave neither next nor X-TAXII-Date-Added-Last; stopped"}
			default:
				nf := f
				nf.Next = ""
				nf.AddedAfter = p.DateAddedLast.Add(-time.Microsecond)
				if !nf.AddedAfter.After(f.AddedAfter) {
					stop = &PagingError{Pages: n, msg: fmt.Sprintf("the TAXII server pages without next and more objects share date_added %s than fit one page; raise the page size", bulwark.FormatTAXIITime(p.DateAddedLast))}
					break
				}
				page.Following = &nf
			}
			if !yield(page, nil) {
				return
			}
			if stop != nil {
				yield(nil, stop)
				return
			}
			if page.Following == nil {
				return
			}
			f = *page.Following
		}
	}
}

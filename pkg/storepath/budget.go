package storepath

import (
	"fmt"
	"io"
	"sync/atomic"
)

// A Budget bounds the work of Leftovers and Inside: the bytes they
// decompress, and a fixed cost for each archive member, ELF section and
// nested stream they look at. Calls that share a Budget share its bound,
// so that a whole checkpoint's scan costs at most what its Budget allows,
// however many files it holds. A Budget is safe for concurrent use.
type Budget struct {
	limit int64
	left  atomic.Int64
}

// NewBudget returns a Budget of limit bytes.
func NewBudget(limit int64) *Budget {
	b := &Budget{limit: limit}
	b.left.Store(limit)
	return b
}

// ScanBound is the Budget that Leftovers gives a file of size bytes when
// the Rewriter has none (see WithBudget), and the one a caller should give
// data of that total size: 256 MiB, plus 16 times the size. Real
// compressed data in a package's outputs (man pages, jars, wheels, debug
// sections) expands 2 to 10 times; a compression bomb expands thousands of
// times and is stopped after a second or two of decoding.
func ScanBound(size int64) int64 {
	const floor, ratio = 256 << 20, 16
	if size > (1<<62)/ratio {
		return 1 << 62
	}
	return floor + ratio*size
}

// memberCost is what each archive member, section or stream costs on top
// of its bytes: an archive of many empty members is bounded too.
const memberCost = 512

// take spends n bytes; it fails once the budget is spent.
func (b *Budget) take(n int64) error {
	if b.left.Add(-n) < 0 {
		return &BudgetError{Limit: b.limit}
	}
	return nil
}

// BudgetError reports that Leftovers or Inside stopped because its Budget
// was spent: the compressed data expands further than real data does, and
// what is left of it was not checked.
type BudgetError struct {
	// Limit is the Budget's size in bytes.
	Limit int64
}

func (e *BudgetError) Error() string {
	return fmt.Sprintf("the compressed data expands past the scan's bound of %d bytes (256 MiB plus 16 times the size of what is checked): the rest is not checked", e.Limit)
}

// WithBudget returns a Rewriter like r whose Leftovers and Inside spend b
// (nil: each call gets ScanBound of its input's size).
func (r *Rewriter) WithBudget(b *Budget) *Rewriter {
	c := *r
	c.budget = b
	return &c
}

// spent reads from r and charges what it yields to a Budget.
type spent struct {
	r io.Reader
	b *Budget
}

func (s spent) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if berr := s.b.take(int64(n)); berr != nil {
		return n, berr
	}
	return n, err
}

package mm

// Range is a half-open physical address range [Start, End). A Range with
// End <= Start is empty.
type Range struct{ Start, End uint64 }

// Empty reports whether r contains no address.
func (r Range) Empty() bool { return r.End <= r.Start }

// Size returns the number of bytes in r (0 when empty).
func (r Range) Size() uint64 {
	if r.End <= r.Start {
		return 0
	}
	return r.End - r.Start
}

// Subtract computes the parts of r not covered by any range in cut, in
// ascending order and with no two pieces touching. cut may be unsorted,
// overlapping or contain empty ranges. The pieces are written to out and the
// number of pieces is returned; if that number exceeds len(out), only the
// first len(out) pieces were written (like snprintf), so callers detect
// truncation by comparing the result with len(out). Subtract is pure, never
// allocates and runs in O(len(cut)²) time, meant for boot-time planning.
func Subtract(r Range, cut []Range, out []Range) int {
	count := 0
	cur := r.Start
	for cur < r.End {
		// Skip past every cut covering cur.
		for moved := true; moved && cur < r.End; {
			moved = false
			for _, c := range cut {
				if c.Start <= cur && cur < c.End {
					cur = c.End
					moved = true
				}
			}
		}
		if cur >= r.End {
			break
		}
		// cur is uncovered; the piece runs to the nearest cut start above.
		next := r.End
		for _, c := range cut {
			if c.Start > cur && c.Start < next && c.End > c.Start {
				next = c.Start
			}
		}
		if count < len(out) {
			out[count] = Range{cur, next}
		}
		count++
		cur = next
	}
	return count
}

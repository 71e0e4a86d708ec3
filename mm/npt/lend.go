package npt

import (
	"fmt"
	"sort"

	"gozen/mm/pgtable"
)

// Lend puts the caller's machine frame hpa at guest frame gfn in place of
// the domain's own RAM frame there, which goes back to the pool as it is.
// hv's domain builder lends it the pages of a boot module where it would
// otherwise copy them (a kernel segment, the ramdisk), so building the
// domain writes no copy and the frames it would have copied into stay
// untouched. gfn must be the domain's populated RAM below Size: not a hole,
// not an overlay, not identity RAM, not lent already.
//
// The frame stays the caller's: RemoveRAM and Release unmap it without
// giving it to the pool. The caller makes sure that nothing else uses it
// while the domain may (the domain writes it), and that the domain's frame
// was not written yet (it goes back to the pool without being cleared).
func (m *Memory) Lend(gfn, hpa uint64) error {
	m.gen++
	if hpa%page != 0 {
		return fmt.Errorf("npt: cannot lend frame %#x at gfn %#x", hpa, gfn)
	}
	_, over := m.overlays[gfn]
	if _, lent := m.lentAt(gfn); gfn >= m.size/page || m.holes[gfn] || over || lent || m.inIdent(gfn) {
		return fmt.Errorf("npt: gfn %#x is not populated RAM of the domain's own", gfn)
	}
	gpa := gfn * page
	if _, _, size, ok := m.pt.Lookup(gpa); ok && size == pgtable.Size2M {
		if err := m.split(gpa &^ (bigPage - 1)); err != nil {
			return err
		}
	}
	old, _, ok := m.pt.Unmap(gpa)
	if !ok {
		return fmt.Errorf("npt: gfn %#x is not mapped", gfn)
	}
	old &^= page - 1
	if err := m.pt.Map(gpa, hpa, pgtable.Size4K, m.leaf); err != nil {
		m.pt.Map(gpa, old, pgtable.Size4K, m.leaf)
		return fmt.Errorf("npt: mapping gfn %#x: %w", gfn, tableErr(err))
	}
	freeZeroed(m.frames, old, 1) // never written (see above): it goes back clean
	m.addLent(chunk{gpa, hpa, page})
	return nil
}

// Lent is how many of the domain's RAM frames are lent ones (Lend).
func (m *Memory) Lent() int {
	n := 0
	for _, c := range m.lent {
		n += int(c.size / page)
	}
	return n
}

// lentAt finds the run of lent frames holding gfn: its index in m.lent.
func (m *Memory) lentAt(gfn uint64) (int, bool) {
	gpa := gfn * page
	i := sort.Search(len(m.lent), func(i int) bool { return m.lent[i].gpa+m.lent[i].size > gpa })
	return i, i < len(m.lent) && m.lent[i].gpa <= gpa
}

// addLent records one lent page, extending the run before it when both
// addresses follow on (the usual case: a module lent page by page upwards).
func (m *Memory) addLent(c chunk) {
	i := sort.Search(len(m.lent), func(i int) bool { return m.lent[i].gpa > c.gpa })
	if i > 0 {
		p := &m.lent[i-1]
		if p.gpa+p.size == c.gpa && p.hpa+p.size == c.hpa {
			p.size += c.size
			return
		}
	}
	m.lent = append(m.lent, chunk{})
	copy(m.lent[i+1:], m.lent[i:])
	m.lent[i] = c
}

// unlend forgets the lent frame at gfn, in run i.
func (m *Memory) unlend(i int, gfn uint64) {
	c := m.lent[i]
	gpa := gfn * page
	before := chunk{c.gpa, c.hpa, gpa - c.gpa}
	after := chunk{gpa + page, c.hpa + (gpa - c.gpa) + page, c.gpa + c.size - gpa - page}
	var keep []chunk
	if before.size > 0 {
		keep = append(keep, before)
	}
	if after.size > 0 {
		keep = append(keep, after)
	}
	m.lent = append(m.lent[:i], append(keep, m.lent[i+1:]...)...)
}

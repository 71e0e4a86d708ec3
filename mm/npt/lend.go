package npt

import (
	"fmt"

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
	_, lent := m.lent[gfn]
	if gfn >= m.size/page || m.holes[gfn] || over || lent || m.inIdent(gfn) {
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
	m.frames.Free(old, 1)
	if m.holes == nil {
		m.holes = map[uint64]bool{}
	}
	if m.lent == nil {
		m.lent = map[uint64]uint64{}
	}
	// The gfn's populated frame is gone (a hole, as for Release's sake);
	// the lent frame is RAM in its place.
	m.holes[gfn] = true
	m.lent[gfn] = hpa
	return nil
}

// Lent is how many of the domain's RAM frames are lent ones (Lend).
func (m *Memory) Lent() int { return len(m.lent) }

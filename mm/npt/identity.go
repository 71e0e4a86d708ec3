package npt

import (
	"fmt"
	"sort"

	"gozen/mm/pgtable"
)

// Identity mappings: a privileged domain (dom0) that drives the machine's
// devices sees its RAM and the devices' MMIO at their machine addresses, so
// the bus addresses its drivers give devices are right without an IOMMU
// (../shared/docs/dom0-toolstack.md §A.5; Xen on Arm's direct-mapped dom0,
// ACRN's service VM).

// AddIdentityRAM makes machine memory [pa, pa+n) the domain's RAM at the
// same guest-physical addresses, with 2 MiB pages where alignment allows.
// The frames are the caller's: they are not taken from the Frames pool and
// Release does not give them to it. Ballooning keeps them in place:
// RemoveRAM leaves a hole without freeing the frame, and AddRAM there maps
// the same frame again (zeroed). pa and n must be page aligned, the range
// must not overlap other RAM or mappings, and must lie below the limit. On
// error nothing is mapped.
func (m *Memory) AddIdentityRAM(pa, n uint64) error {
	m.gen++
	if pa%page != 0 || n%page != 0 || n == 0 || pa+n < pa || m.beyond(pa/page, n/page) {
		return fmt.Errorf("npt: bad identity RAM range [%#x, %#x)", pa, pa+n)
	}
	if m.size > pa {
		return fmt.Errorf("npt: identity RAM at %#x overlaps populated RAM", pa)
	}
	for _, c := range m.ident {
		if pa < c.gpa+c.size && c.gpa < pa+n {
			return fmt.Errorf("npt: identity RAM [%#x, %#x) overlaps [%#x, %#x)", pa, pa+n, c.gpa, c.gpa+c.size)
		}
	}
	if err := m.mapRange(pa, n, m.leaf); err != nil {
		return err
	}
	m.ident = append(m.ident, chunk{pa, pa, n})
	sort.Slice(m.ident, func(i, j int) bool { return m.ident[i].gpa < m.ident[j].gpa })
	m.identPages += n / page
	m.big += int(bigCount(pa, n))
	return nil
}

// mapRange maps [pa, pa+n) at the same addresses with leaf flags, 2 MiB
// pages where aligned. On error it unmaps what it mapped.
func (m *Memory) mapRange(pa, n, flags uint64) error {
	for a := pa; a < pa+n; {
		size := uint64(page)
		ps := uint64(pgtable.Size4K)
		if a%bigPage == 0 && pa+n-a >= bigPage {
			size, ps = bigPage, pgtable.Size2M
		}
		if err := m.pt.Map(a, a, ps, flags); err != nil {
			m.pt.UnmapRange(pa, a, nil)
			return fmt.Errorf("npt: identity mapping %#x: %w", a, tableErr(err))
		}
		a += size
	}
	return nil
}

// bigCount is how many 2 MiB pages mapRange uses for [pa, pa+n).
func bigCount(pa, n uint64) uint64 {
	first := (pa + bigPage - 1) &^ (bigPage - 1)
	if first >= pa+n {
		return 0
	}
	return (pa + n - first) / bigPage
}

// IdentityRAM lists the ranges AddIdentityRAM added, in address order
// (gpa == machine address), ballooned holes included.
func (m *Memory) IdentityRAM() [][2]uint64 {
	out := make([][2]uint64, len(m.ident))
	for i, c := range m.ident {
		out[i] = [2]uint64{c.gpa, c.gpa + c.size}
	}
	return out
}

// inIdent reports whether gfn lies in identity RAM.
func (m *Memory) inIdent(gfn uint64) bool {
	if len(m.ident) == 0 {
		return false
	}
	a := gfn * page
	i := sort.Search(len(m.ident), func(i int) bool { return m.ident[i].gpa+m.ident[i].size > a })
	return i < len(m.ident) && m.ident[i].gpa <= a
}

// MapIdentity maps machine memory [pa, pa+n) that is not RAM (device MMIO,
// firmware) at the same guest-physical addresses, with 2 MiB pages where
// aligned: Xen's p2m_mmio_direct, which a hardware domain gets for what it
// may touch. Lookup reports it as Direct; hv never copies to or from it
// (Translate fails). The leaves are the RAM leaves of the format except on
// EPT, where they are uncacheable with the guest's PAT honoured
// (MMIOLeaf). Pages already mapped are an error; on error nothing is
// mapped.
func (m *Memory) MapIdentity(pa, n uint64) error {
	m.gen++
	if pa%page != 0 || n%page != 0 || n == 0 || pa+n < pa || m.beyond(pa/page, n/page) {
		return fmt.Errorf("npt: bad identity MMIO range [%#x, %#x)", pa, pa+n)
	}
	for a := pa; a < pa+n; a += page {
		if m.IsRAM(a / page) {
			return fmt.Errorf("npt: identity MMIO at %#x over RAM", a)
		}
	}
	if err := m.mapRange(pa, n, m.format.MMIOLeaf()); err != nil {
		return err
	}
	m.direct += n / page
	return nil
}

// DirectPages is how many pages MapIdentity has mapped.
func (m *Memory) DirectPages() uint64 { return m.direct }

// MMIOLeaf returns the leaf flags for device memory mapped at its own
// address. NPT leaves carry no memory type of their own: the guest's PAT
// and MTRRs (combined with the host's) decide, as for RAM, so they are
// Leaf's. EPT leaves say uncacheable (memory type 0) and do not ignore the
// guest's PAT, as Xen's epte_get_entry_emt does for direct MMIO.
func (f Format) MMIOLeaf() uint64 {
	if f == EPT {
		return EPTRead | EPTWrite | EPTExec
	}
	l, _ := f.Leaf(false)
	return l
}

package x86

import "testing"

// pageMem is fastMem with the PageMem extension; walks counts the
// paging-structure entries read through it, gen is its generation.
type pageMem struct {
	fastMem
	walks int
	gen   uint64
}

func (m *pageMem) ReadPhys64(gpa uint64) (uint64, error) {
	m.walks++
	return m.fastMem.ReadPhys64(gpa)
}

func (m *pageMem) ReadPhys32(gpa uint64) (uint32, error) {
	m.walks++
	return m.fastMem.ReadPhys32(gpa)
}

func (m *pageMem) HostPage(gpa uint64) (*[4096]byte, bool) {
	p := m.pages[gpa&^0xfff]
	return p, p != nil
}

func (m *pageMem) Generation() uint64 { return m.gen }

// FetchCache answers what FetchInsn answers, walks only when something the
// translation depends on changed, and sees the guest's own page-table
// writes, a changed guest-physical map and changed paging state.
func TestFetchCache(t *testing.T) {
	b := newBuilder()
	pml4 := b.alloc()
	walked := b.long(pml4, 4, 0x1000, 0x0050_0000, 1, all, all)
	b.long(pml4, 4, 0x0040_0000, 0x0060_0000, 2, all, all) // a 2 MiB page
	mem := &pageMem{fastMem: fastMem{b.mem}}
	p1, p2 := mem.page(0x0050_0000), mem.page(0x0060_0000)
	for i := range 4096 {
		p1[i], p2[i] = byte(i), byte(i)+0x80
	}
	var c FetchCache
	var buf [15]byte
	s := CodeState{Paging: Paging{CR0: CR0PE | CR0PG | CR0WP, CR3: pml4, CR4: CR4PAE, EFER: EFERLMA}, RIP: 0x1100, Mode: Mode64}
	fetch := func(what string, wantFirst byte, wantWalk bool) {
		t.Helper()
		before := mem.walks
		n, err := c.Fetch(mem, &s, &buf)
		var want [15]byte
		wn, werr := FetchInsn(b.mem, s.Paging, s.CSBase, s.RIP, s.Mode, s.User, &want)
		if n != wn || n > 15 || (err == nil) != (werr == nil) || string(buf[:n]) != string(want[:wn]) || (err == nil && buf[0] != wantFirst) {
			t.Errorf("%s: Fetch %d, %v, % x; FetchInsn %d, %v, % x; want first byte %#x", what, n, err, buf, wn, werr, want, wantFirst)
		}
		if walkedNow := mem.walks != before; walkedNow != wantWalk {
			t.Errorf("%s: walked %v, want %v", what, walkedNow, wantWalk)
		}
	}
	fetch("first fetch", 0x00, true)
	fetch("same RIP", 0x00, false)
	s.RIP = 0x1ff0 // same page, 15 bytes left
	fetch("same page", 0xf0, false)
	s.RIP = 0x1ff8 // may cross: FetchInsn, walking both pages
	fetch("page end", 0xf8, true)
	s.RIP = 0x1100
	fetch("back", 0x00, false) // still cached

	// The guest repoints its PTE (no exit tells hv): the next fetch walks.
	mem.set64(walked[3], 0x0060_0000|all)
	fetch("PTE changed", 0x80, true)
	fetch("PTE changed, again", 0x80, false)
	// An upper-level entry changes.
	pdpt := mem.get64(walked[1])
	mem.set64(walked[1], pdpt|1<<5) // the accessed bit: same translation, new value
	fetch("PDPTE changed", 0x80, true)
	// The guest-physical map changed.
	mem.gen++
	fetch("generation", 0x80, true)
	fetch("generation, again", 0x80, false)
	// Other paging state: CR3, user mode, paging off.
	s.User = true
	fetch("user", 0x80, true)
	s.User = false
	fetch("supervisor", 0x80, true)
	s.Paging.CR4 |= CR4SMEP
	fetch("SMEP", 0x80, true)
	// A fault is not cached.
	mem.set64(walked[3], 0)
	fetch("not present", 0, true)
	fetch("not present, again", 0, true)
	// Paging off: 32-bit linear = physical, no entries.
	s = CodeState{Paging: Paging{CR0: CR0PE}, RIP: 0x0050_0010, Mode: Mode32}
	fetch("no paging", 0x10, false)
	p1[0x10] = 0xcc // code changes are always seen: the bytes are read each time
	fetch("no paging, code changed", 0xcc, false)
	// A 2 MiB page.
	s = CodeState{Paging: Paging{CR0: CR0PE | CR0PG, CR3: pml4, CR4: CR4PAE, EFER: EFERLMA}, RIP: 0x0040_0020, Mode: Mode64}
	fetch("2 MiB page", 0xa0, true)
	fetch("2 MiB page, again", 0xa0, false)
}

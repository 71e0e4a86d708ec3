package vm

import (
	"math/rand"
	"testing"
)

// pageModel is the reference model: one entry per page of a small window,
// -1 for unmapped or the page's protection.
type pageModel struct {
	lo    uint64
	pages []int8
}

func newPageModel(lo uint64, n int) *pageModel {
	m := &pageModel{lo: lo, pages: make([]int8, n)}
	for i := range m.pages {
		m.pages[i] = -1
	}
	return m
}

func (m *pageModel) hi() uint64 { return m.lo + uint64(len(m.pages))*PageSize }

// idx returns the page index of addr and whether it is inside the window.
func (m *pageModel) idx(addr uint64) (int, bool) {
	if addr < m.lo || addr >= m.hi() {
		return 0, false
	}
	return int((addr - m.lo) / PageSize), true
}

func roundLen(length uint64) (uint64, bool) {
	if length == 0 || length > ^uint64(0)-(PageSize-1) {
		return 0, false
	}
	return (length + PageSize - 1) / PageSize * PageSize, true
}

func (m *pageModel) rangeFree(start, size uint64) bool {
	for a := start; a < start+size; a += PageSize {
		if i, ok := m.idx(a); !ok || m.pages[i] >= 0 {
			return false
		}
	}
	return true
}

func (m *pageModel) fill(start, size uint64, v int8) {
	for a := start; a < start+size; a += PageSize {
		if i, ok := m.idx(a); ok {
			m.pages[i] = v
		}
	}
}

func (m *pageModel) mapOp(addr, length uint64, prot uint8, fixed bool) (uint64, Errno) {
	size, ok := roundLen(length)
	if !ok || prot > 7 {
		return 0, EINVAL
	}
	if fixed {
		if addr%PageSize != 0 || addr > ^uint64(0)-size {
			return 0, EINVAL
		}
		if addr < m.lo || addr+size > m.hi() {
			return 0, ENOMEM
		}
		m.fill(addr, size, int8(prot))
		return addr, 0
	}
	if addr != 0 && addr <= ^uint64(0)-(PageSize-1) {
		h := (addr + PageSize - 1) / PageSize * PageSize
		if h >= m.lo && h <= m.hi() && size <= m.hi()-h && m.rangeFree(h, size) {
			m.fill(h, size, int8(prot))
			return h, 0
		}
	}
	if size <= m.hi()-m.lo {
		for a := m.lo; a+size <= m.hi(); a += PageSize {
			if m.rangeFree(a, size) {
				m.fill(a, size, int8(prot))
				return a, 0
			}
		}
	}
	return 0, ENOMEM
}

func (m *pageModel) unmapOp(addr, length uint64) Errno {
	size, ok := roundLen(length)
	if !ok || addr%PageSize != 0 || addr > ^uint64(0)-size {
		return EINVAL
	}
	// Only the part inside the window can hold pages.
	for i := range m.pages {
		a := m.lo + uint64(i)*PageSize
		if a >= addr && a-addr < size {
			m.pages[i] = -1
		}
	}
	return 0
}

func (m *pageModel) protectOp(addr, length uint64, prot uint8) Errno {
	if addr%PageSize != 0 || prot > 7 {
		return EINVAL
	}
	if length == 0 {
		return 0
	}
	size, ok := roundLen(length)
	if !ok || addr > ^uint64(0)-size {
		return EINVAL
	}
	if size > m.hi()-m.lo+PageSize {
		return ENOMEM // certainly leaves the window
	}
	for a := addr; a < addr+size; a += PageSize {
		if i, ok := m.idx(a); !ok || m.pages[i] < 0 {
			return ENOMEM
		}
	}
	m.fill(addr, size, int8(prot))
	return 0
}

// areas derives the minimal area list from the model.
func (m *pageModel) areas() []Area {
	var out []Area
	for i, p := range m.pages {
		if p < 0 {
			continue
		}
		a := m.lo + uint64(i)*PageSize
		if len(out) > 0 && out[len(out)-1].End == a && out[len(out)-1].Prot == uint8(p) {
			out[len(out)-1].End += PageSize
			continue
		}
		out = append(out, Area{a, a + PageSize, uint8(p)})
	}
	return out
}

func checkSpace(t testing.TB, s *Space, m *pageModel) {
	t.Helper()
	got := s.Areas()
	want := m.areas()
	if len(got) != len(want) {
		t.Fatalf("areas %x, model %x", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("areas %x, model %x", got, want)
		}
	}
	checkInvariants(t, s)
}

// checkInvariants verifies sortedness, alignment, the window and merging.
func checkInvariants(t testing.TB, s *Space) {
	t.Helper()
	lo, hi := s.Window()
	as := s.Areas()
	for i, a := range as {
		if a.Start >= a.End || a.Start%PageSize != 0 || a.End%PageSize != 0 || a.Start < lo || a.End > hi || a.Prot > 7 {
			t.Fatalf("bad area %d %+v", i, a)
		}
		if i > 0 {
			p := as[i-1]
			if p.End > a.Start {
				t.Fatalf("areas %d,%d overlap or unsorted: %+v %+v", i-1, i, p, a)
			}
			if p.End == a.Start && p.Prot == a.Prot {
				t.Fatalf("areas %d,%d not merged: %+v %+v", i-1, i, p, a)
			}
		}
	}
}

// runSpaceOps drives s and m with ops decoded from next.
func runSpaceOps(t testing.TB, s *Space, m *pageModel, steps int, next func() uint64) {
	npages := uint64(len(m.pages))
	addr := func() uint64 {
		switch next() % 16 {
		case 0:
			return 0
		case 1:
			return next() // anything
		case 2:
			return m.lo + next()%(npages*PageSize) // often unaligned
		case 3:
			return ^uint64(0) &^ (PageSize - 1)
		}
		// Pages around the window.
		return m.lo - 4*PageSize + (next()%(npages+8))*PageSize
	}
	length := func() uint64 {
		switch next() % 16 {
		case 0:
			return 0
		case 1:
			return ^uint64(0) - next()%(2*PageSize)
		case 2:
			return 1 + next()%(4*PageSize)
		}
		return (1 + next()%(npages/4+1)) * PageSize
	}
	prot := func() uint8 {
		if next()%32 == 0 {
			return uint8(next())
		}
		return uint8(next() % 3) // few distinct values so merging happens
	}
	for step := 0; step < steps; step++ {
		switch op := next() % 8; op {
		case 0, 1:
			a, l, p := addr(), length(), prot()
			got, e := s.Map(a, l, p, true)
			want, we := m.mapOp(a, l, p, true)
			if got != want || e != we {
				t.Fatalf("Map fixed(%#x,%#x,%d) = %#x,%d, model %#x,%d", a, l, p, got, e, want, we)
			}
		case 2, 3:
			a, l, p := addr(), length(), prot()
			got, e := s.Map(a, l, p, false)
			want, we := m.mapOp(a, l, p, false)
			if got != want || e != we {
				t.Fatalf("Map(%#x,%#x,%d) = %#x,%d, model %#x,%d", a, l, p, got, e, want, we)
			}
		case 4, 5:
			a, l := addr(), length()
			e := s.Unmap(a, l)
			if we := m.unmapOp(a, l); e != we {
				t.Fatalf("Unmap(%#x,%#x) = %d, model %d", a, l, e, we)
			}
		case 6:
			a, l, p := addr(), length(), prot()
			e := s.Protect(a, l, p)
			if we := m.protectOp(a, l, p); e != we {
				t.Fatalf("Protect(%#x,%#x,%d) = %d, model %d", a, l, p, e, we)
			}
		case 7:
			a := addr()
			ar, ok := s.Find(a)
			i, in := m.idx(a)
			wok := in && m.pages[i] >= 0
			if ok != wok || (ok && (a < ar.Start || a >= ar.End || ar.Prot != uint8(m.pages[i]))) {
				t.Fatalf("Find(%#x) = %+v,%v, model %v", a, ar, ok, wok)
			}
		}
		checkSpace(t, s, m)
	}
}

func TestRandomAgainstModel(t *testing.T) {
	for seed := int64(1); seed <= 40; seed++ {
		r := rand.New(rand.NewSource(seed))
		lo := uint64(0x10000 + r.Intn(1<<20)*PageSize)
		n := 16 + r.Intn(300)
		s := new(Space)
		s.Init(lo, lo+uint64(n)*PageSize)
		m := newPageModel(lo, n)
		runSpaceOps(t, s, m, 1000, r.Uint64)
	}
}

func FuzzSpace(f *testing.F) {
	f.Add(uint16(64), []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11})
	f.Add(uint16(300), []byte("mmap munmap mprotect find 0123456789abcdef"))
	f.Fuzz(func(t *testing.T, pages uint16, ops []byte) {
		n := 1 + int(pages%512)
		const lo = 0x40_0000
		s := new(Space)
		s.Init(lo, lo+uint64(n)*PageSize)
		m := newPageModel(lo, n)
		pos := 0
		next := func() uint64 {
			var v uint64
			for i := 0; i < 2; i++ {
				v <<= 8
				if pos < len(ops) {
					v |= uint64(ops[pos])
				}
				pos++
			}
			return v
		}
		steps := len(ops) / 4
		if steps > 300 {
			steps = 300
		}
		runSpaceOps(t, s, m, steps, next)
	})
}

func TestGoRuntimePattern(t *testing.T) {
	s := new(Space)
	s.Init(0x10000, 0x7fff_ffff_f000)
	const arena = 0xc0_0000_0000
	// Reserve 64 MiB PROT_NONE at the runtime's hint.
	got, e := s.Map(arena, 64<<20, 0, false)
	if e != 0 || got != arena {
		t.Fatalf("reserve = %#x,%d", got, e)
	}
	// Commit 4 MiB read/write inside it.
	if got, e := s.Map(arena, 4<<20, ProtRead|ProtWrite, true); e != 0 || got != arena {
		t.Fatalf("commit = %#x,%d", got, e)
	}
	// Commit the next 4 MiB: merges with the first commit.
	if _, e := s.Map(arena+4<<20, 4<<20, ProtRead|ProtWrite, true); e != 0 {
		t.Fatal(e)
	}
	want := []Area{{arena, arena + 8<<20, 3}, {arena + 8<<20, arena + 64<<20, 0}}
	if as := s.Areas(); len(as) != 2 || as[0] != want[0] || as[1] != want[1] {
		t.Fatalf("areas %x", as)
	}
	// The same hint again is taken: first fit from the window start.
	if got, e := s.Map(arena, 1<<20, 0, false); e != 0 || got != 0x10000 {
		t.Fatalf("occupied hint = %#x,%d", got, e)
	}
	// A randomised hint that is free is honoured, unaligned hints round up.
	if got, e := s.Map(0x304a_8000_0000, 1<<30, 0, false); e != 0 || got != 0x304a_8000_0000 {
		t.Fatalf("random hint = %#x,%d", got, e)
	}
	if got, e := s.Map(0x5000_0000_0001, 4096, ProtRead, false); e != 0 || got != 0x5000_0000_1000 {
		t.Fatalf("unaligned hint = %#x,%d", got, e)
	}
	// Hints outside the window fall back to first fit.
	if got, e := s.Map(0x8000_0000_0000, 4096, 0, false); e != 0 || got != 0x10000+1<<20 {
		t.Fatalf("out-of-window hint = %#x,%d", got, e)
	}
	// Release the middle of the reservation (scavenger / sysFree).
	if e := s.Unmap(arena+16<<20, 8<<20); e != 0 {
		t.Fatal(e)
	}
	if a, ok := s.Find(arena + 20<<20); ok {
		t.Fatalf("Find in hole = %+v", a)
	}
	if a, ok := s.Find(arena + 30<<20); !ok || a.Start != arena+24<<20 || a.Prot != 0 {
		t.Fatalf("Find after hole = %+v %v", a, ok)
	}
	if a, ok := s.Find(arena + 100); !ok || a.Start != arena || a.End != arena+8<<20 || a.Prot != 3 {
		t.Fatalf("Find commit = %+v %v", a, ok)
	}
	// mprotect over the hole fails and changes nothing.
	before := append([]Area(nil), s.Areas()...)
	if e := s.Protect(arena, 32<<20, ProtRead); e != ENOMEM {
		t.Fatalf("Protect over hole = %d", e)
	}
	if as := s.Areas(); len(as) != len(before) {
		t.Fatalf("failed Protect changed areas")
	}
	if e := s.Protect(arena, 8<<20, 0); e != 0 {
		t.Fatal(e)
	}
	// Now [arena, arena+16M) is one PROT_NONE area again.
	if a, _ := s.Find(arena); a.End != arena+16<<20 || a.Prot != 0 {
		t.Fatalf("after Protect: %+v", a)
	}
	checkInvariants(t, s)
}

func TestArgumentErrors(t *testing.T) {
	s := new(Space)
	s.Init(0x10001, 0x20_0fff) // rounded to [0x11000, 0x200000)
	if lo, hi := s.Window(); lo != 0x11000 || hi != 0x20_0000 {
		t.Fatalf("window %#x %#x", lo, hi)
	}
	for _, c := range []struct {
		addr, length uint64
		prot         uint8
		fixed        bool
		want         Errno
	}{
		{0x11000, 0, 0, true, EINVAL},
		{0x11000, 0, 0, false, EINVAL},
		{0x11001, 4096, 0, true, EINVAL},
		{0x11000, 4096, 8, true, EINVAL},
		{0x11000, ^uint64(0), 0, false, EINVAL},
		{^uint64(0) &^ 0xfff, 0x2000, 0, true, EINVAL},
		{0x10000, 4096, 0, true, ENOMEM},
		{0x1ff000, 0x2000, 0, true, ENOMEM},
		{0, 0x20_0000, 0, false, ENOMEM},
	} {
		if _, e := s.Map(c.addr, c.length, c.prot, c.fixed); e != c.want {
			t.Errorf("Map(%#x,%#x,%d,%v) = %d, want %d", c.addr, c.length, c.prot, c.fixed, e, c.want)
		}
	}
	if e := s.Unmap(0x11000, 0); e != EINVAL {
		t.Errorf("Unmap len 0 = %d", e)
	}
	if e := s.Unmap(0x11001, 1); e != EINVAL {
		t.Errorf("Unmap unaligned = %d", e)
	}
	if e := s.Unmap(^uint64(0)&^0xfff, 0x2000); e != EINVAL {
		t.Errorf("Unmap overflow = %d", e)
	}
	if e := s.Unmap(0, ^uint64(0)&^0xfff); e != 0 {
		t.Errorf("Unmap everything = %d", e)
	}
	if e := s.Protect(0x11000, 0, 0); e != 0 {
		t.Errorf("Protect len 0 = %d", e)
	}
	if e := s.Protect(0x11001, 0, 0); e != EINVAL {
		t.Errorf("Protect unaligned = %d", e)
	}
	if e := s.Protect(0x11000, 4096, 0x10); e != EINVAL {
		t.Errorf("Protect bad prot = %d", e)
	}
	if e := s.Protect(0x11000, 4096, 0); e != ENOMEM {
		t.Errorf("Protect unmapped = %d", e)
	}
	// Whole window in one go, then nothing is left.
	if got, e := s.Map(0, 0x200000-0x11000, 1, false); e != 0 || got != 0x11000 {
		t.Errorf("Map whole window = %#x,%d", got, e)
	}
	if _, e := s.Map(0, 1, 1, false); e != ENOMEM {
		t.Errorf("Map in full window = %d", e)
	}
	// Zero value and inverted Init.
	var z Space
	if _, e := z.Map(0x1000, 4096, 0, false); e != ENOMEM {
		t.Errorf("zero Space Map = %d", e)
	}
	if len(z.Areas()) != 0 {
		t.Error("zero Space areas")
	}
	z.Init(0x5000, 0x1000)
	if lo, hi := z.Window(); lo != 0x5000 || hi != 0x5000 {
		t.Errorf("inverted window %#x %#x", lo, hi)
	}
	z.Init(^uint64(0), ^uint64(0))
	if _, e := z.Map(0, 4096, 0, false); e != ENOMEM {
		t.Errorf("top window Map = %d", e)
	}
	for _, e := range []Errno{0, ENOMEM, EINVAL, 99} {
		if e.Error() == "" {
			t.Errorf("empty message for %d", e)
		}
	}
}

func TestAreaExhaustion(t *testing.T) {
	s := new(Space)
	const lo = 0x100000
	s.Init(lo, lo+4*MaxAreas*PageSize)
	// MaxAreas areas of 3 pages separated by 1-page holes.
	for i := uint64(0); i < MaxAreas; i++ {
		if _, e := s.Map(lo+4*i*PageSize, 3*PageSize, ProtRead, true); e != 0 {
			t.Fatalf("Map %d = %d", i, e)
		}
	}
	full := append([]Area(nil), s.Areas()...)
	if len(full) != MaxAreas {
		t.Fatalf("%d areas", len(full))
	}
	same := func() {
		t.Helper()
		as := s.Areas()
		if len(as) != len(full) {
			t.Fatalf("area count changed to %d", len(as))
		}
		for i := range as {
			if as[i] != full[i] {
				t.Fatalf("area %d changed", i)
			}
		}
	}
	// A new isolated area does not fit (the window has no other room, and
	// a fixed one needs a split).
	if _, e := s.Map(lo+PageSize, PageSize, ProtWrite, true); e != ENOMEM {
		t.Fatalf("split by fixed map = %d", e)
	}
	same()
	if e := s.Unmap(lo+PageSize, PageSize); e != ENOMEM {
		t.Fatalf("split by Unmap = %d", e)
	}
	same()
	if e := s.Protect(lo+PageSize, PageSize, 0); e != ENOMEM {
		t.Fatalf("split by Protect = %d", e)
	}
	same()
	if _, e := s.Map(lo+3*PageSize, PageSize, ProtWrite, false); e != ENOMEM {
		t.Fatalf("isolated hint map = %d", e)
	}
	same()
	// Operations that do not grow the list still work: filling a hole with
	// the same protection merges two areas into one.
	if got, e := s.Map(lo+3*PageSize, PageSize, ProtRead, false); e != 0 || got != lo+3*PageSize {
		t.Fatalf("merging map = %#x %d", got, e)
	}
	if n := len(s.Areas()); n != MaxAreas-1 {
		t.Fatalf("after merge %d areas", n)
	}
	// Trimming an area's edge needs no extra slot.
	if e := s.Unmap(lo+4*5*PageSize, PageSize); e != 0 {
		t.Fatal(e)
	}
	if e := s.Protect(lo+4*6*PageSize, PageSize, ProtExec); e != 0 {
		t.Fatal(e)
	}
	checkInvariants(t, s)
	if n := len(s.Areas()); n != MaxAreas {
		t.Fatalf("after edge protect %d areas", n)
	}
	// Unmapping everything works.
	if e := s.Unmap(lo, 4*MaxAreas*PageSize); e != 0 || len(s.Areas()) != 0 {
		t.Fatalf("Unmap all = %d, %d areas", e, len(s.Areas()))
	}
}

func TestMergingMinimal(t *testing.T) {
	s := new(Space)
	s.Init(0x10000, 0x100000)
	m := newPageModel(0x10000, 0xf0)
	// Map pages one by one in a scattered order with one protection: the
	// result must be a single area.
	r := rand.New(rand.NewSource(3))
	for _, p := range r.Perm(0xf0) {
		a := 0x10000 + uint64(p)*PageSize
		if _, e := s.Map(a, PageSize, ProtRead|ProtWrite, true); e != 0 {
			t.Fatal(e)
		}
		m.mapOp(a, PageSize, 3, true)
		checkSpace(t, s, m)
	}
	if len(s.Areas()) != 1 {
		t.Fatalf("%d areas", len(s.Areas()))
	}
	// Alternate protections, then restore: back to one area.
	for p := 0; p < 0xf0; p += 2 {
		s.Protect(0x10000+uint64(p)*PageSize, PageSize, ProtRead)
	}
	if len(s.Areas()) != 0xf0 {
		t.Fatalf("%d areas after alternating", len(s.Areas()))
	}
	for p := 0; p < 0xf0; p += 2 {
		s.Protect(0x10000+uint64(p)*PageSize, PageSize, ProtRead|ProtWrite)
	}
	if len(s.Areas()) != 1 {
		t.Fatalf("%d areas after restore", len(s.Areas()))
	}
}

func TestZeroAllocs(t *testing.T) {
	s := new(Space)
	s.Init(0x10000, 0x7fff_ffff_f000)
	s.Map(0xc0_0000_0000, 64<<20, 0, false)
	var sinkE Errno
	var sinkA Area
	var sinkS []Area
	n := testing.AllocsPerRun(1000, func() {
		a, e := s.Map(0xc0_0000_0000+8<<20, 4<<20, ProtRead|ProtWrite, true)
		sinkE = e
		sinkE = s.Protect(a, 1<<20, ProtRead)
		sinkA, _ = s.Find(a + 4096)
		sinkE = s.Unmap(a+1<<20, 1<<20)
		_, sinkE = s.Map(a, 4<<20, 0, true) // back to the reservation
		b, _ := s.Map(0x304a_8000_0000, 1<<20, 0, false)
		sinkE = s.Unmap(b, 1<<20)
		sinkS = s.Areas()
		_ = sinkE.Error()
	})
	_, _, _ = sinkE, sinkA, sinkS
	if n != 0 {
		t.Fatalf("hot paths allocate: %v allocs/run", n)
	}
	checkInvariants(t, s)
}

package pgtable

import (
	"math/rand"
	"testing"
)

// fakeMem is a Memory whose table pages live in a preallocated slice; the
// fake physical address of page i is fakeBase + i*4096. It never allocates
// after construction.
type fakeMem struct {
	pages   [][512]uint64
	used    []bool
	free    []int // stack of unused page indexes
	live    int
	budget  int // maximum live tables; < 0 means unlimited
	bad     bool
	scratch [512]uint64
}

const fakeBase = 0x10_0000

func newFakeMem(capacity, budget int) *fakeMem {
	m := &fakeMem{
		pages:  make([][512]uint64, capacity),
		used:   make([]bool, capacity),
		free:   make([]int, 0, capacity),
		budget: budget,
	}
	for i := capacity - 1; i >= 0; i-- {
		m.free = append(m.free, i)
	}
	return m
}

func (m *fakeMem) AllocTable() (uint64, bool) {
	if len(m.free) == 0 || (m.budget >= 0 && m.live >= m.budget) {
		return 0, false
	}
	i := m.free[len(m.free)-1]
	m.free = m.free[:len(m.free)-1]
	m.used[i] = true
	m.pages[i] = [512]uint64{}
	m.live++
	return fakeBase + uint64(i)*4096, true
}

func (m *fakeMem) index(pa uint64) (int, bool) {
	if pa < fakeBase || pa%4096 != 0 || (pa-fakeBase)/4096 >= uint64(len(m.pages)) {
		return 0, false
	}
	i := int((pa - fakeBase) / 4096)
	return i, m.used[i]
}

func (m *fakeMem) FreeTable(pa uint64) {
	i, ok := m.index(pa)
	if !ok {
		m.bad = true
		return
	}
	// Poison the page so use-after-free shows up.
	for j := range m.pages[i] {
		m.pages[i][j] = 0xdead_0000_0000_0fff
	}
	m.used[i] = false
	m.free = append(m.free, i)
	m.live--
}

func (m *fakeMem) Table(pa uint64) *[512]uint64 {
	i, ok := m.index(pa)
	if !ok {
		m.bad = true
		return &m.scratch
	}
	return &m.pages[i]
}

func newTable(t testing.TB, capacity, budget int) (Table, *fakeMem) {
	t.Helper()
	m := newFakeMem(capacity, budget)
	tb, err := New(m)
	if err != nil {
		t.Fatal(err)
	}
	return tb, m
}

func checkMem(t testing.TB, m *fakeMem, live int) {
	t.Helper()
	if m.bad {
		t.Fatal("table code touched an invalid or freed table page")
	}
	if live >= 0 && m.live != live {
		t.Fatalf("live tables = %d, want %d", m.live, live)
	}
}

const hiHalf = 0xffff_8000_0000_0000

func TestMapLookupUnmapAllSizes(t *testing.T) {
	tb, m := newTable(t, 64, -1)
	cases := []struct{ va, pa, size uint64 }{
		{0x1000, 0x5000, Size4K},
		{0x7fff_ffff_f000, 0x000f_ffff_ffff_f000, Size4K},
		{hiHalf, 0x20_0000, Size2M},
		{0xffff_ffff_ffe0_0000, 0x4000_0000, Size2M},
		{0x40_0000_0000, 0x8_0000_0000, Size1G},
		{0xffff_ffff_0000_0000, 0xc000_0000, Size1G},
	}
	for _, c := range cases {
		flags := Writable | NoExec | Global
		if err := tb.Map(c.va, c.pa, c.size, flags|Huge); err != nil {
			t.Fatalf("Map(%#x,%#x,%#x) = %v", c.va, c.pa, c.size, err)
		}
		for _, off := range []uint64{0, 8, c.size / 2, c.size - 1} {
			pa, fl, size, ok := tb.Lookup(c.va + off)
			if !ok || pa != c.pa+off || size != c.size {
				t.Fatalf("Lookup(%#x) = %#x,%#x,%v want %#x,%#x", c.va+off, pa, size, ok, c.pa+off, c.size)
			}
			wantFl := flags | Present
			if c.size != Size4K {
				wantFl |= Huge
			}
			if fl != wantFl {
				t.Fatalf("Lookup(%#x) flags %#x want %#x", c.va+off, fl, wantFl)
			}
		}
		if _, _, _, ok := tb.Lookup(c.va + c.size); ok && c.va+c.size != 0 {
			t.Fatalf("Lookup past page %#x succeeded", c.va+c.size)
		}
	}
	checkMem(t, m, -1)
	for _, c := range cases {
		pa, size, ok := tb.Unmap(c.va + c.size - 1)
		if !ok || pa != c.pa || size != c.size {
			t.Fatalf("Unmap(%#x) = %#x,%#x,%v", c.va, pa, size, ok)
		}
		if _, _, _, ok := tb.Lookup(c.va); ok {
			t.Fatalf("Lookup(%#x) after Unmap succeeded", c.va)
		}
		if _, _, ok := tb.Unmap(c.va); ok {
			t.Fatalf("second Unmap(%#x) succeeded", c.va)
		}
	}
	checkMem(t, m, 1)
	tb.Destroy()
	checkMem(t, m, 0)
}

func TestIntermediateFlags(t *testing.T) {
	tb, m := newTable(t, 64, -1)
	const va = 0x1234_5678_9000
	if err := tb.Map(va, 0x1000, Size4K, NoExec); err != nil {
		t.Fatal(err)
	}
	var tables [5]uint64
	lvl, _ := tb.walk(va, &tables)
	if lvl != 1 {
		t.Fatalf("walk level %d", lvl)
	}
	for l := 4; l > 1; l-- {
		e := m.Table(tables[l])[index(va, l)]
		if e&^AddrMask != Present|Writable {
			t.Fatalf("level %d intermediate flags %#x", l, e&^AddrMask)
		}
	}
	// A User leaf sharing the path widens the intermediates with User.
	if err := tb.Map(va+0x1000, 0x2000, Size4K, User|NoExec); err != nil {
		t.Fatal(err)
	}
	for l := 4; l > 1; l-- {
		e := m.Table(tables[l])[index(va, l)]
		if e&^AddrMask != Present|Writable|User {
			t.Fatalf("level %d intermediate flags %#x after User map", l, e&^AddrMask)
		}
	}
	// The first leaf keeps its own (non-User) permissions.
	if _, fl, _, _ := tb.Lookup(va); fl != Present|NoExec {
		t.Fatalf("leaf flags %#x", fl)
	}
	checkMem(t, m, 4)
}

func TestConflicts(t *testing.T) {
	tb, m := newTable(t, 64, -1)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(tb.Map(0x20_0000, 0x20_0000, Size2M, Writable))
	live := m.live
	for _, c := range []struct{ va, size uint64 }{
		{0x20_0000, Size2M},
		{0x20_0000, Size4K},
		{0x3f_f000, Size4K},
		{0, Size1G},
	} {
		if err := tb.Map(c.va, 0, c.size, 0); err != ErrExists {
			t.Fatalf("Map(%#x,%#x) over 2M page = %v", c.va, c.size, err)
		}
	}
	checkMem(t, m, live)
	// A 4K page makes a table where a 2M or 1G page would go.
	must(tb.Map(0x4000_1000, 0x1000, Size4K, 0))
	live = m.live
	if err := tb.Map(0x4000_0000, 0, Size2M, 0); err != ErrExists {
		t.Fatalf("2M over table = %v", err)
	}
	if err := tb.Map(0x4000_0000, 0, Size1G, 0); err != ErrExists {
		t.Fatalf("1G over table = %v", err)
	}
	// 1G page blocks everything below it.
	must(tb.Map(0x80_0000_0000, 0x4000_0000, Size1G, 0))
	live = m.live
	if err := tb.Map(0x80_0020_0000, 0, Size2M, 0); err != ErrExists {
		t.Fatalf("2M inside 1G = %v", err)
	}
	if err := tb.Map(0x80_3fff_f000, 0, Size4K, 0); err != ErrExists {
		t.Fatalf("4K inside 1G = %v", err)
	}
	checkMem(t, m, live)
	// Unmap inside a huge page removes the whole huge page.
	if pa, size, ok := tb.Unmap(0x80_1234_5678); !ok || pa != 0x4000_0000 || size != Size1G {
		t.Fatalf("Unmap inside 1G = %#x %#x %v", pa, size, ok)
	}
}

func TestArgumentErrors(t *testing.T) {
	tb, m := newTable(t, 16, -1)
	for _, c := range []struct {
		va, pa, size, flags uint64
		want                error
	}{
		{0, 0, 8192, 0, ErrBadSize},
		{0, 0, 0, 0, ErrBadSize},
		{0x1001, 0, Size4K, 0, ErrMisaligned},
		{0, 0x1001, Size4K, 0, ErrMisaligned},
		{0x1000, 0, Size2M, 0, ErrMisaligned},
		{0, 0x20_1000, Size2M, 0, ErrMisaligned},
		{0x20_0000, 0, Size1G, 0, ErrMisaligned},
		{0x8000_0000_0000, 0, Size4K, 0, ErrNonCanonical},
		{0xffff_7fff_ffff_f000, 0, Size4K, 0, ErrNonCanonical},
		{0x0001_0000_0000_0000, 0, Size4K, 0, ErrNonCanonical},
		{0, 1 << 52, Size4K, 0, ErrBadAddress},
		{0, 0xfff0_0000_0000_0000, Size1G, 0, ErrBadAddress},
		{0, 0, Size4K, 1 << 12, ErrBadFlags},
		{0, 0, Size4K, 1 << 40, ErrBadFlags},
	} {
		if err := tb.Map(c.va, c.pa, c.size, c.flags); err != c.want {
			t.Errorf("Map(%#x,%#x,%#x,%#x) = %v, want %v", c.va, c.pa, c.size, c.flags, err, c.want)
		}
	}
	if err := tb.Protect(0x1000, Writable); err != ErrNotMapped {
		t.Errorf("Protect unmapped = %v", err)
	}
	if err := tb.Protect(0x8000_0000_0000, 0); err != ErrNonCanonical {
		t.Errorf("Protect non-canonical = %v", err)
	}
	if err := tb.Protect(0, 1<<20); err != ErrBadFlags {
		t.Errorf("Protect bad flags = %v", err)
	}
	if _, _, _, ok := tb.Lookup(0x8000_0000_0000); ok {
		t.Error("Lookup non-canonical")
	}
	if _, _, ok := tb.Unmap(0x8000_0000_0000); ok {
		t.Error("Unmap non-canonical")
	}
	for _, c := range []struct {
		va, pa, length, max uint64
		want                error
	}{
		{0, 0, Size4K, 3, ErrBadSize},
		{1, 0, Size4K, Size4K, ErrMisaligned},
		{0, 1, Size4K, Size4K, ErrMisaligned},
		{0, 0, 5, Size4K, ErrMisaligned},
		{0x7fff_ffff_f000, 0, 2 * Size4K, Size4K, ErrNonCanonical},
		{0xffff_ffff_ffff_f000, 0, 2 * Size4K, Size4K, ErrNonCanonical},
		{0x8000_0000_0000, 0, Size4K, Size4K, ErrNonCanonical},
		{0, 0x000f_ffff_ffff_f000, 2 * Size4K, Size4K, ErrBadAddress},
		{0, ^uint64(0) &^ 0xfff, 2 * Size4K, Size4K, ErrBadAddress},
	} {
		if err := tb.MapRange(c.va, c.pa, c.length, 0, c.max); err != c.want {
			t.Errorf("MapRange(%#x,%#x,%#x,max %#x) = %v, want %v", c.va, c.pa, c.length, c.max, err, c.want)
		}
	}
	if err := tb.MapRange(0, 0, 0, 0, Size4K); err != nil {
		t.Errorf("MapRange length 0 = %v", err)
	}
	if err := tb.MapRange(0, 0, Size4K, Huge<<20, Size4K); err != ErrBadFlags {
		t.Errorf("MapRange bad flags = %v", err)
	}
	checkMem(t, m, 1)

	// Zero and destroyed tables.
	var z Table
	if z.Map(0, 0, Size4K, 0) != ErrNoTable || z.MapRange(0, 0, Size4K, 0, Size4K) != ErrNoTable || z.Protect(0, 0) != ErrNoTable {
		t.Error("zero Table did not report ErrNoTable")
	}
	if _, _, _, ok := z.Lookup(0); ok {
		t.Error("zero Table Lookup")
	}
	if _, _, ok := z.Unmap(0); ok {
		t.Error("zero Table Unmap")
	}
	z.Visit(0, ^uint64(0), func(va, pa, size, flags uint64) { t.Error("zero Table Visit") })
	if z.UnmapRange(0, ^uint64(0), nil) {
		t.Error("zero Table UnmapRange")
	}
	z.Destroy()
	if _, err := New(nil); err != ErrNoTable {
		t.Errorf("New(nil) = %v", err)
	}
	if _, err := New(newFakeMem(1, 0)); err != ErrNoMemory {
		t.Errorf("New without memory = %v", err)
	}
	tb.Destroy()
	tb.Destroy()
	checkMem(t, m, 0)
	if tb.Map(0, 0, Size4K, 0) != ErrNoTable {
		t.Error("Map after Destroy")
	}
	if _, _, _, ok := tb.Lookup(0); ok {
		t.Error("Lookup after Destroy")
	}
	checkMem(t, m, 0)
	for e := Error(0); e < 12; e++ {
		if e.Error() == "" {
			t.Errorf("empty message for %d", e)
		}
	}
}

func TestProtect(t *testing.T) {
	tb, m := newTable(t, 16, -1)
	if err := tb.Map(0x4000_0000, 0x1_0000_0000, Size1G, Writable); err != nil {
		t.Fatal(err)
	}
	if err := tb.Protect(0x4000_1234, User|NoExec); err != nil {
		t.Fatal(err)
	}
	pa, fl, size, ok := tb.Lookup(0x4000_1234)
	if !ok || pa != 0x1_0000_1234 || size != Size1G || fl != Present|Huge|User|NoExec {
		t.Fatalf("after Protect: %#x %#x %#x %v", pa, fl, size, ok)
	}
	var tables [5]uint64
	tb.walk(0x4000_0000, &tables)
	if e := m.Table(tables[4])[0]; e&User == 0 {
		t.Fatal("Protect with User did not widen PML4 entry")
	}
	if err := tb.Map(0x1000, 0x2000, Size4K, Writable); err != nil {
		t.Fatal(err)
	}
	if err := tb.Protect(0x1fff, Huge|Writable); err != nil {
		t.Fatal(err)
	}
	if pa, fl, _, _ := tb.Lookup(0x1000); pa != 0x2000 || fl != Present|Writable {
		t.Fatalf("4K Protect: %#x %#x", pa, fl)
	}
}

// pageSizes counts leaves by size via Visit.
func pageSizes(tb *Table, lo, hi uint64) (n4k, n2m, n1g int) {
	tb.Visit(lo, hi, func(va, pa, size, flags uint64) {
		switch size {
		case Size4K:
			n4k++
		case Size2M:
			n2m++
		case Size1G:
			n1g++
		}
	})
	return
}

func TestMapRange(t *testing.T) {
	tb, m := newTable(t, 256, -1)
	const va, pa = 0x3fe0_0000 - 0x2000, 0x7fe0_0000 - 0x2000
	const length = Size1G + 2*Size2M + 4*Size4K
	if err := tb.MapRange(va, pa, length, Writable, Size1G); err != nil {
		t.Fatal(err)
	}
	// 2 x 4K, 1 x 2M up to 1 GiB, 1 x 1G, then 1 x 2M and 2 x 4K.
	n4k, n2m, n1g := pageSizes(&tb, 0, ^uint64(0))
	if n4k != 4 || n2m != 2 || n1g != 1 {
		t.Fatalf("sizes 4k=%d 2m=%d 1g=%d", n4k, n2m, n1g)
	}
	for off := uint64(0); off < length; off += 0x1234_5000 {
		if p, _, _, ok := tb.Lookup(va + off); !ok || p != pa+off {
			t.Fatalf("Lookup(%#x) = %#x %v", va+off, p, ok)
		}
	}
	if tb.UnmapRange(va, va+length, nil) {
		t.Fatal("partial leaves")
	}
	checkMem(t, m, 1)
	// maxSize 2M and mutually misaligned va/pa.
	if err := tb.MapRange(0x4000_0000, 0x8000_0000, Size1G, 0, Size2M); err != nil {
		t.Fatal(err)
	}
	if n4k, n2m, n1g := pageSizes(&tb, 0, ^uint64(0)); n4k != 0 || n2m != 512 || n1g != 0 {
		t.Fatalf("maxSize 2M: %d %d %d", n4k, n2m, n1g)
	}
	tb.UnmapRange(0, ^uint64(0), nil)
	if err := tb.MapRange(0x20_0000, 0x20_1000, Size2M, 0, Size1G); err != nil {
		t.Fatal(err)
	}
	if n4k, n2m, n1g := pageSizes(&tb, 0, ^uint64(0)); n4k != 512 || n2m != 0 || n1g != 0 {
		t.Fatalf("misaligned pa: %d %d %d", n4k, n2m, n1g)
	}
	tb.UnmapRange(0, ^uint64(0), nil)
	checkMem(t, m, 1)
	// High half.
	if err := tb.MapRange(0xffff_ffff_8000_0000, 0, 0x8000_0000, 0, Size1G); err != nil {
		t.Fatal(err)
	}
	if n4k, n2m, n1g := pageSizes(&tb, hiHalf, ^uint64(0)); n1g != 2 || n4k+n2m != 0 {
		t.Fatalf("high half: %d %d %d", n4k, n2m, n1g)
	}
}

func TestMapRangeRollback(t *testing.T) {
	// Out of table memory part way through.
	for budget := 1; budget < 8; budget++ {
		tb, m := newTable(t, 64, budget)
		if err := tb.Map(0x1000, 0x1000, Size4K, 0); err != nil && budget > 3 {
			t.Fatal(err)
		}
		live := m.live
		before := 0
		tb.Visit(0, ^uint64(0), func(va, pa, size, flags uint64) { before++ })
		// Spans two PDs (two PTs needed) and two PML4 slots.
		err := tb.MapRange(0x7f_ffe0_0000, 0x4000_0000, 0x40_0000+0x3000, Writable, Size4K)
		if err == nil {
			continue
		}
		if err != ErrNoMemory {
			t.Fatalf("budget %d: %v", budget, err)
		}
		after := 0
		tb.Visit(0, ^uint64(0), func(va, pa, size, flags uint64) { after++ })
		if after != before {
			t.Fatalf("budget %d: %d leaves before, %d after rollback", budget, before, after)
		}
		checkMem(t, m, live)
	}
	// Conflict part way through.
	tb, m := newTable(t, 64, -1)
	if err := tb.Map(0x60_0000, 0, Size4K, 0); err != nil {
		t.Fatal(err)
	}
	live := m.live
	if err := tb.MapRange(0, 0, 0x80_0000, 0, Size2M); err != ErrExists {
		t.Fatalf("conflict = %v", err)
	}
	if n4k, n2m, n1g := pageSizes(&tb, 0, ^uint64(0)); n4k != 1 || n2m+n1g != 0 {
		t.Fatalf("after conflict rollback: %d %d %d", n4k, n2m, n1g)
	}
	checkMem(t, m, live)
}

func TestVisitAndUnmapRange(t *testing.T) {
	tb, m := newTable(t, 64, -1)
	maps := []struct{ va, size uint64 }{
		{0x1000, Size4K},
		{0x20_0000, Size2M},
		{0x4000_0000, Size1G},
		{hiHalf, Size4K},
		{0xffff_ffff_ffff_f000, Size4K},
	}
	for i, mp := range maps {
		if err := tb.Map(mp.va, uint64(i)*Size1G, mp.size, 0); err != nil {
			t.Fatal(err)
		}
	}
	var got []uint64
	tb.Visit(0, ^uint64(0), func(va, pa, size, flags uint64) { got = append(got, va) })
	if len(got) != len(maps) {
		t.Fatalf("Visit saw %v", got)
	}
	for i := range maps {
		if got[i] != maps[i].va {
			t.Fatalf("Visit order %x", got)
		}
	}
	// Partial overlap reports the whole leaf.
	got = got[:0]
	tb.Visit(0x20_1000, 0x4000_0001, func(va, pa, size, flags uint64) { got = append(got, va, size) })
	if len(got) != 4 || got[0] != 0x20_0000 || got[1] != Size2M || got[2] != 0x4000_0000 || got[3] != Size1G {
		t.Fatalf("partial Visit %x", got)
	}
	got = got[:0]
	tb.Visit(0xffff_ffff_ffff_f000, ^uint64(0), func(va, pa, size, flags uint64) { got = append(got, va) })
	if len(got) != 1 || got[0] != 0xffff_ffff_ffff_f000 {
		t.Fatalf("top Visit %x", got)
	}
	tb.Visit(5, 5, func(va, pa, size, flags uint64) { t.Fatal("empty range visited") })
	tb.Visit(0, 1, nil)
	// UnmapRange leaves partial leaves, removes inner ones.
	var removed []uint64
	partial := tb.UnmapRange(0x1000, 0x4000_1000, func(va, pa, size, flags uint64) { removed = append(removed, va) })
	if !partial || len(removed) != 2 || removed[0] != 0x1000 || removed[1] != 0x20_0000 {
		t.Fatalf("UnmapRange partial=%v removed %x", partial, removed)
	}
	// [0, 2^64-1) cannot contain the topmost page entirely.
	if !tb.UnmapRange(0, ^uint64(0), nil) {
		t.Fatal("top page not reported partial")
	}
	if _, _, ok := tb.Unmap(0xffff_ffff_ffff_f000); !ok {
		t.Fatal("top page gone")
	}
	checkMem(t, m, 1)
	if tb.UnmapRange(5, 5, nil) {
		t.Fatal("empty range")
	}
}

// refLeaf is a leaf in the reference model.
type refLeaf struct{ pa, size, flags uint64 }

// refModel mirrors a Table with a Go map from leaf base va to leaf.
type refModel map[uint64]refLeaf

// find returns the leaf covering va.
func (r refModel) find(va uint64) (uint64, refLeaf, bool) {
	for _, s := range []uint64{Size4K, Size2M, Size1G} {
		if l, ok := r[va&^(s-1)]; ok && l.size == s {
			return va &^ (s - 1), l, true
		}
	}
	return 0, refLeaf{}, false
}

// conflicts reports whether mapping [va, va+size) hits anything.
func (r refModel) conflicts(va, size uint64) bool {
	for b, l := range r {
		if b <= va+(size-1) && b+(l.size-1) >= va {
			return true
		}
	}
	return false
}

// tables returns the number of table pages the model's leaves need.
func (r refModel) tables() int {
	need := map[[2]uint64]bool{}
	for va, l := range r {
		v := va & 0x0000_ffff_ffff_ffff
		need[[2]uint64{3, v >> 39}] = true
		if l.size <= Size2M {
			need[[2]uint64{2, v >> 30}] = true
		}
		if l.size == Size4K {
			need[[2]uint64{1, v >> 21}] = true
		}
	}
	return 1 + len(need)
}

// slotVA maps a small number to an interesting address: a few regions in
// both halves, with huge-page alignment likely.
func slotVA(x uint64) uint64 {
	regions := [...]uint64{0, 0x7f_c000_0000, 0x7fff_0000_0000, hiHalf, 0xffff_ffff_0000_0000}
	base := regions[x%uint64(len(regions))]
	x /= uint64(len(regions))
	switch x % 3 {
	case 0:
		return base + (x/3%4)*Size1G
	case 1:
		return base + (x/3%8)*Size2M
	}
	return base + (x/3%16)*Size4K + (x/3/16%2)*Size2M
}

func runRandom(t testing.TB, steps int, next func() uint64) {
	tb, m := newTable(t, 512, -1)
	ref := refModel{}
	sizes := [...]uint64{Size4K, Size2M, Size1G}
	for s := 0; s < steps; s++ {
		va := slotVA(next())
		switch next() % 6 {
		case 0, 1:
			size := sizes[next()%3]
			pa := (next() % 64) * Size1G
			flags := next() & (Writable | User | NoExec | Global | Dirty)
			err := tb.Map(va, pa, size, flags)
			var want error
			switch {
			case va&(size-1) != 0:
				want = ErrMisaligned
			case ref.conflicts(va, size):
				want = ErrExists
			}
			if err != want {
				t.Fatalf("Map(%#x,%#x,%#x) = %v, want %v", va, pa, size, err, want)
			}
			if err == nil {
				hf := uint64(0)
				if size > Size4K {
					hf = Huge
				}
				ref[va] = refLeaf{pa, size, flags | Present | hf}
			}
		case 2:
			pa, size, ok := tb.Unmap(va)
			b, l, wok := ref.find(va)
			if ok != wok || (ok && (pa != l.pa || size != l.size)) {
				t.Fatalf("Unmap(%#x) = %#x %#x %v, model %+v %v", va, pa, size, ok, l, wok)
			}
			if wok {
				delete(ref, b)
			}
		case 3:
			flags := next() & (Writable | User | NoExec)
			err := tb.Protect(va, flags)
			b, l, wok := ref.find(va)
			if (err == nil) != wok {
				t.Fatalf("Protect(%#x) = %v, model %v", va, err, wok)
			}
			if wok {
				l.flags = flags | Present | l.flags&Huge
				ref[b] = l
			}
		case 4:
			lo := slotVA(next())
			hi := lo + (next()%4)*Size2M + Size4K
			var freed int
			partial := tb.UnmapRange(lo, hi, func(va, pa, size, flags uint64) { freed++ })
			wantPartial, wantFreed := false, 0
			for b, l := range ref {
				if b < hi && b+(l.size-1) >= lo {
					if b >= lo && b+(l.size-1) <= hi-1 {
						delete(ref, b)
						wantFreed++
					} else {
						wantPartial = true
					}
				}
			}
			if partial != wantPartial || freed != wantFreed {
				t.Fatalf("UnmapRange(%#x,%#x) = %v,%d, model %v,%d", lo, hi, partial, freed, wantPartial, wantFreed)
			}
		default:
			off := next() % Size1G
			pa, fl, size, ok := tb.Lookup(va + off)
			b, l, wok := ref.find(va + off)
			if ok != wok || (ok && (pa != l.pa+(va+off-b) || fl != l.flags || size != l.size)) {
				t.Fatalf("Lookup(%#x) = %#x %#x %#x %v, model %+v %v", va+off, pa, fl, size, ok, l, wok)
			}
		}
		checkMem(t, m, ref.tables())
	}
	n := 0
	tb.Visit(0, ^uint64(0), func(va, pa, size, flags uint64) {
		l, ok := ref[va]
		if !ok || l.pa != pa || l.size != size || l.flags != flags {
			t.Fatalf("Visit leaf %#x not in model", va)
		}
		n++
	})
	if n != len(ref) {
		t.Fatalf("Visit saw %d leaves, model has %d", n, len(ref))
	}
	tb.Destroy()
	checkMem(t, m, 0)
}

func TestRandomAgainstModel(t *testing.T) {
	for seed := int64(1); seed <= 30; seed++ {
		r := rand.New(rand.NewSource(seed))
		runRandom(t, 500, r.Uint64)
	}
}

func FuzzTable(f *testing.F) {
	f.Add([]byte{0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
	f.Add([]byte("map unmap protect lookup visit destroy"))
	f.Fuzz(func(t *testing.T, ops []byte) {
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
		runRandom(t, steps, next)
	})
}

// visitSink is a package-level counter so the Visit callback in the
// allocation test needs no capture.
var visitSink uint64

func countLeaf(va, pa, size, flags uint64) { visitSink += size }

func TestZeroAllocs(t *testing.T) {
	tb, m := newTable(t, 64, -1)
	// Pre-grow: one page in each size so every table exists.
	if err := tb.Map(0x1000, 0x1000, Size4K, 0); err != nil {
		t.Fatal(err)
	}
	if err := tb.Map(0x4000_0000, 0, Size1G, 0); err != nil {
		t.Fatal(err)
	}
	live := m.live
	var sink error
	var sum uint64
	n := testing.AllocsPerRun(1000, func() {
		sink = tb.Map(0x2000, 0x5000, Size4K, Writable|NoExec)
		_, _, _, _ = tb.Lookup(0x2abc)
		sink = tb.Protect(0x2000, Writable)
		_, _, _ = tb.Unmap(0x2000)
		sink = tb.Map(0x20_0000, 0x20_0000, Size2M, Writable)
		_, _, _ = tb.Unmap(0x20_0000)
		sink = tb.Map(0x1000, 0, Size4K, 0) // ErrExists
		sink = tb.Map(1, 0, Size4K, 0)      // ErrMisaligned
		sink = tb.MapRange(0x10_0000, 0x10_0000, 0x4000, Writable, Size2M)
		tb.UnmapRange(0x10_0000, 0x10_4000, countLeaf)
		tb.Visit(0, ^uint64(0), countLeaf)
		local := uint64(0)
		tb.Visit(0, ^uint64(0), func(va, pa, size, flags uint64) { local += size })
		sum += local
		_ = ErrExists.Error()
	})
	_, _ = sink, sum
	if n != 0 {
		t.Fatalf("hot paths allocate: %v allocs/run", n)
	}
	checkMem(t, m, live)
}

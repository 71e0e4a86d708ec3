package amdvi

import (
	"math/rand"
	"testing"
)

func newTree(t *testing.T, mem *fakeMem) (*PageTable, DTE) {
	t.Helper()
	pt, err := NewPageTable(mem, DefaultLevels)
	if err != nil {
		t.Fatal(err)
	}
	d, err := TranslatedDTE(pt.Root, pt.Levels, 1, PermRW)
	if err != nil {
		t.Fatal(err)
	}
	return pt, d
}

func TestMap4KEntries(t *testing.T) {
	mem := newFakeMem()
	pt, d := newTree(t, mem)
	const iova, pa = 0x0000_8040_2010_3000, 0x7_6543_2000
	if err := pt.Map(iova, pa, Size4K, PermRead); err != nil {
		t.Fatal(err)
	}
	// Indices: level 4 bits 47:39, 3 38:30, 2 29:21, 1 20:12.
	idx := []int{int(iova >> 39 & 511), int(iova >> 30 & 511), int(iova >> 21 & 511), int(iova >> 12 & 511)}
	tbl := mem.frames[pt.Root]
	for level := 4; level > 1; level-- {
		e := tbl[idx[4-level]]
		// PR, NextLevel = level-1, IR, IW on directory entries.
		if e&PTEPresent == 0 || int(e>>9&7) != level-1 || e&(PTERead|PTEWrite) != PTERead|PTEWrite {
			t.Fatalf("level %d entry %#x", level, e)
		}
		tbl = mem.frames[e&PTEAddrMask]
	}
	leaf := tbl[idx[3]]
	if leaf != PTEPresent|pa|PTEForceCoh|PTERead {
		t.Errorf("leaf %#x, want %#x", leaf, PTEPresent|uint64(pa)|PTEForceCoh|PTERead)
	}
	tr, f := Walk(mem, d, iova+0x123)
	if f != FaultNone || tr.PA != pa+0x123 || tr.Size != Size4K || tr.Perm != PermRead {
		t.Errorf("Walk = %+v %v", tr, f)
	}
	if _, f := Walk(mem, d, iova+Size4K); f != FaultNotPresent {
		t.Errorf("next page: %v, want not present", f)
	}
	if err := pt.Map(iova, pa, Size4K, PermRW); err != ErrExists {
		t.Errorf("remap: %v, want ErrExists", err)
	}
}

func TestMap2M(t *testing.T) {
	mem := newFakeMem()
	pt, d := newTree(t, mem)
	if err := pt.Map(0x4020_0000, 0x8000_0000, Size2M, PermRW); err != nil {
		t.Fatal(err)
	}
	if mem.allocs != 3 { // root, level 3, level 2: no level-1 table
		t.Errorf("%d tables for one 2 MiB page, want 3", mem.allocs)
	}
	tr, f := Walk(mem, d, 0x4020_0000+0x1f_f123)
	if f != FaultNone || tr.PA != 0x8000_0000+0x1f_f123 || tr.Size != Size2M || tr.Perm != PermRW {
		t.Errorf("Walk = %+v %v", tr, f)
	}
	// A 4 KiB page inside it is refused; so is a 2 MiB page over it.
	if err := pt.Map(0x4020_1000, 0x1000, Size4K, PermRW); err != ErrExists {
		t.Errorf("4K inside 2M: %v", err)
	}
	for _, c := range []struct{ iova, pa, size uint64 }{
		{0x4010_0000, 0, Size2M}, {0, 0x10_0000, Size2M}, {0x800, 0, Size4K}, {0, 0, 3 << 12},
	} {
		if err := pt.Map(c.iova, c.pa, c.size, PermRW); err == nil {
			t.Errorf("Map(%#x, %#x, %#x) accepted", c.iova, c.pa, c.size)
		}
	}
	if err := pt.Map(1<<48, 0, Size4K, PermRW); err != ErrRange {
		t.Errorf("iova 2^48 in a 4-level tree: %v, want ErrRange", err)
	}
	if err := pt.Map(0, 1<<52, Size4K, PermRW); err != ErrBadAddress {
		t.Errorf("pa 2^52: %v", err)
	}
}

func TestMapRangePicksPageSizes(t *testing.T) {
	mem := newFakeMem()
	pt, d := newTree(t, mem)
	// 1 MiB below a 2 MiB boundary, through 4 MiB, and 12 KiB past it.
	start, length := uint64(0x10_0000), uint64(0x10_0000+0x40_0000+0x3000)
	if err := pt.MapRange(start, start+0x1_0000_0000, length, PermRW); err != nil {
		t.Fatal(err)
	}
	sizes := map[uint64]int{}
	for a := start; a < start+length; {
		tr, f := Walk(mem, d, a)
		if f != FaultNone || tr.PA != a+0x1_0000_0000 {
			t.Fatalf("Walk(%#x) = %+v %v", a, tr, f)
		}
		sizes[tr.Size]++
		a = a&^(tr.Size-1) + tr.Size
	}
	if sizes[Size2M] != 2 || sizes[Size4K] != 256+3 {
		t.Errorf("pages used: %v, want 2 of 2 MiB and 259 of 4 KiB", sizes)
	}
	if _, f := Walk(mem, d, start+length); f != FaultNotPresent {
		t.Errorf("past the range: %v", f)
	}
	// Different alignment of iova and pa: 4 KiB pages only.
	mem2 := newFakeMem()
	pt2, d2 := newTree(t, mem2)
	if err := pt2.MapRange(0x20_0000, 0x20_1000, Size2M, PermRW); err != nil {
		t.Fatal(err)
	}
	if tr, _ := Walk(mem2, d2, 0x20_0000); tr.Size != Size4K {
		t.Errorf("misaligned pa mapped with %#x pages", tr.Size)
	}
}

func TestMapRangeRollsBack(t *testing.T) {
	mem := newFakeMem()
	pt, d := newTree(t, mem)
	if err := pt.Map(0x60_0000, 0x60_0000, Size4K, PermRW); err != nil { // blocks the range's tail
		t.Fatal(err)
	}
	if err := pt.MapRange(0, 0, 0x80_0000, PermRW); err != ErrExists {
		t.Fatalf("MapRange over a mapping: %v", err)
	}
	for a := uint64(0); a < 0x80_0000; a += Size4K {
		_, f := Walk(mem, d, a)
		if (a == 0x60_0000) != (f == FaultNone) {
			t.Fatalf("after rollback %#x: %v", a, f)
		}
	}
	// Out of memory half way: nothing stays mapped.
	mem2 := newFakeMem()
	pt2, d2 := newTree(t, mem2)
	mem2.limit = mem2.allocs + 2 // the first 1 GiB's tables, not the second's
	if err := pt2.MapRange(0x3fe0_0000, 0x3fe0_0000, 0x40_0000, PermRW); err != ErrNoMemory {
		t.Fatalf("MapRange without memory: %v", err)
	}
	if _, f := Walk(mem2, d2, 0x3fe0_0000); f != FaultNotPresent {
		t.Errorf("first page still mapped after a failed MapRange: %v", f)
	}
}

func TestUnmapSplits2M(t *testing.T) {
	mem := newFakeMem()
	pt, d := newTree(t, mem)
	if err := pt.MapRange(0, 0x4000_0000, 0x40_0000, PermRW); err != nil {
		t.Fatal(err)
	}
	// Punch 8 KiB out of the first 2 MiB page; drop the second entirely.
	if err := pt.UnmapRange(0x10_0000, 0x2000); err != nil {
		t.Fatal(err)
	}
	if err := pt.UnmapRange(0x20_0000, 0x20_0000); err != nil {
		t.Fatal(err)
	}
	for a := uint64(0); a < 0x40_0000; a += Size4K {
		tr, f := Walk(mem, d, a)
		hole := a >= 0x10_0000 && a < 0x10_2000 || a >= 0x20_0000
		if hole != (f != FaultNone) {
			t.Fatalf("%#x: %+v %v, hole %v", a, tr, f, hole)
		}
		if !hole && (tr.PA != a+0x4000_0000 || tr.Size != Size4K || tr.Perm != PermRW) {
			t.Fatalf("%#x after the split: %+v", a, tr)
		}
	}
	// Unmapping holes is fine; a split without memory fails cleanly.
	if err := pt.UnmapRange(0x100_0000, 0x100_0000); err != nil {
		t.Errorf("unmap of nothing: %v", err)
	}
	if err := pt.Map(0x40_0000, 0, Size2M, PermRW); err != nil {
		t.Fatal(err)
	}
	mem.limit = mem.allocs
	if err := pt.UnmapRange(0x40_1000, Size4K); err != ErrNoMemory {
		t.Errorf("split without memory: %v", err)
	}
	if tr, f := Walk(mem, d, 0x40_1000); f != FaultNone || tr.Size != Size2M {
		t.Errorf("the 2 MiB page changed after a failed split: %+v %v", tr, f)
	}
}

func TestMap2MOverEmptyTable(t *testing.T) {
	mem := newFakeMem()
	pt, d := newTree(t, mem)
	if err := pt.Map(0x20_3000, 0x3000, Size4K, PermRW); err != nil {
		t.Fatal(err)
	}
	if err := pt.UnmapRange(0x20_3000, Size4K); err != nil {
		t.Fatal(err)
	}
	if err := pt.Map(0x20_0000, 0x80_0000, Size2M, PermRead); err != nil {
		t.Fatalf("2 MiB over an emptied table: %v", err)
	}
	for a := uint64(0x20_0000); a < 0x40_0000; a += Size4K {
		if tr, f := Walk(mem, d, a); f != FaultNone || tr.PA != a+0x60_0000 || tr.Perm != PermRead {
			t.Fatalf("%#x: %+v %v", a, tr, f)
		}
	}
}

func TestDestroyFreesEveryTable(t *testing.T) {
	mem := newFakeMem()
	pt, _ := newTree(t, mem)
	if err := pt.MapRange(0, 0, 0x40_0000, PermRW); err != nil {
		t.Fatal(err)
	}
	if err := pt.MapRange(0x7f_0000_0000, 0, 0x3000, PermRW); err != nil {
		t.Fatal(err)
	}
	if err := pt.UnmapRange(0x1000, 0x1000); err != nil { // a split table too
		t.Fatal(err)
	}
	pt.Destroy()
	if len(mem.freed) != mem.allocs {
		t.Errorf("freed %d of %d tables", len(mem.freed), mem.allocs)
	}
	pt.Destroy() // a second Destroy is harmless
}

// TestPageTableModel maps and unmaps random ranges and checks every page
// against a plain map.
func TestPageTableModel(t *testing.T) {
	rng := rand.New(rand.NewSource(9))
	mem := newFakeMem()
	pt, d := newTree(t, mem)
	model := map[uint64]uint64{} // iova page → pa page
	const space = 0x100_0000     // 16 MiB window, so 2 MiB pages and splits happen
	for step := 0; step < 300; step++ {
		iova := uint64(rng.Intn(space/4096)) * 4096
		n := uint64(1+rng.Intn(1200)) * 4096
		if iova+n > space {
			n = space - iova
		}
		if rng.Intn(3) == 0 {
			if err := pt.UnmapRange(iova, n); err != nil {
				t.Fatal(err)
			}
			for a := iova; a < iova+n; a += 4096 {
				delete(model, a)
			}
			continue
		}
		pa := iova + uint64(rng.Intn(4))*0x20_0000
		free := true
		for a := iova; a < iova+n; a += 4096 {
			if _, ok := model[a]; ok {
				free = false
			}
		}
		err := pt.MapRange(iova, pa, n, PermRW)
		if free != (err == nil) {
			t.Fatalf("step %d: MapRange(%#x, %#x) = %v, range free %v", step, iova, n, err, free)
		}
		if err == nil {
			for a := iova; a < iova+n; a += 4096 {
				model[a] = pa + (a - iova)
			}
		}
		for a := uint64(0); a < space; a += 4096 {
			tr, f := Walk(mem, d, a)
			want, ok := model[a]
			if ok != (f == FaultNone) || ok && tr.PA != want {
				t.Fatalf("step %d: %#x maps to %#x (%v), model %#x %v", step, a, tr.PA, f, want, ok)
			}
		}
	}
}

func TestWalkFormats(t *testing.T) {
	mem := newFakeMem()
	root, _ := mem.AllocTable()
	l2, _ := mem.AllocTable()
	l1, _ := mem.AllocTable()
	d, _ := TranslatedDTE(root, 3, 1, PermRW)
	r := mem.frames[root]
	// Skip level 2: the level-3 entry 0 points straight at a level-1 table.
	r[0] = PTEPresent | 1<<9 | l1 | PTERead | PTEWrite
	mem.frames[l1][5] = PTEPresent | 0xabc000 | PTERead | PTEWrite
	if tr, f := Walk(mem, d, 0x5000); f != FaultNone || tr.PA != 0xabc000 || tr.Size != Size4K {
		t.Errorf("skip level: %+v %v", tr, f)
	}
	// A skipped level's index bits must be zero.
	if _, f := Walk(mem, d, 0x20_5000); f != FaultBadEntry {
		t.Errorf("nonzero skipped index: %v", f)
	}
	// NextLevel 7 at level 2: an 8 MiB page (address bits 12..21 set, 22
	// clear).
	r[1] = PTEPresent | 2<<9 | l2 | PTERead | PTEWrite
	big := PTEPresent | 7<<9 | 0x8000_0000 | 0x3f_f000 | PTERead
	mem.frames[l2][4] = big
	base := uint64(1<<30 + 4<<21)
	if tr, f := Walk(mem, d, base+0x12_3456); f != FaultNone || tr.Size != 8<<20 || tr.PA != 0x8000_0000+(base+0x12_3456)&(8<<20-1) || tr.Perm != PermRead {
		t.Errorf("large page: %+v %v", tr, f)
	}
	// A NextLevel-7 entry whose size does not exceed its level's is malformed.
	mem.frames[l2][5] = PTEPresent | 7<<9 | 0x8000_0000 | PTERead
	if _, f := Walk(mem, d, 1<<30+5<<21); f != FaultBadEntry {
		t.Errorf("8 KiB large page at level 2: %v", f)
	}
	// NextLevel above the current level is malformed.
	r[2] = PTEPresent | 5<<9 | l2
	if _, f := Walk(mem, d, 2<<30); f != FaultBadEntry {
		t.Errorf("NextLevel 5 at level 3: %v", f)
	}
	// Permissions AND over the walk.
	r[3] = PTEPresent | 1<<9 | l1 | PTERead
	if tr, f := Walk(mem, d, 3<<30+0x5000); f != FaultNone || tr.Perm != PermRead {
		t.Errorf("read-only directory: %+v %v", tr, f)
	}
	if _, f := Walk(mem, d, 1<<39); f != FaultRange {
		t.Errorf("beyond 39 bits in a 3-level tree: %v", f)
	}
	if _, f := Walk(mem, DTE{}, 0); f != FaultBadDTE {
		t.Errorf("V=0: %v", f)
	}
	if tr, f := Walk(mem, BlockedDTE(), 0x1234); f != FaultNone || tr.Perm != 0 {
		t.Errorf("blocked: %+v %v", tr, f)
	}
	// A directory entry pointing nowhere.
	r[4] = PTEPresent | 2<<9 | 0xdead000
	if _, f := Walk(mem, d, 4<<30); f != FaultNotPresent {
		t.Errorf("dangling table: %v", f)
	}
}

// FuzzWalk walks hostile tables: Walk must not panic or loop.
func FuzzWalk(f *testing.F) {
	f.Add(uint64(0x6000_0000_0010_0803), uint64(0x6000_0000_0010_1603), uint64(0x1234), []byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, q0, e, iova uint64, fill []byte) {
		mem := newFakeMem()
		mem.region(0x100000, 4)
		for i, b := range fill {
			pg := uint64(0x100000 + (i%4)*4096)
			mem.frames[pg][(i*7)%512] = e ^ uint64(b)<<(uint(i)%56) | uint64(i%4)<<12
		}
		d := DTE{q0&^dteRootMsk | 0x100000}
		tr, k := Walk(mem, d, iova)
		if k == FaultNone && tr.Size == 0 {
			t.Fatalf("translation with no size: %+v", tr)
		}
	})
}

package npt

import (
	"bytes"
	"errors"
	"testing"

	"gozen/mm/pgtable"
)

// fakeMachine is machine memory plus a frame allocator and table pages.
type fakeMachine struct {
	mem    map[uint64]*[page]byte // by frame address
	next   uint64
	limit  uint64 // frames handed out must stay below this
	freed  map[uint64]bool
	tables int
	noBig  bool
}

func newMachine(limit uint64) *fakeMachine {
	return &fakeMachine{mem: map[uint64]*[page]byte{}, next: 0x1000000, limit: limit, freed: map[uint64]bool{}}
}

func (f *fakeMachine) Alloc(n, align uint64) (uint64, bool) {
	if f.noBig && n > 1 {
		return 0, false
	}
	a := align * page
	pa := (f.next + a - 1) / a * a
	if pa+n*page > f.limit {
		return 0, false
	}
	f.next = pa + n*page
	for i := uint64(0); i < n; i++ {
		f.mem[pa+i*page] = new([page]byte)
	}
	return pa, true
}

func (f *fakeMachine) Free(pa, n uint64) {
	for i := uint64(0); i < n; i++ {
		if f.mem[pa+i*page] == nil {
			panic("free of unallocated frame")
		}
		delete(f.mem, pa+i*page)
		f.freed[pa+i*page] = true
	}
}

func (f *fakeMachine) Bytes(pa, n uint64) []byte {
	fr := f.mem[pa&^(page-1)]
	if fr == nil {
		panic("access to unallocated frame")
	}
	off := pa % page
	return fr[off : off+n]
}

// pgtable.Memory
func (f *fakeMachine) AllocTable() (uint64, bool) {
	pa, ok := f.Alloc(1, 1)
	if ok {
		f.tables++
	}
	return pa, ok
}
func (f *fakeMachine) FreeTable(pa uint64) { f.tables--; f.Free(pa, 1) }
func (f *fakeMachine) Table(pa uint64) *[512]uint64 {
	return (*[512]uint64)(unsafePointer(f.mem[pa]))
}

func TestPopulateUsesBigPagesAndTranslates(t *testing.T) {
	f := newMachine(1 << 32)
	m, err := New(f, f, f)
	if err != nil {
		t.Fatal(err)
	}
	size := uint64(16<<20 + 12<<10) // 8 big pages + 3 small ones
	if err := m.Populate(size); err != nil {
		t.Fatal(err)
	}
	if m.BigPages() != 8 || m.Size() != size {
		t.Errorf("big=%d size=%#x", m.BigPages(), m.Size())
	}
	for _, gpa := range []uint64{0, 0x1234, 2<<20 - 1, 5 << 20, size - 1} {
		hpa, ok := m.Translate(gpa)
		if !ok || hpa%page != gpa%page {
			t.Errorf("translate %#x = %#x %v", gpa, hpa, ok)
		}
	}
	if _, ok := m.Translate(size); ok {
		t.Error("translated beyond RAM")
	}
	// Leaves carry the User bit (nested walks are user accesses).
	_, flags, sz, _ := m.pt.Lookup(0)
	if flags&pgtable.User == 0 || flags&pgtable.NoExec != 0 || sz != pgtable.Size2M {
		t.Errorf("leaf flags %#x size %#x", flags, sz)
	}
}

func TestCopyAcrossPages(t *testing.T) {
	f := newMachine(1 << 32)
	f.noBig = true // scattered 4 KiB frames
	m, _ := New(f, f, f)
	if err := m.Populate(64 << 10); err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("GoZen!"), 3000) // 18000 bytes, spans 5 pages
	if err := m.WritePhys(0x0ffe, data); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(data))
	if err := m.ReadPhys(0x0ffe, got); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read back differs (%v)", err)
	}
	var oe *ErrOutside
	if err := m.ReadPhys(64<<10-2, make([]byte, 4)); !errors.As(err, &oe) || oe.GPA != 64<<10 {
		t.Errorf("read past end: %v", err)
	}
	if err := m.Zero(0x0ffe, 10); err != nil {
		t.Fatal(err)
	}
	m.ReadPhys(0x0ffe, got[:10])
	if !bytes.Equal(got[:10], make([]byte, 10)) {
		t.Error("zero failed")
	}
}

func TestReleaseFreesEverything(t *testing.T) {
	f := newMachine(1 << 32)
	m, _ := New(f, f, f)
	if err := m.Populate(6<<20 + 8<<10); err != nil {
		t.Fatal(err)
	}
	m.Release()
	if len(f.mem) != 0 || f.tables != 0 {
		t.Errorf("%d frames and %d tables still allocated", len(f.mem), f.tables)
	}
}

func TestPopulateOutOfMemoryRollsBack(t *testing.T) {
	f := newMachine(0x1000000 + 5<<20) // room for tables and about 4 MiB
	m, _ := New(f, f, f)
	if err := m.Populate(32 << 20); !errors.Is(err, ErrNoMemory) {
		t.Fatalf("err = %v", err)
	}
	if len(f.mem) != 0 {
		t.Errorf("%d frames leaked", len(f.mem))
	}
}

func TestPopulateRejectsBadSizes(t *testing.T) {
	f := newMachine(1 << 32)
	m, _ := New(f, f, f)
	for _, s := range []uint64{0, 100, MaxGPA + page} {
		if m.Populate(s) == nil {
			t.Errorf("size %#x accepted", s)
		}
	}
	m.Populate(page)
	if m.Populate(page) == nil {
		t.Error("second populate accepted")
	}
}

func TestWordReads(t *testing.T) {
	f := newMachine(1 << 32)
	f.noBig = true
	m, _ := New(f, f, f)
	m.Populate(16 << 10)
	m.WritePhys(0xffc, []byte{1, 2, 3, 4, 5, 6, 7, 8}) // straddles a page
	if v, err := m.ReadPhys64(0xffc); err != nil || v != 0x0807060504030201 {
		t.Errorf("ReadPhys64 = %#x %v", v, err)
	}
	m.WritePhys(0x2008, []byte{0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88}) // inside a page
	if v, err := m.ReadPhys64(0x2008); err != nil || v != 0x8877665544332211 {
		t.Errorf("ReadPhys64 inside a page = %#x %v", v, err)
	}
	if v, err := m.ReadPhys64(0x2ff8); err != nil || v != 0 {
		t.Errorf("ReadPhys64 at a page's last word = %#x %v", v, err)
	}
	if _, err := m.ReadPhys64(16<<10 - 4); err == nil {
		t.Error("ReadPhys64 across the end of RAM")
	}
	if _, err := m.ReadPhys64(16 << 10); err == nil {
		t.Error("ReadPhys64 beyond RAM")
	}
	if n := testing.AllocsPerRun(100, func() { m.ReadPhys64(0x100) }); n != 0 {
		t.Errorf("ReadPhys64: %v allocations", n)
	}
	if v, _ := m.ReadPhys32(0x1000); v != 0x08070605 {
		t.Errorf("ReadPhys32 = %#x", v)
	}
	if _, err := m.ReadPhys32(16 << 10); err == nil {
		t.Error("read beyond RAM")
	}
	if n := testing.AllocsPerRun(100, func() { m.ReadPhys32(0x100) }); n != 0 {
		t.Errorf("%v allocations", n)
	}
}

func TestMapFrameSplitsAndRestores(t *testing.T) {
	f := newMachine(1 << 32)
	m, _ := New(f, f, f)
	if err := m.Populate(4 << 20); err != nil {
		t.Fatal(err)
	}
	ram, _ := m.Translate(0x1000 * 5)
	extra, _ := f.Alloc(1, 1)
	copy(f.Bytes(extra, 4), "XTRA")
	if err := m.MapFrame(5, extra, false); err != nil {
		t.Fatal(err)
	}
	if m.BigPages() != 1 {
		t.Errorf("big pages %d after split, want 1", m.BigPages())
	}
	var b [4]byte
	m.ReadPhys(5*4096, b[:])
	if string(b[:]) != "XTRA" {
		t.Errorf("read %q through the overlay", b)
	}
	if hpa, _ := m.Translate(6 * 4096); hpa != ram+4096 {
		t.Errorf("neighbour moved: %#x", hpa)
	}
	if m.IsRAM(5) || !m.IsRAM(6) {
		t.Error("IsRAM wrong")
	}
	// Beyond RAM too (grant frames live in unpopulated space).
	if err := m.MapFrame(0x10000, extra, true); err != nil {
		t.Fatal(err)
	}
	if err := m.MapFrame(5, extra, false); err == nil {
		t.Error("double overlay accepted")
	}
	if got, err := m.UnmapFrame(5); err != nil || got != extra {
		t.Fatal(got, err)
	}
	if hpa, _ := m.Translate(5 * 4096); hpa != ram {
		t.Errorf("RAM not restored: %#x want %#x", hpa, ram)
	}
	if _, err := m.UnmapFrame(5); err == nil {
		t.Error("second unmap accepted")
	}
	if _, ok := m.Translate(0x10000 * 4096); !ok {
		t.Error("overlay beyond RAM not translated")
	}
}

func TestBalloonRemoveAndAdd(t *testing.T) {
	f := newMachine(1 << 32)
	m, err := New(f, f, f)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Populate(4 << 20); err != nil {
		t.Fatal(err)
	}
	total := uint64(4<<20) / page
	if m.Pages() != total {
		t.Fatalf("Pages = %d, want %d", m.Pages(), total)
	}
	// Give back 4 frames inside a 2 MiB page: it is split, they are freed.
	hpa, _ := m.Translate(0x10 * page)
	if err := m.RemoveRAM(0x10, 4); err != nil {
		t.Fatal(err)
	}
	if !f.freed[hpa] || m.IsRAM(0x10) || m.IsRAM(0x13) || !m.IsRAM(0x14) {
		t.Fatalf("after RemoveRAM: freed=%v IsRAM(0x10)=%v IsRAM(0x13)=%v IsRAM(0x14)=%v",
			f.freed[hpa], m.IsRAM(0x10), m.IsRAM(0x13), m.IsRAM(0x14))
	}
	if _, ok := m.Translate(0x11 * page); ok {
		t.Fatal("a removed frame still translates")
	}
	if m.Pages() != total-4 {
		t.Fatalf("Pages = %d, want %d", m.Pages(), total-4)
	}
	if err := m.RemoveRAM(0x12, 1); err == nil {
		t.Fatal("removing a hole twice succeeded")
	}
	// Back two of them again, and one frame beyond the RAM.
	if err := m.AddRAM(0x10, 2); err != nil {
		t.Fatal(err)
	}
	if err := m.AddRAM(0x14, 1); err == nil {
		t.Fatal("AddRAM over RAM succeeded")
	}
	beyond := uint64(8<<20) / page
	if err := m.AddRAM(beyond, 1); err != nil {
		t.Fatal(err)
	}
	if !m.IsRAM(0x10) || !m.IsRAM(beyond) || m.IsRAM(0x12) {
		t.Fatal("IsRAM wrong after AddRAM")
	}
	if err := m.WritePhys(beyond*page, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	if m.Pages() != total-1 {
		t.Fatalf("Pages = %d, want %d", m.Pages(), total-1)
	}
	// An added frame can be given back too; unplaced frames count.
	if err := m.RemoveRAM(beyond, 1); err != nil || m.IsRAM(beyond) {
		t.Fatalf("RemoveRAM(beyond): %v", err)
	}
	if err := m.AddUnplaced(3); err != nil || m.Pages() != total-2+3 {
		t.Fatalf("AddUnplaced: %v, Pages %d", err, m.Pages())
	}
	// Frames with something mapped over them are not RAM to give back.
	if err := m.MapFrame(0x20, 0x7000000, false); err != nil {
		t.Fatal(err)
	}
	if err := m.RemoveRAM(0x1f, 2); err == nil || !m.IsRAM(0x1f) {
		t.Fatal("RemoveRAM across an overlay succeeded or half-happened")
	}
	m.UnmapFrame(0x20)
	// Release frees every frame exactly once (the fake panics otherwise)
	// and leaves no frame allocated but the ones never ours.
	m.Release()
	for pa := range f.mem {
		if pa != 0x7000000 {
			t.Fatalf("frame %#x still allocated after Release", pa)
		}
	}
}

func TestAddRAMOutOfMemoryRollsBack(t *testing.T) {
	f := newMachine(1 << 32)
	m, _ := New(f, f, f)
	if err := m.Populate(2 << 20); err != nil {
		t.Fatal(err)
	}
	before := len(f.mem)
	f.limit = f.next + 2*page // room for two more frames only
	if err := m.AddRAM(0x1000, 8); err != ErrNoMemory {
		t.Fatalf("AddRAM = %v, want ErrNoMemory", err)
	}
	if len(f.mem) != before || m.IsRAM(0x1000) || m.Pages() != (2<<20)/page {
		t.Fatalf("AddRAM failure left frames behind: %d -> %d, Pages %d", before, len(f.mem), m.Pages())
	}
	if err := m.AddUnplaced(8); err != ErrNoMemory || len(f.mem) != before {
		t.Fatalf("AddUnplaced = %v, frames %d -> %d", err, before, len(f.mem))
	}
}

// A frame mapped read-only (a GNTMAP_readonly grant mapping) is refused to
// WritePhys, as the nested page tables refuse the guest's own writes, and a
// write that reaches it from writable RAM changes nothing at all. Lookup
// tells hv what backs each frame.
func TestReadOnlyFrameRefusesWrites(t *testing.T) {
	f := newMachine(1 << 32)
	m, _ := New(f, f, f)
	if err := m.Populate(4 << 20); err != nil {
		t.Fatal(err)
	}
	victim, _ := f.Alloc(1, 1)
	copy(f.Bytes(victim, 6), "CANARY")
	rw, _ := f.Alloc(1, 1)
	if err := m.MapFrame(7, victim, true); err != nil { // over RAM
		t.Fatal(err)
	}
	if err := m.MapFrame(0x10000, victim, true); err != nil { // beyond RAM
		t.Fatal(err)
	}
	if err := m.MapFrame(0x10001, rw, false); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		gpa uint64
		n   int
	}{{7 * page, 6}, {7*page + 100, 8}, {6*page + page - 4, 8}, {0x10000 * page, 4096}, {0x10001*page - 2, 4}} {
		before := append([]byte(nil), f.Bytes(victim, page)...)
		var below [8]byte
		m.ReadPhys(6*page+page-8, below[:])
		err := m.WritePhys(tc.gpa, bytes.Repeat([]byte{0xAA}, tc.n))
		var ro *ErrReadOnly
		if !errors.As(err, &ro) {
			t.Errorf("write at %#x+%d: %v, want ErrReadOnly", tc.gpa, tc.n, err)
		}
		if !bytes.Equal(before, f.Bytes(victim, page)) {
			t.Errorf("write at %#x+%d changed the read-only frame", tc.gpa, tc.n)
		}
		var after [8]byte
		m.ReadPhys(6*page+page-8, after[:])
		if below != after {
			t.Errorf("write at %#x+%d wrote the RAM before the read-only frame", tc.gpa, tc.n)
		}
		if err := m.Zero(tc.gpa, uint64(tc.n)); err == nil {
			t.Errorf("Zero at %#x+%d accepted", tc.gpa, tc.n)
		}
	}
	if err := m.WritePhys(0x10001*page, []byte("ok")); err != nil {
		t.Errorf("write to a writable mapped frame: %v", err)
	}
	if err := m.WritePhys(6*page, []byte("ok")); err != nil {
		t.Errorf("write to RAM: %v", err)
	}
	for _, tc := range []struct {
		gfn  uint64
		kind Kind
		w    bool
	}{{6, RAM, true}, {7, Mapped, false}, {0x10000, Mapped, false}, {0x10001, Mapped, true}, {0x10002, Unbacked, false}, {1 << 40, Unbacked, false}} {
		if k, w := m.Lookup(tc.gfn); k != tc.kind || w != tc.w {
			t.Errorf("Lookup(%#x) = %v, %v; want %v, %v", tc.gfn, k, w, tc.kind, tc.w)
		}
	}
	if !m.HidesRAM(7) || m.HidesRAM(0x10000) || m.HidesRAM(6) {
		t.Error("HidesRAM wrong")
	}
	if !m.WritableRAM(0, 7*page) || m.WritableRAM(6*page, page+1) || m.WritableRAM(0x10001*page, 1) || m.WritableRAM(0, 0) {
		t.Error("WritableRAM wrong")
	}
	// Unmapped, the RAM under it is writable again.
	m.UnmapFrame(7)
	if k, w := m.Lookup(7); k != RAM || !w || m.WritePhys(7*page, []byte("ok")) != nil {
		t.Error("RAM under an unmapped frame not writable")
	}
	if !bytes.Equal(f.Bytes(victim, 6), []byte("CANARY")) {
		t.Error("the read-only frame changed")
	}
}

// A toolstack populates a new domain from gfn 0 up, in 2 MiB extents where
// it can: AddRAM at the end of the RAM run extends it with 2 MiB pages
// where aligned (and the pool has them), 4 KiB frames elsewhere, and
// everything else (ballooning, Release, the frame count) works on it as on
// RAM populated at creation. A failure part-way leaves nothing behind.
func TestAddRAMAtTheEndGrowsTheRun(t *testing.T) {
	f := newMachine(1 << 32)
	m, _ := New(f, f, f)
	start := len(f.mem)
	if err := m.AddRAM(0, 2*bigPages); err != nil {
		t.Fatal(err)
	}
	if err := m.AddRAM(2*bigPages, 3); err != nil {
		t.Fatal(err)
	}
	if m.BigPages() != 2 || m.Size() != 2*bigPage+3*page || m.Pages() != 2*bigPages+3 || len(m.extra) != 0 {
		t.Fatalf("big %d, size %#x, pages %d, extra %d", m.BigPages(), m.Size(), m.Pages(), len(m.extra))
	}
	if !m.IsRAM(0) || !m.IsRAM(2*bigPages+2) || m.IsRAM(2*bigPages+3) {
		t.Error("IsRAM wrong after growing")
	}
	if err := m.WritePhys(bigPage-2, []byte{1, 2, 3, 4}); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 4)
	if err := m.ReadPhys(bigPage-2, got); err != nil || !bytes.Equal(got, []byte{1, 2, 3, 4}) {
		t.Fatalf("across the 2 MiB pages: %v %v", got, err)
	}
	// Not at the end: a frame of its own, as before.
	if err := m.AddRAM(0x10000, 1); err != nil || len(m.extra) != 1 {
		t.Fatalf("AddRAM beyond: %v, extra %d", err, len(m.extra))
	}
	// Ballooning a frame out of a 2 MiB page splits it.
	if err := m.RemoveRAM(5, 1); err != nil {
		t.Fatal(err)
	}
	if m.BigPages() != 1 || m.IsRAM(5) || m.Pages() != 2*bigPages+3 {
		t.Errorf("after RemoveRAM: big %d, pages %d", m.BigPages(), m.Pages())
	}
	if err := m.AddRAM(5, 1); err != nil || !m.IsRAM(5) {
		t.Fatalf("AddRAM into the hole: %v", err)
	}
	m.Release()
	if len(f.mem) != start-1 { // the root table goes too
		t.Errorf("%d frames left after Release, want %d", len(f.mem), start-1)
	}

	// Out of memory half way: the run is cut back, nothing leaks.
	f = newMachine(1 << 32)
	m, _ = New(f, f, f)
	if err := m.AddRAM(0, bigPages); err != nil {
		t.Fatal(err)
	}
	before := len(f.mem)
	f.noBig = true
	f.limit = f.next + 100*page
	if err := m.AddRAM(bigPages, bigPages); err != ErrNoMemory {
		t.Fatalf("AddRAM = %v, want ErrNoMemory", err)
	}
	if len(f.mem) != before || m.Size() != bigPage || m.Pages() != bigPages || m.IsRAM(bigPages) {
		t.Fatalf("failure left frames behind: %d -> %d, size %#x, pages %d", before, len(f.mem), m.Size(), m.Pages())
	}
	if _, ok := m.Translate(bigPage); ok {
		t.Error("a frame of the failed AddRAM still translates")
	}

	// 4 KiB frames adding up to 2 MiB and more, then a failure: cut back.
	f.limit = f.next + (bigPages+40)*page
	if err := m.AddRAM(bigPages, 2*bigPages); err != ErrNoMemory {
		t.Fatalf("AddRAM = %v, want ErrNoMemory", err)
	}
	if len(f.mem) != before || m.Size() != bigPage || m.Pages() != bigPages {
		t.Fatalf("failure left frames behind: %d -> %d, size %#x, pages %d", before, len(f.mem), m.Size(), m.Pages())
	}
	for g := uint64(bigPages); g < 3*bigPages; g += 37 {
		if _, ok := m.Translate(g * page); ok {
			t.Fatalf("gfn %#x of the failed AddRAM still translates", g)
		}
	}
}

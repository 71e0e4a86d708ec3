package npt

import (
	"errors"
	"testing"
)

// pooled builds a Memory of size bytes over a paging pool of pages frames.
func pooled(t *testing.T, f *fakeMachine, pages, size uint64) *Memory {
	t.Helper()
	p, err := NewPool(f, f, pages)
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewWithPool(NPT, p, f, f)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Populate(size); err != nil {
		t.Fatal(err)
	}
	return m
}

// drain gives one RAM frame back and re-populates it 1 GiB further up, over
// and over, as a hostile guest does; it returns how many moves worked and
// the error that stopped them.
func drain(m *Memory, max int) (int, error) {
	for i := 0; i < max; i++ {
		if err := m.RemoveRAM(uint64(i), 1); err != nil {
			return i, err
		}
		if err := m.AddRAM(uint64(i+1)<<18, 1); err != nil {
			return i, err
		}
	}
	return max, nil
}

// The drain loop costs two table pages per frame. With a paging pool, those
// come from the domain's pool, which runs dry: the call fails with
// ErrNoTables and the source of the pool (hv's memory) gave nothing beyond
// the pool. Another domain's pool is untouched and still works.
func TestPoolBoundsTheDrainLoop(t *testing.T) {
	f := newMachine(1 << 40)
	f.noBig = true // 4 KiB RAM: the first moves split nothing
	a := pooled(t, f, 64, 2<<20)
	b := pooled(t, f, 64, 2<<20)
	before := len(f.mem)
	ast := a.Pool().Stats()
	done, err := drain(a, 1000)
	if !errors.Is(err, ErrNoTables) {
		t.Fatalf("drain stopped after %d moves with %v, want ErrNoTables", done, err)
	}
	// Populate used the root, a PDPT, a PD and one PT: 4 pages. The gfns at
	// n GiB need a PD (new GiB) and a PT each; the RemoveRAM of the first
	// frame never frees a table while frame 1.. remain.
	if want := int(ast.Free) / 2; done != want {
		t.Errorf("drain did %d moves, want %d (pool had %d free pages)", done, want, ast.Free)
	}
	// The last move gave its frame back and then failed to place it.
	if got := len(f.mem); got != before-1 {
		t.Errorf("machine frames in use went from %d to %d: something besides the pool paid", before, got)
	}
	if st := a.Pool().Stats(); st.Free > 1 || st.Refused == 0 || st.Peak < st.Total-1 {
		t.Errorf("a's pool after the drain: %+v", st)
	}
	if a.Pages() != 511 {
		t.Errorf("a holds %d pages, want 511: the failed AddRAM must add nothing", a.Pages())
	}
	if st := b.Pool().Stats(); st.Free != 60 {
		t.Errorf("b's pool: %+v, want 60 free", st)
	}
	if err := b.RemoveRAM(0, 1); err != nil {
		t.Fatal(err)
	}
	if err := b.AddRAM(1<<18, 1); err != nil {
		t.Errorf("b cannot populate after a drained its pool: %v", err)
	}
	// A grant-style mapping far away fails the same way once the pool is empty.
	for gfn := uint64(1 << 30); ; gfn += 1 << 18 {
		if err := a.MapFrame(gfn, 0x1000000, false); err != nil {
			if !errors.Is(err, ErrNoTables) {
				t.Errorf("MapFrame with an empty pool: %v, want ErrNoTables", err)
			}
			break
		}
	}
}

// Release gives the tables and the pool back: every frame of the source is
// free again, and a pool that cannot be filled keeps nothing.
func TestPoolReleaseAndCreationFailure(t *testing.T) {
	f := newMachine(1 << 40)
	m := pooled(t, f, 32, 4<<20)
	drain(m, 5)
	m.Release()
	if len(f.mem) != 0 {
		t.Errorf("%d frames still allocated after Release", len(f.mem))
	}
	if _, ok := m.pt.Mem.AllocTable(); ok {
		t.Error("a released pool still hands out tables")
	}

	small := newMachine(0x1000000 + 10*page)
	if _, err := NewPool(small, small, 11); !errors.Is(err, ErrNoMemory) {
		t.Errorf("NewPool beyond the source: %v, want ErrNoMemory", err)
	}
	if len(small.mem) != 0 {
		t.Errorf("a failed NewPool kept %d frames", len(small.mem))
	}
	// A pool too small for the RAM's tables fails Populate with ErrNoTables.
	p, err := NewPool(f, f, 3)
	if err != nil {
		t.Fatal(err)
	}
	f.noBig = true
	mm, err := NewWithPool(NPT, p, f, f)
	if err != nil {
		t.Fatal(err)
	}
	if err := mm.Populate(4 << 20); !errors.Is(err, ErrNoTables) {
		t.Errorf("Populate with a 3-page pool: %v, want ErrNoTables", err)
	}
	mm.Release()
	if len(f.mem) != 0 {
		t.Errorf("%d frames still allocated after a failed Populate", len(f.mem))
	}
}

// A table page freed and taken again comes back zeroed, and pool frames are
// handed out from the lowest address.
func TestPoolReuseIsZeroed(t *testing.T) {
	f := newMachine(1 << 40)
	p, err := NewPool(f, f, 4)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := p.AllocTable()
	b, _ := p.AllocTable()
	if a != 0x1000000 || b != a+page {
		t.Errorf("first tables at %#x, %#x", a, b)
	}
	p.Table(b)[7] = 0xdead
	p.FreeTable(b)
	c, _ := p.AllocTable()
	if c != b || p.Table(c)[7] != 0 {
		t.Errorf("reused table %#x holds %#x", c, p.Table(c)[7])
	}
}

func TestLimitBoundsGuestFrames(t *testing.T) {
	f := newMachine(1 << 40)
	m := pooled(t, f, 64, 2<<20)
	m.SetLimit(1 << 36)
	if m.Limit() != 1<<36 {
		t.Fatalf("limit %#x", m.Limit())
	}
	if err := m.RemoveRAM(0, 1); err != nil {
		t.Fatal(err)
	}
	last := uint64(1<<36)/page - 1
	if err := m.AddRAM(last+1, 1); !errors.Is(err, ErrTooHigh) {
		t.Errorf("AddRAM at the limit: %v, want ErrTooHigh", err)
	}
	if err := m.AddRAM(last, 2); !errors.Is(err, ErrTooHigh) {
		t.Errorf("AddRAM across the limit: %v, want ErrTooHigh", err)
	}
	if err := m.MapFrame(last+1, 0x1000000, true); !errors.Is(err, ErrTooHigh) {
		t.Errorf("MapFrame at the limit: %v, want ErrTooHigh", err)
	}
	if err := m.AddRAM(last, 1); err != nil {
		t.Errorf("AddRAM of the last frame below the limit: %v", err)
	}
	m.SetLimit(1 << 60)
	if m.Limit() != MaxGPA {
		t.Errorf("limit above MaxGPA kept as %#x", m.Limit())
	}
}

func TestDefaultPoolPages(t *testing.T) {
	for _, c := range []struct {
		mem   uint64
		vcpus int
		want  uint64
	}{
		{16 << 20, 1, (1024 + 128) / 4},
		{256 << 20, 1, (1024 + 2048) / 4},
		{1 << 30, 4, (4096 + 8192) / 4},
		{4 << 20, 0, (1024 + 32) / 4},
	} {
		if got := DefaultPoolPages(c.mem, c.vcpus); got != c.want {
			t.Errorf("DefaultPoolPages(%d MiB, %d) = %d, want %d", c.mem>>20, c.vcpus, got, c.want)
		}
	}
}

package mm

import (
	"math/rand"
	"testing"
)

// Frame states of the reference model.
const (
	stReserved = iota
	stFree
	stAlloc
)

// state reads the allocator's idea of frame idx straight from the bitmaps.
func (a *FrameAllocator) state(idx uint64) int {
	w, b := idx/64, idx%64
	own := a.ownMap[w]>>b&1 == 1
	free := a.freeMap[w]>>b&1 == 1
	switch {
	case free && own:
		return stFree
	case own:
		return stAlloc
	case !free:
		return stReserved
	}
	return -1 // free but unmanaged: corrupt
}

// model is the reference model: a Go map from frame index to state.
type model struct {
	base, frames uint64
	st           map[uint64]int
}

func newModel(base, frames uint64) *model {
	m := &model{base: base, frames: frames, st: map[uint64]int{}}
	for i := uint64(0); i < frames; i++ {
		m.st[i] = stReserved
	}
	return m
}

func (m *model) limit() uint64 { return m.base + m.frames*PageSize }

func (m *model) addFree(start, end uint64) {
	for i := uint64(0); i < m.frames; i++ {
		fs := m.base + i*PageSize
		if fs >= start && fs+PageSize <= end && end > start && m.st[i] == stReserved {
			m.st[i] = stFree
		}
	}
}

func (m *model) reserve(start, end uint64) {
	for i := uint64(0); i < m.frames; i++ {
		fs := m.base + i*PageSize
		if fs < end && fs+PageSize > start && end > start {
			m.st[i] = stReserved
		}
	}
}

func (m *model) counts() (total, free uint64) {
	for _, s := range m.st {
		if s != stReserved {
			total++
		}
		if s == stFree {
			free++
		}
	}
	return
}

// runFree reports whether n frames from idx are all free in the model.
func (m *model) runFree(idx, n uint64) bool {
	if idx+n > m.frames {
		return false
	}
	for i := idx; i < idx+n; i++ {
		if m.st[i] != stFree {
			return false
		}
	}
	return true
}

// runAlloc reports whether n frames from idx are all allocated in the model.
func (m *model) runAlloc(idx, n uint64) bool {
	if idx+n > m.frames {
		return false
	}
	for i := idx; i < idx+n; i++ {
		if m.st[i] != stAlloc {
			return false
		}
	}
	return true
}

// firstFit returns the lowest aligned run of n free frames in the model.
func (m *model) firstFit(n, align uint64) (uint64, bool) {
	for i := uint64(0); i+n <= m.frames; i++ {
		if ((m.base/PageSize)+i)%align != 0 {
			continue
		}
		if m.runFree(i, n) {
			return i, true
		}
	}
	return 0, false
}

func check(t testing.TB, a *FrameAllocator, m *model) {
	t.Helper()
	total, free := a.Stats()
	mt, mf := m.counts()
	if total != mt || free != mf {
		t.Fatalf("Stats() = %d,%d, model %d,%d", total, free, mt, mf)
	}
	if free > total {
		t.Fatalf("free %d > total %d", free, total)
	}
	for i := uint64(0); i < m.frames; i++ {
		if got := a.state(i); got != m.st[i] {
			t.Fatalf("frame %d (pa %#x): state %d, model %d", i, m.base+i*PageSize, got, m.st[i])
		}
	}
	// Padding bits past the window must never be set.
	for i := m.frames; i < uint64(len(a.freeMap))*64; i++ {
		if a.freeMap[i/64]>>(i%64)&1 != 0 || a.ownMap[i/64]>>(i%64)&1 != 0 {
			t.Fatalf("padding bit %d set", i)
		}
	}
}

func newAlloc(t testing.TB, base, frames uint64) *FrameAllocator {
	t.Helper()
	a := new(FrameAllocator)
	bm := make([]uint64, BitmapWords(base, base+frames*PageSize))
	for i := range bm {
		bm[i] = ^uint64(0) // Init must clear garbage
	}
	if err := a.Init("test", base, base+frames*PageSize, bm); err != nil {
		t.Fatal(err)
	}
	return a
}

func TestBitmapWords(t *testing.T) {
	for _, c := range []struct{ base, limit, want uint64 }{
		{0, 0, 0},
		{PageSize, 0, 0},
		{0, PageSize, 4},
		{0, 64 * PageSize, 4},
		{0, 65 * PageSize, 8},
		{0, 1 << 30, 4 * (1 << 18) / 64},
		{0, 100, 4},
	} {
		if got := BitmapWords(c.base, c.limit); got != c.want {
			t.Errorf("BitmapWords(%#x,%#x) = %d, want %d", c.base, c.limit, got, c.want)
		}
	}
}

func TestInitErrors(t *testing.T) {
	var a FrameAllocator
	bm := make([]uint64, 16)
	cases := []struct {
		base, limit uint64
		bm          []uint64
		want        error
	}{
		{1, PageSize * 2, bm, ErrBadWindow},
		{0, PageSize + 1, bm, ErrBadWindow},
		{PageSize, PageSize, bm, ErrBadWindow},
		{2 * PageSize, PageSize, bm, ErrBadWindow},
		{0, 1 << 30, bm, ErrBitmapTooSmall},
		{0, 64 * PageSize, nil, ErrBitmapTooSmall},
		{0, 64 * PageSize, bm[:1], ErrBitmapTooSmall},
	}
	for _, c := range cases {
		if err := a.Init("x", c.base, c.limit, c.bm); err != c.want {
			t.Errorf("Init(%#x,%#x,len %d) = %v, want %v", c.base, c.limit, len(c.bm), err, c.want)
		}
	}
	// Maximal window does not overflow.
	top := ^uint64(0) &^ pageMask
	if err := a.Init("top", top-64*PageSize, top, bm); err != nil {
		t.Fatal(err)
	}
	a.AddFree(0, ^uint64(0))
	a.Reserve(top-1, ^uint64(0))
	if tot, fr := a.Stats(); tot != 63 || fr != 63 {
		t.Fatalf("stats %d %d", tot, fr)
	}
	if pa, ok := a.AllocContig(1, 1<<63); ok {
		t.Fatalf("AllocContig with 2^63 alignment = %#x", pa)
	}
	if pa, ok := a.AllocContig(63, 1); !ok || pa != top-64*PageSize {
		t.Fatalf("AllocContig(63,1) = %#x,%v", pa, ok)
	}
	if err := a.FreeContig(top-64*PageSize, ^uint64(0)); err != ErrNotAllocated {
		t.Fatalf("FreeContig huge n = %v", err)
	}
	if err := a.FreeContig(top-64*PageSize, 63); err != nil {
		t.Fatal(err)
	}
}

func TestName(t *testing.T) {
	a := newAlloc(t, 0, 8)
	if a.Name() != "test" {
		t.Fatalf("Name = %q", a.Name())
	}
	bm := make([]uint64, 4)
	a.Init("a-very-long-allocator-name", 0, PageSize, bm)
	if a.Name() != "a-very-long-allo" {
		t.Fatalf("Name = %q", a.Name())
	}
	var z FrameAllocator
	if z.Name() != "" {
		t.Fatal("zero Name")
	}
}

func TestZeroValue(t *testing.T) {
	var a FrameAllocator
	a.AddFree(0, ^uint64(0))
	a.Reserve(0, ^uint64(0))
	if _, ok := a.Alloc(); ok {
		t.Fatal("Alloc on zero value")
	}
	if _, ok := a.AllocContig(4, 4); ok {
		t.Fatal("AllocContig on zero value")
	}
	if a.Free(0) != ErrNotAllocated || a.FreeContig(0, 3) != ErrNotAllocated {
		t.Fatal("Free on zero value")
	}
	if a.Owns(0) {
		t.Fatal("Owns on zero value")
	}
	if tot, fr := a.Stats(); tot != 0 || fr != 0 {
		t.Fatal("Stats on zero value")
	}
}

func TestBasicAllocFree(t *testing.T) {
	const base = 0x100000
	a := newAlloc(t, base, 100)
	if tot, fr := a.Stats(); tot != 0 || fr != 0 {
		t.Fatalf("fresh allocator stats %d %d", tot, fr)
	}
	if _, ok := a.Alloc(); ok {
		t.Fatal("Alloc before AddFree succeeded")
	}
	a.AddFree(0, ^uint64(0))
	if tot, fr := a.Stats(); tot != 100 || fr != 100 {
		t.Fatalf("stats %d %d", tot, fr)
	}
	seen := map[uint64]bool{}
	for i := 0; i < 100; i++ {
		pa, ok := a.Alloc()
		if !ok {
			t.Fatalf("Alloc %d failed", i)
		}
		if pa%PageSize != 0 || pa < base || pa >= base+100*PageSize || seen[pa] {
			t.Fatalf("bad pa %#x", pa)
		}
		seen[pa] = true
	}
	if _, ok := a.Alloc(); ok {
		t.Fatal("Alloc past exhaustion")
	}
	if _, ok := a.AllocContig(2, 1); ok {
		t.Fatal("AllocContig past exhaustion")
	}
	for pa := range seen {
		if err := a.Free(pa); err != nil {
			t.Fatalf("Free(%#x) = %v", pa, err)
		}
		if err := a.Free(pa); err != ErrNotAllocated {
			t.Fatalf("double Free(%#x) = %v", pa, err)
		}
	}
	if tot, fr := a.Stats(); tot != 100 || fr != 100 {
		t.Fatalf("stats %d %d", tot, fr)
	}
	for _, pa := range []uint64{0, base - PageSize, base + 1, base + 100*PageSize, ^uint64(0)} {
		if err := a.Free(pa); err != ErrNotAllocated {
			t.Fatalf("Free(%#x) = %v", pa, err)
		}
	}
	if !a.Owns(base) || !a.Owns(base+100*PageSize-1) || a.Owns(base-1) || a.Owns(base+100*PageSize) {
		t.Fatal("Owns wrong")
	}
}

func TestNextFit(t *testing.T) {
	a := newAlloc(t, 0, 130)
	a.AddFree(0, 130*PageSize)
	p1, _ := a.Alloc()
	p2, _ := a.Alloc()
	a.Free(p1)
	p3, _ := a.Alloc()
	if p1 != 0 || p2 != PageSize || p3 != 2*PageSize {
		t.Fatalf("next fit: %#x %#x %#x", p1, p2, p3)
	}
	// Run to the end of the window, then wrap around to the freed p1.
	for i := 3; i < 130; i++ {
		if pa, ok := a.Alloc(); !ok || pa != uint64(i)*PageSize {
			t.Fatalf("Alloc #%d = %#x %v", i, pa, ok)
		}
	}
	if pa, ok := a.Alloc(); !ok || pa != p1 {
		t.Fatalf("wrap-around Alloc = %#x %v", pa, ok)
	}
	if _, ok := a.Alloc(); ok {
		t.Fatal("Alloc past exhaustion")
	}
	a.Free(5 * PageSize)
	if pa, ok := a.Alloc(); !ok || pa != 5*PageSize {
		t.Fatalf("Alloc after free = %#x %v", pa, ok)
	}
}

func TestReserveAfterAdd(t *testing.T) {
	const base = 0x200000
	a := newAlloc(t, base, 64)
	m := newModel(base, 64)
	a.AddFree(base, base+64*PageSize)
	m.addFree(base, base+64*PageSize)
	// Allocate a frame, then reserve a range covering it and some free ones.
	pa, _ := a.Alloc()
	m.st[(pa-base)/PageSize] = stAlloc
	check(t, a, m)
	a.Reserve(pa-1, pa+3*PageSize+1) // touches 5 frames
	m.reserve(pa-1, pa+3*PageSize+1)
	check(t, a, m)
	if err := a.Free(pa); err != ErrNotAllocated {
		t.Fatalf("Free of reserved allocated frame = %v", err)
	}
	a.Reserve(pa-1, pa+3*PageSize+1) // idempotent
	check(t, a, m)
	// AddFree rounds inward: only fully covered frames come back.
	a.AddFree(pa+1, pa+3*PageSize+1)
	m.addFree(pa+1, pa+3*PageSize+1)
	check(t, a, m)
	a.AddFree(pa+1, pa+3*PageSize+1) // idempotent
	check(t, a, m)
	// AddFree over an allocated frame leaves it allocated.
	q, _ := a.Alloc()
	m.st[(q-base)/PageSize] = stAlloc
	a.AddFree(base, base+64*PageSize)
	m.addFree(base, base+64*PageSize)
	check(t, a, m)
	if err := a.Free(q); err != nil {
		t.Fatal(err)
	}
	m.st[(q-base)/PageSize] = stFree
	check(t, a, m)
	// Empty / inverted / outside ranges are no-ops.
	a.Reserve(base+10*PageSize, base+10*PageSize)
	a.Reserve(base+11*PageSize, base+10*PageSize)
	a.AddFree(base+PageSize+1, base+2*PageSize-1)
	a.Reserve(0, base)
	a.Reserve(base+64*PageSize, ^uint64(0))
	check(t, a, m)
}

func TestAllocContigAlignment(t *testing.T) {
	// Window starts at an odd frame, not 2 MiB aligned.
	const base = 0x1003000
	const frames = 4096
	a := newAlloc(t, base, frames)
	a.AddFree(base, base+frames*PageSize)
	var got []uint64
	for {
		pa, ok := a.AllocContig(512, 512)
		if !ok {
			break
		}
		if pa%(2<<20) != 0 {
			t.Fatalf("2 MiB allocation at %#x not aligned", pa)
		}
		got = append(got, pa)
	}
	// [0x1003000, 0x2003000) holds 2 MiB-aligned starts 0x1200000..0x1e00000: 7 pages.
	if len(got) != 7 {
		t.Fatalf("got %d 2 MiB pages, want 7", len(got))
	}
	for _, c := range []struct{ n, al uint64 }{{0, 1}, {1, 0}, {1, 3}, {2, 6}, {frames + 1, 1}} {
		if _, ok := a.AllocContig(c.n, c.al); ok {
			t.Fatalf("AllocContig(%d,%d) succeeded", c.n, c.al)
		}
	}
	for _, pa := range got {
		if err := a.FreeContig(pa, 512); err != nil {
			t.Fatal(err)
		}
		if err := a.FreeContig(pa, 512); err != ErrNotAllocated {
			t.Fatal("double FreeContig")
		}
	}
	if _, fr := a.Stats(); fr != frames {
		t.Fatalf("free %d", fr)
	}
	// A small aligned run.
	pa, ok := a.AllocContig(3, 4)
	if !ok || (pa/PageSize)%4 != 0 {
		t.Fatalf("AllocContig(3,4) = %#x %v", pa, ok)
	}
	// FreeContig partially over a free frame is all-or-nothing.
	if err := a.FreeContig(pa, 4); err != ErrNotAllocated {
		t.Fatal("FreeContig over free frame succeeded")
	}
	if _, fr := a.Stats(); fr != frames-3 {
		t.Fatalf("free %d after failed FreeContig", fr)
	}
	if err := a.FreeContig(pa+PageSize, 2); err != nil {
		t.Fatal(err)
	}
	if err := a.Free(pa); err != nil {
		t.Fatal(err)
	}
	if err := a.FreeContig(pa, 0); err != nil {
		t.Fatal("FreeContig n=0")
	}
}

// runOps drives a and m with ops decoded from the rng-like source next.
func runOps(t testing.TB, a *FrameAllocator, m *model, steps int, next func() uint64) {
	held := []uint64{} // allocation starts (for picking valid frees)
	heldN := map[uint64]uint64{}
	lim := m.limit()
	addr := func() uint64 {
		// Addresses around the window, often unaligned.
		v := next()
		span := lim - m.base + 8*PageSize
		r := m.base - 4*PageSize + v%span
		if next()%2 == 0 {
			r &^= pageMask
		}
		return r
	}
	for s := 0; s < steps; s++ {
		switch next() % 10 {
		case 0:
			x, y := addr(), addr()
			a.AddFree(x, y)
			m.addFree(x, y)
		case 1:
			x, y := addr(), addr()
			if next()%3 != 0 && y > x {
				y = x + (y-x)%(3*PageSize)
			}
			a.Reserve(x, y)
			m.reserve(x, y)
			// Reserved allocations are gone for good.
			for i := 0; i < len(held); i++ {
				if !m.runAlloc((held[i]-m.base)/PageSize, heldN[held[i]]) {
					// Partially reserved: free the still-allocated frames
					// one by one below via the model only.
					idx := (held[i] - m.base) / PageSize
					for f := idx; f < idx+heldN[held[i]]; f++ {
						if m.st[f] == stAlloc {
							if err := a.Free(m.base + f*PageSize); err != nil {
								t.Fatalf("Free of surviving frame: %v", err)
							}
							m.st[f] = stFree
						}
					}
					delete(heldN, held[i])
					held[i] = held[len(held)-1]
					held = held[:len(held)-1]
					i--
				}
			}
		case 2, 3, 4:
			pa, ok := a.Alloc()
			_, mf := m.counts()
			if ok != (mf > 0) {
				t.Fatalf("Alloc ok=%v with model free %d", ok, mf)
			}
			if ok {
				if pa < m.base || pa >= lim || pa%PageSize != 0 || m.st[(pa-m.base)/PageSize] != stFree {
					t.Fatalf("Alloc returned bad frame %#x", pa)
				}
				m.st[(pa-m.base)/PageSize] = stAlloc
				held = append(held, pa)
				heldN[pa] = 1
			}
		case 5:
			n := 1 + next()%20
			al := uint64(1) << (next() % 6)
			pa, ok := a.AllocContig(n, al)
			want, wok := m.firstFit(n, al)
			if ok != wok {
				t.Fatalf("AllocContig(%d,%d) ok=%v, model %v", n, al, ok, wok)
			}
			if ok {
				if pa != m.base+want*PageSize {
					t.Fatalf("AllocContig(%d,%d) = %#x, model first fit %#x", n, al, pa, m.base+want*PageSize)
				}
				for i := want; i < want+n; i++ {
					m.st[i] = stAlloc
				}
				held = append(held, pa)
				heldN[pa] = n
			}
		case 6, 7:
			if len(held) == 0 {
				continue
			}
			i := int(next() % uint64(len(held)))
			pa := held[i]
			n := heldN[pa]
			var err error
			if n == 1 && next()%2 == 0 {
				err = a.Free(pa)
			} else {
				err = a.FreeContig(pa, n)
			}
			if err != nil {
				t.Fatalf("Free(%#x,%d) = %v", pa, n, err)
			}
			for f := (pa - m.base) / PageSize; f < (pa-m.base)/PageSize+n; f++ {
				m.st[f] = stFree
			}
			delete(heldN, pa)
			held[i] = held[len(held)-1]
			held = held[:len(held)-1]
		case 8:
			// Invalid or random free: must agree with the model.
			pa := addr()
			n := next() % 4
			err := a.FreeContig(pa, n)
			valid := n == 0 || (pa%PageSize == 0 && pa >= m.base && pa < lim && m.runAlloc((pa-m.base)/PageSize, n))
			if (err == nil) != valid {
				t.Fatalf("FreeContig(%#x,%d) = %v, model valid=%v", pa, n, err, valid)
			}
			if err == nil && n > 0 {
				// Freed frames that a held allocation owned: drop the holders.
				for f := (pa - m.base) / PageSize; f < (pa-m.base)/PageSize+n; f++ {
					m.st[f] = stFree
				}
				for i := 0; i < len(held); i++ {
					h, hn := held[i], heldN[held[i]]
					if h < pa+n*PageSize && h+hn*PageSize > pa {
						idx := (h - m.base) / PageSize
						for f := idx; f < idx+hn; f++ {
							if m.st[f] == stAlloc {
								a.Free(m.base + f*PageSize)
								m.st[f] = stFree
							}
						}
						delete(heldN, h)
						held[i] = held[len(held)-1]
						held = held[:len(held)-1]
						i--
					}
				}
			}
		case 9:
			pa := addr()
			if a.Owns(pa) != (pa >= m.base && pa < lim) {
				t.Fatalf("Owns(%#x) wrong", pa)
			}
		}
		check(t, a, m)
	}
}

func TestRandomAgainstModel(t *testing.T) {
	for seed := int64(1); seed <= 20; seed++ {
		r := rand.New(rand.NewSource(seed))
		base := uint64(r.Intn(1<<20)) * PageSize
		frames := uint64(1 + r.Intn(300))
		a := newAlloc(t, base, frames)
		m := newModel(base, frames)
		runOps(t, a, m, 400, r.Uint64)
	}
}

func TestZeroAllocs(t *testing.T) {
	a := newAlloc(t, 0x100000, 1024)
	a.AddFree(0, ^uint64(0))
	a.Reserve(0x100000, 0x101000)
	cut := []Range{{10, 20}, {30, 40}}
	out := make([]Range, 4)
	var sink error
	n := testing.AllocsPerRun(1000, func() {
		pa, ok := a.Alloc()
		if ok {
			sink = a.Free(pa)
		}
		pa, ok = a.AllocContig(16, 16)
		if ok {
			sink = a.FreeContig(pa, 16)
		}
		sink = a.Free(1)
		a.AddFree(0x200000, 0x300000)
		a.Reserve(0x4ff000, 0x500000)
		a.AddFree(0x4ff000, 0x500000)
		_, _ = a.Stats()
		_ = a.Owns(0x200000)
		_ = a.Name()
		_ = ErrNotAllocated.Error()
		_ = Subtract(Range{0, 100}, cut, out)
	})
	_ = sink
	if n != 0 {
		t.Fatalf("hot paths allocate: %v allocs/run", n)
	}
}

func FuzzFrameAllocator(f *testing.F) {
	f.Add(uint64(0x100000), uint16(100), []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Add(uint64(0x1003000), uint16(700), []byte("some arbitrary op stream 1234567890"))
	f.Fuzz(func(t *testing.T, base uint64, frames uint16, ops []byte) {
		base &^= pageMask
		n := uint64(frames%512) + 1
		if base > ^uint64(0)-(n+16)*PageSize {
			base = ^uint64(0) - (n+16)*PageSize
			base &^= pageMask
		}
		if base < 8*PageSize {
			base = 8 * PageSize
		}
		a := newAlloc(t, base, n)
		m := newModel(base, n)
		pos := 0
		next := func() uint64 {
			var v uint64
			for i := 0; i < 3; i++ {
				v <<= 8
				if pos < len(ops) {
					v |= uint64(ops[pos])
				}
				pos++
			}
			return v
		}
		steps := len(ops) / 3
		if steps > 200 {
			steps = 200
		}
		runOps(t, a, m, steps, next)
	})
}

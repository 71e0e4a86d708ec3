package mm

import "testing"

// dirtyEnv is an allocator over a simulated physical memory at address 0
// whose pages record every access ScrubAllocated makes.
type dirtyEnv struct {
	a       FrameAllocator
	ram     []byte
	touched map[uint64]bool
}

func newDirtyEnv(t *testing.T, frames uint64, zeroed bool) *dirtyEnv {
	e := &dirtyEnv{ram: make([]byte, frames*PageSize), touched: map[uint64]bool{}}
	if err := e.a.Init("t", 0, frames*PageSize, make([]uint64, BitmapWords(0, frames*PageSize))); err != nil {
		t.Fatal(err)
	}
	if zeroed {
		e.a.AddZeroed(0, frames*PageSize)
	} else {
		e.a.AddFree(0, frames*PageSize)
	}
	return e
}

func (e *dirtyEnv) page(pa uint64) *[PageSize]byte {
	e.touched[pa] = true
	return (*[PageSize]byte)(e.ram[pa : pa+PageSize])
}

// alloc hands out n frames as rt does: allocate, then scrub the dirty ones.
func (e *dirtyEnv) alloc(t *testing.T, n uint64) uint64 {
	t.Helper()
	var pa uint64
	var ok bool
	if n == 1 {
		pa, ok = e.a.Alloc()
	} else {
		pa, ok = e.a.AllocContig(n, 1)
	}
	if !ok {
		t.Fatalf("no run of %d frames", n)
	}
	e.a.ScrubAllocated(pa, n, e.page)
	return pa
}

func (e *dirtyEnv) zero(pa, n uint64) bool {
	for _, b := range e.ram[pa : pa+n*PageSize] {
		if b != 0 {
			return false
		}
	}
	return true
}

// Frames known to be zero are handed out without being touched.
func TestZeroedFramesAreNotTouched(t *testing.T) {
	e := newDirtyEnv(t, 64, true)
	for _, n := range []uint64{1, 1, 7, 32} {
		pa := e.alloc(t, n)
		for i := uint64(0); i < n; i++ {
			if e.a.Dirty(pa + i*PageSize) {
				t.Errorf("fresh zeroed frame %#x is dirty", pa+i*PageSize)
			}
		}
	}
	if len(e.touched) != 0 {
		t.Errorf("ScrubAllocated touched %d clean frames", len(e.touched))
	}
}

// Frames of unknown contents (AddFree) are scrubbed when handed out.
func TestUnknownFramesAreScrubbed(t *testing.T) {
	e := newDirtyEnv(t, 16, false)
	for i := range e.ram {
		e.ram[i] = 0x5A // whatever was in RAM before
	}
	pa := e.alloc(t, 16)
	if !e.zero(pa, 16) {
		t.Fatal("frames added with AddFree reached their user unscrubbed")
	}
}

// A frame one user dirtied and gave back reaches the next user zeroed, as a
// single frame and inside runs, however often it goes round; frames never
// used stay untouched meanwhile.
func TestFreedFrameIsScrubbedBeforeReuse(t *testing.T) {
	e := newDirtyEnv(t, 64, true)
	for round := 0; round < 3; round++ {
		for _, n := range []uint64{1, 3, 8, 20} {
			pa := e.alloc(t, n)
			if !e.zero(pa, n) {
				t.Fatalf("round %d: frames %#x+%d reached their user unscrubbed", round, pa, n)
			}
			for i := pa; i < pa+n*PageSize; i++ {
				e.ram[i] = byte(i*7 + 1) // the user's data
			}
			if err := e.a.FreeContig(pa, n); err != nil {
				t.Fatal(err)
			}
			for i := uint64(0); i < n; i++ {
				if !e.a.Dirty(pa + i*PageSize) {
					t.Fatalf("frame %#x not dirty after Free", pa+i*PageSize)
				}
			}
		}
	}
	// Every frame, in one run: the used ones are scrubbed, the never-used
	// ones are not touched.
	for pa := range e.touched {
		delete(e.touched, pa)
	}
	pa := e.alloc(t, 64)
	if !e.zero(pa, 64) {
		t.Fatal("the whole pool reached its user with data in it")
	}
	if len(e.touched) == 0 || len(e.touched) > 64 {
		t.Fatalf("%d frames scrubbed", len(e.touched))
	}
	for f := uint64(0); f < 64; f++ {
		if e.touched[f*PageSize] != e.a.Dirty(f*PageSize) {
			t.Errorf("frame %d: scrubbed %v, dirty %v", f, e.touched[f*PageSize], e.a.Dirty(f*PageSize))
		}
	}
}

// Reserve and AddFree again do not launder a dirty frame.
func TestReAddKeepsDirtyFramesDirty(t *testing.T) {
	e := newDirtyEnv(t, 8, true)
	pa := e.alloc(t, 1)
	e.ram[pa] = 1
	if err := e.a.Free(pa); err != nil {
		t.Fatal(err)
	}
	e.a.AddZeroed(0, 8*PageSize) // idempotent: the free frame keeps its state
	if !e.a.Dirty(pa) {
		t.Fatal("AddZeroed over a freed frame made it clean")
	}
	if e.a.Dirty(8*PageSize) != true {
		t.Error("a frame outside the window is not reported dirty")
	}
}

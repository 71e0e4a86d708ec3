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

// ScrubFree cleans free dirty frames in bounded steps, never touching
// allocated or clean ones, and what it cleaned is handed out untouched.
func TestScrubFree(t *testing.T) {
	e := newDirtyEnv(t, 200, true)
	used := e.alloc(t, 150)
	for i := used; i < used+150*PageSize; i++ {
		e.ram[i] = 0xA5
	}
	if err := e.a.FreeContig(used, 100); err != nil { // 100 dirty free frames
		t.Fatal(err)
	}
	held := used + 100*PageSize // 50 frames still allocated, with data
	if n, more := e.a.ScrubFree(0, e.page); n != 0 || !more {
		t.Fatalf("max 0: %d, %v", n, more)
	}
	total := uint64(0)
	for step := 0; ; step++ {
		n, more := e.a.ScrubFree(30, e.page)
		if n > 30 {
			t.Fatalf("step %d scrubbed %d > 30", step, n)
		}
		total += n
		if !more {
			break
		}
		if step > 10 {
			t.Fatal("ScrubFree never finishes")
		}
	}
	if total != 100 {
		t.Fatalf("scrubbed %d frames, want the 100 dirty free ones", total)
	}
	if !e.zero(used, 100) {
		t.Fatal("a dirty free frame was not zeroed")
	}
	for pa := held; pa < held+50*PageSize; pa += PageSize {
		if e.touched[pa] || e.ram[pa] != 0xA5 {
			t.Fatalf("allocated frame %#x touched", pa)
		}
	}
	if len(e.touched) != 100 {
		t.Fatalf("touched %d frames, want 100 (clean ones stay untouched)", len(e.touched))
	}
	if n, more := e.a.ScrubFree(30, e.page); n != 0 || more {
		t.Fatalf("nothing left: %d, %v", n, more)
	}
	// Handing the scrubbed frames out again writes nothing.
	e.touched = map[uint64]bool{}
	pa := e.alloc(t, 100)
	if len(e.touched) != 0 || !e.zero(pa, 100) {
		t.Fatalf("re-allocation touched %d frames", len(e.touched))
	}
	// An empty allocator has nothing to do.
	var z FrameAllocator
	if n, more := z.ScrubFree(8, e.page); n != 0 || more {
		t.Fatal("zero allocator")
	}
}

// After a free, ScrubFree starts at the lowest freed frame: the run the
// next AllocContig takes is cleaned first.
func TestScrubFreeStartsAtLowestFreed(t *testing.T) {
	e := newDirtyEnv(t, 512, true)
	low := e.alloc(t, 64)
	high := e.alloc(t, 64)
	if err := e.a.FreeContig(high, 64); err != nil {
		t.Fatal(err)
	}
	if n, _ := e.a.ScrubFree(32, e.page); n != 32 { // half of high
		t.Fatalf("scrubbed %d", n)
	}
	if err := e.a.FreeContig(low, 64); err != nil {
		t.Fatal(err)
	}
	e.touched = map[uint64]bool{}
	if n, _ := e.a.ScrubFree(64, e.page); n != 64 {
		t.Fatalf("scrubbed %d", n)
	}
	for pa := low; pa < low+64*PageSize; pa += PageSize {
		if !e.touched[pa] {
			t.Fatalf("frame %#x of the lowest freed run not scrubbed first", pa)
		}
	}
}

// Frames dirty only because nothing is known of them (AddFree) are not
// idle-scrubbed: under an emulator they may never have been touched, and
// clearing them would cost host memory; ScrubAllocated clears them when
// they are handed out. Frames a holder gave back are.
func TestScrubFreeSkipsNeverUsedFrames(t *testing.T) {
	e := newDirtyEnv(t, 64, false)
	pa := e.alloc(t, 8)
	if err := e.a.FreeContig(pa, 8); err != nil {
		t.Fatal(err)
	}
	e.touched = map[uint64]bool{}
	n, more := e.a.ScrubFree(64, e.page)
	if n != 8 || more || len(e.touched) != 8 {
		t.Fatalf("scrubbed %d (touched %d), more %v; want the 8 freed frames only", n, len(e.touched), more)
	}
	for i := uint64(0); i < 8; i++ {
		if !e.touched[pa+i*PageSize] {
			t.Fatalf("freed frame %#x not scrubbed", pa+i*PageSize)
		}
	}
	if !e.a.Dirty(pa + 8*PageSize) {
		t.Fatal("a never-used frame lost its dirty mark")
	}
}

// FreeContigZeroed takes back frames their holder never wrote: they stay
// clean, the idle scrub leaves them alone and the next user gets them
// without a write.
func TestFreeContigZeroed(t *testing.T) {
	e := newDirtyEnv(t, 64, true)
	pa := e.alloc(t, 16)
	if err := e.a.FreeContigZeroed(pa, 16); err != nil {
		t.Fatal(err)
	}
	for i := uint64(0); i < 16; i++ {
		if e.a.Dirty(pa + i*PageSize) {
			t.Fatalf("frame %#x dirty after FreeContigZeroed", pa+i*PageSize)
		}
	}
	if n, more := e.a.ScrubFree(64, e.page); n != 0 || more {
		t.Fatalf("ScrubFree cleared %d never-written frames", n)
	}
	e.alloc(t, 16)
	if len(e.touched) != 0 {
		t.Fatalf("%d frames written", len(e.touched))
	}
	if err := e.a.FreeContigZeroed(pa+64*PageSize, 1); err != ErrNotAllocated {
		t.Fatalf("free outside the window: %v", err)
	}
}

// AllocContig takes a clean run over a dirty one, as Xen's heap takes a
// clean buddy first: a domain built right after another was destroyed gets
// frames that need no scrub while the dead domain's still wait for the
// idle loop. With no clean run left it falls back to a dirty one, and it
// finds clean runs again once ScrubFree has made some.
func TestAllocContigPrefersCleanRuns(t *testing.T) {
	e := newDirtyEnv(t, 256, true)
	old := e.alloc(t, 64) // the lowest run, 0
	if old != 0 {
		t.Fatalf("first run at %#x, want 0 (first fit)", old)
	}
	if err := e.a.FreeContig(old, 64); err != nil {
		t.Fatal(err)
	}
	// [0, 64) is dirty now: the next run comes from the clean frames above.
	e.touched = map[uint64]bool{}
	next := e.alloc(t, 64)
	if next != 64*PageSize || len(e.touched) != 0 {
		t.Fatalf("run after a free at %#x with %d frames scrubbed; want %#x, none", next, len(e.touched), 64*PageSize)
	}
	// Take the rest of the clean memory; the dirty run is what is left.
	third := e.alloc(t, 64)
	e.alloc(t, 64)
	got := e.alloc(t, 64)
	if got != 0 || len(e.touched) != 64 {
		t.Fatalf("last run at %#x with %d frames scrubbed; want the dirty run at 0, all 64", got, len(e.touched))
	}
	// A miss is remembered (no clean run of 64 or more is looked for),
	// and forgotten once frames are cleaned.
	if err := e.a.FreeContig(got, 64); err != nil {
		t.Fatal(err)
	}
	if err := e.a.FreeContig(third, 64); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.a.AllocContig(128, 1); ok {
		t.Fatal("128 frames allocated out of two separate runs of 64")
	}
	if e.a.cleanMiss == 0 {
		t.Fatal("a failed search for clean frames left no mark")
	}
	if n, _ := e.a.ScrubFree(64, e.page); n != 64 { // the run at 0
		t.Fatalf("scrubbed %d", n)
	}
	e.touched = map[uint64]bool{}
	if pa := e.alloc(t, 32); pa != 0 || len(e.touched) != 0 {
		t.Fatalf("run after scrubbing at %#x with %d frames written; want the scrubbed run at 0, none", pa, len(e.touched))
	}
	if pa := e.alloc(t, 32); pa != 32*PageSize || len(e.touched) != 0 {
		t.Fatalf("second run at %#x with %d frames written; want %#x, none", pa, len(e.touched), 32*PageSize)
	}
	// Only the dirty run of the third is left: it is taken, and scrubbed.
	if pa := e.alloc(t, 64); pa != third || len(e.touched) != 64 {
		t.Fatalf("run at %#x with %d frames written; want the dirty run at %#x, all 64", pa, len(e.touched), third)
	}
}

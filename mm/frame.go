package mm

import (
	"math/bits"
	"unsafe"
)

// FrameAllocator hands out 4 KiB physical frames from one contiguous
// physical window [base, limit).
//
// Each frame in the window is in one of three states:
//
//   - reserved: never added with AddFree, or taken away with Reserve. The
//     allocator never hands it out and refuses to Free it.
//   - free: added and available to Alloc / AllocContig.
//   - allocated: handed out by Alloc / AllocContig and not yet freed.
//
// The state lives in a caller-supplied bitmap (on bare metal a carved-out
// piece of RAM) of BitmapWords(base, limit) words: one bit per frame for
// "free", one bit per frame for "managed" (free or allocated) and one for
// "dirty". The second bit is what lets Free reject frames that were reserved
// or never added (for example the hypervisor image), and keeps Stats exact
// when Reserve overlaps allocated frames.
//
// The dirty bit says a frame may hold data: it was added with AddFree
// (contents unknown) or has been freed since it was handed out. Frames added
// with AddZeroed are known to be zero and stay clean until their first Free.
// The allocator never touches frame contents: whoever hands frames on
// scrubs the dirty ones (ScrubAllocated), so a frame that one user gave back
// never reaches the next with its data, while frames known to be zero are
// not written at all (under an emulator a write makes the host commit the
// page; on hardware it costs memory bandwidth). This is Xen's PGC_need_scrub
// page state, scrubbed at allocation time; ScrubFree is Xen's idle
// scrubbing, which cleans free frames ahead of their next use.
//
// The zero value is an empty allocator that owns nothing; every method is
// safe to call on it. A FrameAllocator is not safe for concurrent use; the
// caller provides locking.
//
// After Init no method allocates, writes Go pointers or panics.
type FrameAllocator struct {
	freeMap  []uint64 // bit set: frame is free (implies managed)
	ownMap   []uint64 // bit set: frame is managed (free or allocated)
	dirtyMap []uint64 // bit set: frame may hold data (see the type's comment)
	freedMap []uint64 // bit set: dirty because a holder gave it back (ScrubFree's work)
	base     uint64   // first byte of the window, page aligned
	limit    uint64   // end of the window (exclusive), page aligned
	frames   uint64   // number of frames in the window
	total    uint64   // managed frames
	free     uint64   // free frames
	hint     uint64   // frame index where Alloc starts searching
	scrubAt  uint64   // bitmap word where ScrubFree resumes
	// cleanMiss is the shortest run AllocContig last looked for in
	// vain among clean frames (0: none missed since frames last became
	// clean), so that it stops scanning for clean runs that cannot
	// exist until AddZeroed, FreeContigZeroed or ScrubFree makes some.
	cleanMiss uint64
	name      [16]byte // debugging name, truncated
	nameLen   uint8
}

// BitmapWords returns how many uint64 words of bitmap Init needs for the
// window [base, limit): four bits per frame, rounded up to whole words for
// each of the four bit planes. It returns 0 for an empty or inverted window.
func BitmapWords(base, limit uint64) uint64 {
	if limit <= base {
		return 0
	}
	span := limit - base
	frames := span >> pageShift
	if span&pageMask != 0 {
		frames++
	}
	return bitPlanes * ((frames + 63) / 64)
}

// bitPlanes is the number of bitmaps: free, managed, dirty, freed.
const bitPlanes = 4

// Init prepares a for the window [base, limit), using bitmap (at least
// BitmapWords(base, limit) words) as its state storage. base and limit must
// be page aligned with limit > base. Every frame starts reserved; make
// memory available with AddFree. name (truncated to 16 bytes) is for
// debugging only. On error a is left unchanged.
//
// Init is a boot-time operation: it stores the bitmap slice (a Go pointer)
// in a.
func (a *FrameAllocator) Init(name string, base, limit uint64, bitmap []uint64) error {
	if base&pageMask != 0 || limit&pageMask != 0 || limit <= base {
		return ErrBadWindow
	}
	need := BitmapWords(base, limit)
	if uint64(len(bitmap)) < need {
		return ErrBitmapTooSmall
	}
	plane := need / bitPlanes
	for i := uint64(0); i < need; i++ {
		bitmap[i] = 0
	}
	a.freeMap = bitmap[:plane:plane]
	a.ownMap = bitmap[plane : 2*plane : 2*plane]
	a.dirtyMap = bitmap[2*plane : 3*plane : 3*plane]
	a.freedMap = bitmap[3*plane : need : need]
	a.base = base
	a.limit = limit
	a.frames = (limit - base) >> pageShift
	a.total = 0
	a.free = 0
	a.hint = 0
	a.scrubAt = 0
	a.cleanMiss = 0
	a.name = [16]byte{}
	n := 0
	for n < len(name) && n < len(a.name) {
		a.name[n] = name[n]
		n++
	}
	a.nameLen = uint8(n)
	return nil
}

// Name returns the debugging name given to Init. The string shares storage
// with a and must not be retained across a later Init.
func (a *FrameAllocator) Name() string {
	if a.nameLen == 0 {
		return ""
	}
	return unsafe.String(&a.name[0], int(a.nameLen))
}

// Window returns the physical window [base, limit) given to Init (both zero
// for an uninitialised allocator).
func (a *FrameAllocator) Window() (base, limit uint64) {
	return a.base, a.limit
}

// AddFree makes the frames lying entirely inside [start, end) ∩ window
// available: start is rounded up and end down to page boundaries. Frames
// that are already free or currently allocated are left as they are, so
// AddFree is idempotent and never steals an allocated frame. The frames it
// adds are dirty: nothing is known about what they hold.
func (a *FrameAllocator) AddFree(start, end uint64) { a.add(start, end, true) }

// AddZeroed is AddFree for memory known to hold only zeros (RAM the
// firmware cleared, under a machine that starts with zeroed memory): the
// frames it adds are clean, so handing them out writes nothing.
func (a *FrameAllocator) AddZeroed(start, end uint64) { a.add(start, end, false) }

func (a *FrameAllocator) add(start, end uint64, dirty bool) {
	if start < a.base {
		start = a.base
	}
	if end > a.limit {
		end = a.limit
	}
	if end <= start {
		return
	}
	// start < limit and limit is page aligned, so rounding up cannot
	// overflow or pass limit.
	start = (start + pageMask) &^ pageMask
	end &^= pageMask
	if end <= start {
		return
	}
	lo := (start - a.base) >> pageShift
	hi := (end - a.base) >> pageShift
	for lo < hi {
		w, m, n := spanWord(lo, hi)
		if w >= uint64(len(a.ownMap)) || w >= uint64(len(a.freeMap)) {
			return
		}
		if w >= uint64(len(a.dirtyMap)) {
			return
		}
		add := m &^ a.ownMap[w]
		a.ownMap[w] |= add
		a.freeMap[w] |= add
		if dirty {
			a.dirtyMap[w] |= add
		} else {
			a.dirtyMap[w] &^= add
			a.cleanMiss = 0
		}
		c := uint64(bits.OnesCount64(add))
		a.total += c
		a.free += c
		lo += n
	}
}

// Reserve takes every frame touching [start, end) ∩ window away from the
// allocator: start is rounded down and end up to page boundaries. Free
// frames stop being handed out; allocated frames stay with their holder but
// can no longer be given back with Free. Both leave the Stats totals. Reserve
// is idempotent.
func (a *FrameAllocator) Reserve(start, end uint64) {
	if start < a.base {
		start = a.base
	}
	if end > a.limit {
		end = a.limit
	}
	if end <= start {
		return
	}
	// end <= limit and limit is page aligned, so rounding up cannot
	// overflow or pass limit.
	start &^= pageMask
	end = (end + pageMask) &^ pageMask
	lo := (start - a.base) >> pageShift
	hi := (end - a.base) >> pageShift
	for lo < hi {
		w, m, n := spanWord(lo, hi)
		if w >= uint64(len(a.ownMap)) || w >= uint64(len(a.freeMap)) {
			return
		}
		a.total -= uint64(bits.OnesCount64(a.ownMap[w] & m))
		a.free -= uint64(bits.OnesCount64(a.freeMap[w] & m))
		a.ownMap[w] &^= m
		a.freeMap[w] &^= m
		lo += n
	}
}

// Alloc returns the physical address of a free frame and marks it
// allocated, or ok == false when no frame is free. The search is next-fit:
// it resumes just past the frame the previous Alloc returned and wraps
// around the window.
func (a *FrameAllocator) Alloc() (pa uint64, ok bool) {
	if a.free == 0 {
		return 0, false
	}
	words := uint64(len(a.freeMap))
	h := a.hint
	if h >= a.frames {
		h = 0
	}
	w := h >> 6
	if w >= words {
		return 0, false
	}
	// First the hint's own word from the hint bit up, then every word in
	// turn, wrapping around and finishing with the hint word's low bits.
	x := a.freeMap[w] & (^uint64(0) << (h & 63))
	for k := uint64(0); x == 0 && k < words; k++ {
		w++
		if w >= words {
			w = 0
		}
		x = a.freeMap[w]
	}
	if x == 0 {
		return 0, false
	}
	b := uint64(bits.TrailingZeros64(x))
	a.freeMap[w] &^= 1 << b
	a.free--
	idx := w*64 + b
	a.hint = idx + 1
	return a.base + idx<<pageShift, true
}

// AllocContig allocates n physically contiguous free frames whose first
// frame's physical address is a multiple of alignFrames*PageSize, and
// returns that address. alignFrames must be a non-zero power of two; for
// example a 2 MiB page is AllocContig(512, 512). It returns ok == false for
// n == 0, an invalid alignment, or when no suitable run exists. The search is
// first-fit from the bottom of the window, which keeps large runs at the top.
//
// A run of clean frames is preferred to one that needs scrubbing, as Xen's
// heap allocator takes a clean buddy before a dirty one: memory a domain
// gave back just now is still dirty while the idle loop has not reached
// it (ScrubFree), and a domain created right after another was destroyed
// (a restart, xl create after xl destroy) then gets clean frames from
// elsewhere instead of waiting for the dirty ones to be cleared.
func (a *FrameAllocator) AllocContig(n, alignFrames uint64) (pa uint64, ok bool) {
	if n == 0 || alignFrames == 0 || alignFrames&(alignFrames-1) != 0 || n > a.free {
		return 0, false
	}
	if a.cleanMiss == 0 || n < a.cleanMiss {
		if idx, ok := a.findRun(n, alignFrames, true); ok {
			return a.takeRun(idx, n), true
		}
		a.cleanMiss = n
	}
	if idx, ok := a.findRun(n, alignFrames, false); ok {
		return a.takeRun(idx, n), true
	}
	return 0, false
}

// findRun returns the index of the lowest run of n free frames (clean ones
// only, if clean) whose physical address is a multiple of alignFrames
// pages.
func (a *FrameAllocator) findRun(n, alignFrames uint64, clean bool) (idx uint64, ok bool) {
	// Absolute frame numbers are below 2^52 and alignFrames is at most
	// 2^63, so alignUp below cannot overflow.
	baseFrame := a.base >> pageShift
	idx = alignUp(baseFrame, alignFrames) - baseFrame
	for idx < a.frames && n <= a.frames-idx {
		j, busy := a.firstUnfit(idx, idx+n, clean)
		if !busy {
			return idx, true
		}
		idx = alignUp(baseFrame+j+1, alignFrames) - baseFrame
	}
	return 0, false
}

// takeRun allocates the n free frames from index idx and returns the
// first one's address.
func (a *FrameAllocator) takeRun(idx, n uint64) uint64 {
	a.clearFree(idx, idx+n)
	a.free -= n
	return a.base + idx<<pageShift
}

// Free returns the frame at pa to the allocator. It returns ErrNotAllocated
// (and changes nothing) when pa is unaligned, outside the window, already
// free, or reserved.
func (a *FrameAllocator) Free(pa uint64) error {
	return a.FreeContig(pa, 1)
}

// FreeContig returns the n frames starting at pa to the allocator. Either all
// n frames are freed or, when any of them is not currently allocated (or the
// run is unaligned or leaves the window), none is and ErrNotAllocated is
// returned. n == 0 is a no-op.
func (a *FrameAllocator) FreeContig(pa, n uint64) error { return a.freeContig(pa, n, false) }

// FreeContigZeroed is FreeContig for frames their holder never wrote since
// it got them (so they still hold the zeros they were handed out with):
// they come back clean, needing no scrub before their next use.
func (a *FrameAllocator) FreeContigZeroed(pa, n uint64) error { return a.freeContig(pa, n, true) }

func (a *FrameAllocator) freeContig(pa, n uint64, zeroed bool) error {
	if n == 0 {
		return nil
	}
	if pa&pageMask != 0 || pa < a.base || pa >= a.limit {
		return ErrNotAllocated
	}
	lo := (pa - a.base) >> pageShift
	if n > a.frames-lo {
		return ErrNotAllocated
	}
	hi := lo + n
	for i := lo; i < hi; {
		w, m, c := spanWord(i, hi)
		if w >= uint64(len(a.ownMap)) || w >= uint64(len(a.freeMap)) {
			return ErrNotAllocated
		}
		if a.ownMap[w]&m != m || a.freeMap[w]&m != 0 {
			return ErrNotAllocated
		}
		i += c
	}
	for i := lo; i < hi; {
		w, m, c := spanWord(i, hi)
		a.freeMap[w] |= m
		if w < uint64(len(a.dirtyMap)) && w < uint64(len(a.freedMap)) {
			if zeroed {
				a.dirtyMap[w] &^= m
				a.freedMap[w] &^= m
				a.cleanMiss = 0
			} else {
				a.dirtyMap[w] |= m // its holder may have written it
				a.freedMap[w] |= m
			}
		}
		i += c
	}
	a.free += n
	// ScrubFree goes on from the lowest dirty frame, the end AllocContig
	// takes runs from first.
	a.scrubAt = min(a.scrubAt, lo>>6)
	return nil
}

// Dirty reports whether the frame at pa may hold data: it was added with
// AddFree, or freed since it was first handed out. Frames outside the
// window count as dirty.
func (a *FrameAllocator) Dirty(pa uint64) bool {
	if pa < a.base || pa >= a.limit {
		return true
	}
	idx := (pa - a.base) >> pageShift
	w := idx >> 6
	if w >= uint64(len(a.dirtyMap)) {
		return true
	}
	return a.dirtyMap[w]>>(idx&63)&1 == 1
}

// ScrubAllocated zeroes, through page, those of the n frames at pa (just
// handed out by Alloc or AllocContig) that are dirty, and returns how many
// it zeroed. Clean frames are neither read nor written. It only reads the
// allocator's state, and only the bits of frames the caller now owns, which
// no other call changes until the caller frees them: it may run without
// the caller's lock.
//
// A frame stays marked dirty after it is scrubbed here: it is in use, and
// its next Free would mark it again anyway.
func (a *FrameAllocator) ScrubAllocated(pa, n uint64, page func(pa uint64) *[PageSize]byte) (scrubbed uint64) {
	for i := uint64(0); i < n; i++ {
		f := pa + i<<pageShift
		if a.Dirty(f) {
			clear(page(f)[:])
			scrubbed++
		}
	}
	return scrubbed
}

// ScrubFree zeroes, through page, up to max free frames that a holder gave
// back dirty (Free), and marks them clean, so that handing them out later
// writes nothing: Xen's scrubbing of free pages in the idle loop. Frames
// dirty only because they were added with AddFree (contents unknown, and
// under an emulator perhaps never touched, so that writing them would cost
// host memory) are left to ScrubAllocated. It resumes where
// the previous call stopped, or at the lowest frame freed since (where
// AllocContig looks first). It returns how many frames it zeroed and
// whether such frames may remain (false once a pass over the whole window
// found none left). The frames stay free throughout: the caller's
// lock must be held for the whole call, so keep max small.
func (a *FrameAllocator) ScrubFree(max uint64, page func(pa uint64) *[PageSize]byte) (scrubbed uint64, more bool) {
	words := uint64(len(a.freeMap))
	if words == 0 || uint64(len(a.dirtyMap)) < words || uint64(len(a.freedMap)) < words || max == 0 {
		return 0, words != 0 && max == 0
	}
	w := a.scrubAt
	for k := uint64(0); k <= words; k++ {
		if w >= words {
			w = 0
		}
		for x := a.freeMap[w] & a.dirtyMap[w] & a.freedMap[w]; x != 0; x &= x - 1 {
			if scrubbed == max {
				a.scrubAt = w
				return scrubbed, true
			}
			b := uint64(bits.TrailingZeros64(x))
			clear(page(a.base + (w*64+b)<<pageShift)[:])
			a.dirtyMap[w] &^= 1 << b
			a.freedMap[w] &^= 1 << b
			a.cleanMiss = 0
			scrubbed++
		}
		w++
	}
	a.scrubAt = w
	return scrubbed, false
}

// Owns reports whether pa lies inside the allocator's physical window,
// whatever the state of its frame.
func (a *FrameAllocator) Owns(pa uint64) bool {
	return a.frames != 0 && pa >= a.base && pa < a.limit
}

// Stats returns, in frames, how many frames the allocator manages (added
// with AddFree and not since Reserved) and how many of those are free.
func (a *FrameAllocator) Stats() (total, free uint64) {
	return a.total, a.free
}

// firstUnfit returns the index of the first frame in [lo, hi) that is not
// free (or, if clean, is dirty), with busy == true, or busy == false when
// all are free (and clean).
func (a *FrameAllocator) firstUnfit(lo, hi uint64, clean bool) (idx uint64, busy bool) {
	for lo < hi {
		w, m, n := spanWord(lo, hi)
		if w >= uint64(len(a.freeMap)) || (clean && w >= uint64(len(a.dirtyMap))) {
			return lo, true
		}
		z := ^a.freeMap[w] & m
		if clean {
			z |= a.dirtyMap[w] & m
		}
		if z != 0 {
			return w*64 + uint64(bits.TrailingZeros64(z)), true
		}
		lo += n
	}
	return 0, false
}

// clearFree marks the frames in [lo, hi), known to be free, allocated.
func (a *FrameAllocator) clearFree(lo, hi uint64) {
	for lo < hi {
		w, m, n := spanWord(lo, hi)
		if w >= uint64(len(a.freeMap)) {
			return
		}
		a.freeMap[w] &^= m
		lo += n
	}
}

// spanWord describes the first word-sized piece of the frame run [lo, hi)
// (lo < hi): the word index, the mask of the run's bits in that word and how
// many frames that is.
func spanWord(lo, hi uint64) (w, mask, n uint64) {
	w = lo >> 6
	b := lo & 63
	n = 64 - b
	if hi-lo < n {
		n = hi - lo
	}
	if n == 64 {
		return w, ^uint64(0), 64
	}
	return w, ((uint64(1) << n) - 1) << b, n
}

// alignUp rounds x up to a multiple of the power of two a.
func alignUp(x, a uint64) uint64 {
	return (x + a - 1) &^ (a - 1)
}

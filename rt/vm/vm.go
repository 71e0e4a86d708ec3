// Package vm keeps the virtual-memory area list behind mmap, munmap and
// mprotect for GoZen's Linux-syscall personality.
//
// The Go runtime only asks for anonymous memory: large PROT_NONE
// reservations, MAP_FIXED read/write commits inside them, munmap of parts,
// and address hints such as 0xc000000000. A Space records which page ranges
// are mapped with which protection; the page-fault handler consults it
// (Find) to back pages on demand, and the syscall layer keeps the page
// tables in step (it unmaps page-table entries for ranges this package
// replaces, unmaps or re-protects).
//
// # Kernel-context constraints
//
// The methods run inside syscall and page-fault handlers where the Go
// runtime cannot help, so none of them allocates, writes a Go pointer (a
// Space is a fixed array of integers, so no write barriers run) or panics on
// any argument value. Errors are Errno values, plain integers.
//
// A Space is not safe for concurrent use; the caller provides locking.
package vm

// Linux protection bits. PROT_NONE is 0.
const (
	ProtRead  = 1 // PROT_READ
	ProtWrite = 2 // PROT_WRITE
	ProtExec  = 4 // PROT_EXEC
)

// protMask holds every protection bit this package accepts.
const protMask = ProtRead | ProtWrite | ProtExec

// MaxAreas is the capacity of a Space: the most distinct areas (maximal
// runs of pages with one protection) it can hold. Operations that would
// need more fail with ENOMEM, like Linux's vm.max_map_count.
const MaxAreas = 1024

// PageSize is the granularity of every area (4 KiB).
const PageSize = 4096

const pageMask = PageSize - 1

// Errno is a Linux error number; 0 means success.
type Errno uint16

// Linux error numbers returned by Space methods.
const (
	ENOMEM Errno = 12 // out of address space or of area slots, or range not mapped (Protect)
	EINVAL Errno = 22 // bad argument: zero length, misaligned address, overflow or bad prot
)

// Error returns a constant description of e.
func (e Errno) Error() string {
	switch e {
	case 0:
		return "success"
	case ENOMEM:
		return "cannot allocate memory"
	case EINVAL:
		return "invalid argument"
	}
	return "unknown errno"
}

// Area is one mapped range [Start, End) of whole pages with one protection
// (a combination of ProtRead, ProtWrite and ProtExec; 0 is PROT_NONE).
type Area struct {
	Start, End uint64
	Prot       uint8
}

// Space is a process address space's list of mapped areas, kept sorted,
// non-overlapping and with touching areas of equal protection merged, so the
// list is always the minimal description of the mapping. It hands out
// addresses from the window [lo, hi) set by Init. The zero value is an empty
// space with an empty window.
type Space struct {
	areas  [MaxAreas]Area
	n      int
	lo, hi uint64
}

// Init empties s and sets the window of addresses it may hand out or accept
// for MAP_FIXED to [lo, hi); lo is rounded up and hi down to page
// boundaries.
func (s *Space) Init(lo, hi uint64) {
	if lo > ^uint64(0)-pageMask {
		lo = ^uint64(0) &^ pageMask
	} else {
		lo = (lo + pageMask) &^ pageMask
	}
	hi &^= pageMask
	if hi < lo {
		hi = lo
	}
	s.n = 0
	s.lo = lo
	s.hi = hi
}

// Window returns the window set by Init.
func (s *Space) Window() (lo, hi uint64) { return s.lo, s.hi }

// Areas returns the current areas in ascending order. The slice aliases s's
// storage (no copy is made): it is only valid until the next modification
// and must not be written.
func (s *Space) Areas() []Area {
	n := s.count()
	return s.areas[:n:n]
}

// count returns s.n clamped to the array bounds.
func (s *Space) count() int {
	if s.n < 0 || s.n > MaxAreas {
		return 0
	}
	return s.n
}

// pageLen rounds length up to whole pages, returning ok == false for zero
// or when rounding overflows.
func pageLen(length uint64) (uint64, bool) {
	if length == 0 || length > ^uint64(0)-pageMask {
		return 0, false
	}
	return (length + pageMask) &^ pageMask, true
}

// Map records an anonymous mapping of length bytes (rounded up to pages)
// with protection prot and returns its start address.
//
// With fixed (MAP_FIXED), the mapping is exactly [addr, addr+length): addr
// must be page aligned and the range must lie inside the window (else
// ENOMEM); whatever overlapped is replaced. The caller removes any
// page-table entries in that range.
//
// Without fixed, addr is a hint: rounded up to a page, it is used if the
// whole range is free and inside the window. Otherwise the lowest free gap
// at or above the window start that fits is used (first fit), or ENOMEM is
// returned.
//
// Map returns EINVAL for zero length, a misaligned fixed addr, an address
// or length overflow, or unknown prot bits, and ENOMEM when no room is left
// or the area list is full. On error s is unchanged.
func (s *Space) Map(addr, length uint64, prot uint8, fixed bool) (uint64, Errno) {
	size, ok := pageLen(length)
	if !ok || prot&^protMask != 0 {
		return 0, EINVAL
	}
	if fixed {
		if addr&pageMask != 0 || addr > ^uint64(0)-size {
			return 0, EINVAL
		}
		if addr < s.lo || addr+size > s.hi {
			return 0, ENOMEM
		}
		if e := s.set(addr, addr+size, prot, true); e != 0 {
			return 0, e
		}
		return addr, 0
	}
	start, found := s.hint(addr, size)
	if !found {
		start, found = s.firstFit(size)
	}
	if !found {
		return 0, ENOMEM
	}
	if e := s.set(start, start+size, prot, true); e != 0 {
		return 0, e
	}
	return start, 0
}

// hint reports whether addr, rounded up to a page, can hold size bytes: the
// range is inside the window and entirely free.
func (s *Space) hint(addr, size uint64) (uint64, bool) {
	if addr == 0 || addr > ^uint64(0)-pageMask {
		return 0, false
	}
	addr = (addr + pageMask) &^ pageMask
	if addr < s.lo || addr > s.hi || size > s.hi-addr {
		return 0, false
	}
	i := s.firstEndAbove(addr)
	if i < s.count() && s.areas[i].Start < addr+size {
		return 0, false
	}
	return addr, true
}

// firstFit returns the lowest address in the window starting a free gap of
// at least size bytes.
func (s *Space) firstFit(size uint64) (uint64, bool) {
	prev := s.lo
	n := s.count()
	for i := 0; i < n; i++ {
		a := s.areas[i]
		if a.Start > prev && a.Start-prev >= size {
			return prev, true
		}
		if a.End > prev {
			prev = a.End
		}
	}
	if s.hi > prev && s.hi-prev >= size {
		return prev, true
	}
	return 0, false
}

// Unmap removes [addr, addr+length) (length rounded up to pages) from the
// space, splitting areas as needed. Holes and ranges outside the window are
// fine (Linux semantics). It returns EINVAL for a misaligned addr, zero
// length or overflow, and ENOMEM (changing nothing) if splitting an area
// would need more than MaxAreas areas.
func (s *Space) Unmap(addr, length uint64) Errno {
	size, ok := pageLen(length)
	if !ok || addr&pageMask != 0 || addr > ^uint64(0)-size {
		return EINVAL
	}
	return s.set(addr, addr+size, 0, false)
}

// Protect sets the protection of [addr, addr+length) (length rounded up to
// pages) to prot, like mprotect. Every page in the range must be mapped,
// else ENOMEM is returned and nothing changes (Linux may apply part of the
// change first; this all-or-nothing behaviour is a permitted refinement).
// A zero length succeeds without doing anything, as in Linux. It returns
// EINVAL for a misaligned addr, overflow or unknown prot bits, and ENOMEM
// if splitting would need more than MaxAreas areas.
func (s *Space) Protect(addr, length uint64, prot uint8) Errno {
	if addr&pageMask != 0 || prot&^protMask != 0 {
		return EINVAL
	}
	if length == 0 {
		return 0
	}
	size, ok := pageLen(length)
	if !ok || addr > ^uint64(0)-size {
		return EINVAL
	}
	end := addr + size
	n := s.count()
	cur := addr
	for i := s.firstEndAbove(addr); cur < end; i++ {
		if i >= n || s.areas[i].Start > cur {
			return ENOMEM
		}
		cur = s.areas[i].End
	}
	return s.set(addr, end, prot, true)
}

// Find returns the area containing addr.
func (s *Space) Find(addr uint64) (Area, bool) {
	i := s.firstEndAbove(addr)
	if i < s.count() && s.areas[i].Start <= addr {
		return s.areas[i], true
	}
	return Area{}, false
}

// firstEndAbove returns the index of the first area with End > addr (the
// area count if none), by binary search.
func (s *Space) firstEndAbove(addr uint64) int {
	lo, hi := 0, s.count()
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if s.areas[mid].End > addr {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// firstStartAtOrAbove returns the index of the first area with Start >=
// addr (the area count if none), by binary search.
func (s *Space) firstStartAtOrAbove(addr uint64) int {
	lo, hi := 0, s.count()
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if s.areas[mid].Start >= addr {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// set makes [start, end) (start < end, page aligned) mapped with prot when
// mapped is true, or unmapped otherwise, keeping the list sorted and
// merged. It fails with ENOMEM, changing nothing, if the result would not
// fit in MaxAreas.
func (s *Space) set(start, end uint64, prot uint8, mapped bool) Errno {
	n := s.count()
	i := s.firstEndAbove(start)     // first area reaching past start
	j := s.firstStartAtOrAbove(end) // first area wholly at or after end
	if j < i {
		j = i
	}
	// Areas [i, j) overlap [start, end). They, plus possibly one merged
	// neighbour on each side, are replaced by up to three new areas.
	from, to := i, j
	var repl [3]Area
	k := 0
	var left, right Area
	hasLeft := i < j && s.areas[i].Start < start
	hasRight := i < j && s.areas[j-1].End > end
	if hasLeft {
		left = Area{s.areas[i].Start, start, s.areas[i].Prot}
	}
	if hasRight {
		right = Area{end, s.areas[j-1].End, s.areas[j-1].Prot}
	}
	if !mapped {
		if hasLeft {
			repl[k] = left
			k++
		}
		if hasRight {
			repl[k] = right
			k++
		}
	} else {
		mid := Area{start, end, prot}
		if hasLeft && left.Prot == prot {
			mid.Start = left.Start
			hasLeft = false
		} else if !hasLeft && from > 0 && s.areas[from-1].End == start && s.areas[from-1].Prot == prot {
			from--
			mid.Start = s.areas[from].Start
		}
		if hasRight && right.Prot == prot {
			mid.End = right.End
			hasRight = false
		} else if !hasRight && to < n && s.areas[to].Start == end && s.areas[to].Prot == prot {
			mid.End = s.areas[to].End
			to++
		}
		if hasLeft {
			repl[k] = left
			k++
		}
		repl[k] = mid
		k++
		if hasRight {
			repl[k] = right
			k++
		}
	}
	newN := n - (to - from) + k
	if newN > MaxAreas {
		return ENOMEM
	}
	// Shift the tail [to, n) to start at from+k, then drop in repl.
	copy(s.areas[from+k:newN], s.areas[to:n])
	copy(s.areas[from:from+k], repl[:k])
	s.n = newN
	return 0
}

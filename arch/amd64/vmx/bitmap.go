package vmx

import "unsafe"

// IOBitmap is the pair of VMX I/O bitmaps, A (ports 0000-7FFF) then B
// (8000-FFFF), 8 KiB in all over caller-provided memory (SDM vol. 3
// §25.6.4 "I/O-Bitmap Addresses"). Bit n covers port n; a set bit makes an
// access exit. With "use I/O bitmaps", an access exits if the bit of any
// port it touches is set, or if it wraps past port FFFF (SDM §26.1.3).
//
// The methods never allocate and never panic: ports whose bits lie beyond
// a short map read as intercepted and are left alone.
type IOBitmap []byte

// IOBitmapSize is the size of both bitmaps.
const IOBitmapSize = 8192

// InterceptAll makes every port access exit.
func (m IOBitmap) InterceptAll() {
	for i := range m {
		m[i] = 0xff
	}
}

// Allow lets the guest reach the n ports from port on without an exit; the
// range is cut at port FFFF.
func (m IOBitmap) Allow(port uint16, n int) { m.set(port, n, false) }

// Intercept makes the n ports from port on exit again.
func (m IOBitmap) Intercept(port uint16, n int) { m.set(port, n, true) }

func (m IOBitmap) set(port uint16, n int, intercept bool) {
	if n <= 0 {
		return
	}
	end := 1 << 16
	if n < end-int(port) {
		end = int(port) + n
	}
	for p := int(port); p < end; p++ {
		i := p >> 3
		if i >= len(m) {
			return
		}
		if intercept {
			m[i] |= 1 << (p & 7)
		} else {
			m[i] &^= 1 << (p & 7)
		}
	}
}

// Intercepted reports whether an access to port exits.
func (m IOBitmap) Intercepted(port uint16) bool {
	i := int(port >> 3)
	return i >= len(m) || m[i]&(1<<(port&7)) != 0
}

// MSRBitmap is the VMX MSR bitmap, one 4 KiB page (SDM vol. 3 §25.6.9
// "MSR-Bitmap Address"): read bitmaps for MSRs 00000000-00001FFF (bytes
// 0-1023) and C0000000-C0001FFF (1024-2047), then the write bitmaps for
// the same ranges (2048-3071, 3072-4095). A set bit makes RDMSR or WRMSR
// of that MSR exit; MSRs outside both ranges always exit.
type MSRBitmap []byte

// MSRBitmapSize is the size of the MSR bitmap.
const MSRBitmapSize = 4096

// InterceptAll makes every RDMSR and WRMSR exit.
func (m MSRBitmap) InterceptAll() {
	for i := range m {
		m[i] = 0xff
	}
}

// msrBit returns the bit index of msr in the read bitmaps (the write bit
// is 2048*8 further on), or ok false outside both ranges.
func msrBit(msr uint32) (bit int, ok bool) {
	switch {
	case msr < 0x2000:
		return int(msr), true
	case msr-0xC0000000 < 0x2000:
		return 1024*8 + int(msr-0xC0000000), true
	}
	return 0, false
}

// Allow sets the permissions of msr: reads exit unless read, writes exit
// unless write. It returns false, changing nothing, for an MSR outside the
// covered ranges or beyond the end of a short map.
func (m MSRBitmap) Allow(msr uint32, read, write bool) bool {
	bit, ok := msrBit(msr)
	if !ok || (bit+2048*8)>>3 >= len(m) {
		return false
	}
	set := func(b int, intercept bool) {
		if intercept {
			m[b>>3] |= 1 << (b & 7)
		} else {
			m[b>>3] &^= 1 << (b & 7)
		}
	}
	set(bit, !read)
	set(bit+2048*8, !write)
	return true
}

// Intercepted reports whether WRMSR (write) or RDMSR of msr exits.
func (m MSRBitmap) Intercepted(msr uint32, write bool) bool {
	bit, ok := msrBit(msr)
	if write {
		bit += 2048 * 8
	}
	if !ok || bit>>3 >= len(m) {
		return true
	}
	return m[bit>>3]&(1<<(bit&7)) != 0
}

// msrEntry is one entry of a VM-entry MSR-load, VM-exit MSR-store or
// VM-exit MSR-load list (SDM vol. 3 §25.7.2, table 25-14): the MSR index
// in bits 31:0, bits 63:32 reserved, the value in bits 127:64.
type msrEntry struct {
	Index    uint32
	Reserved uint32
	Value    uint64
}

// msrList overlays a list of n entries on a page (at most 256).
func msrList(p []byte, n int) []msrEntry {
	return unsafe.Slice((*msrEntry)(unsafe.Pointer(&p[0])), n)
}

// VPIDs hands out virtual-processor identifiers (SDM vol. 3 §29.1), as
// svm.ASIDs hands out ASIDs: 1, 2, ... 0xFFFF, then a new generation
// starting at 1 whose first Alloc reports flushAll (every VPID's cached
// mappings must be invalidated before it is used, INVVPID all-context);
// a vCPU whose VPID is from an older generation takes a new one. VPID 0
// is VMX root operation's and is never handed out. Plain data, not safe
// for concurrent use.
type VPIDs struct {
	last uint16
	gen  uint64
}

// Init resets the allocator.
func (a *VPIDs) Init() { *a = VPIDs{} }

// Alloc returns a fresh VPID; flushAll is true when it begins a generation.
func (a *VPIDs) Alloc() (vpid uint16, flushAll bool) {
	if a.gen == 0 || a.last == 0xffff {
		a.gen++
		a.last = 1
		return 1, true
	}
	a.last++
	return a.last, false
}

// Generation is the current generation, 0 before the first Alloc.
func (a *VPIDs) Generation() uint64 { return a.gen }

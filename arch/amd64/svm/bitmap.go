package svm

// Sizes of the permission maps. Both live in physically contiguous, 4 KiB
// aligned memory whose addresses go into VMCB.IOPMBasePA and
// VMCB.MSRPMBasePA.
const (
	IOPMSize  = 12 << 10 // 3 pages (APM vol. 2 §15.10.1 "I/O Permissions Map")
	MSRPMSize = 8 << 10  // 2 pages (APM vol. 2 §15.11 "MSR Intercepts")
)

// ioPorts is the number of I/O ports; bits at and past it in the IOPM exist
// for accesses that run past port 0xFFFF.
const ioPorts = 1 << 16

// IOPM is an I/O permissions map over caller-provided memory, normally the
// IOPMSize bytes of the pages at VMCB.IOPMBasePA (APM vol. 2 §15.10.1 "I/O
// Permissions Map"). Bit n (byte n/8, bit n%8) covers port n; a set bit
// intercepts. With Misc1IOIOProt set, the CPU checks the bit of every port
// an IN/OUT touches, so a 4-byte access to port p checks bits p to p+3, and
// any set bit intercepts. The bits past port 0xFFFF serve accesses that run
// past the end of the port space; this type keeps them set.
//
// The methods never allocate and never panic: on a map shorter than
// IOPMSize, ports whose bits lie beyond its end read as intercepted and are
// left alone.
type IOPM []byte

// InterceptAll sets every bit: every port access exits.
func (m IOPM) InterceptAll() {
	for i := range m {
		m[i] = 0xFF
	}
}

// Allow lets the guest access the n ports from port on without an exit. The
// range is cut at port 0xFFFF; n <= 0 does nothing.
func (m IOPM) Allow(port uint16, n int) { m.set(port, n, false) }

// Intercept makes accesses to the n ports from port on exit again. The range
// is cut at port 0xFFFF; n <= 0 does nothing.
func (m IOPM) Intercept(port uint16, n int) { m.set(port, n, true) }

func (m IOPM) set(port uint16, n int, intercept bool) {
	if n <= 0 {
		return
	}
	end := ioPorts
	if n < end-int(port) {
		end = int(port) + n
	}
	for p := int(port); p < end; p++ {
		i := p >> 3
		if i >= len(m) {
			return
		}
		bit := byte(1) << uint(p&7)
		if intercept {
			m[i] |= bit
		} else {
			m[i] &^= bit
		}
	}
}

// Intercepted reports whether an access to port exits, that is whether its
// bit is set. (A multi-byte access also exits if a following port's bit is
// set.)
func (m IOPM) Intercepted(port uint16) bool {
	i := int(port >> 3)
	return i >= len(m) || m[i]&(1<<(port&7)) != 0
}

// The MSRPM's three vectors (APM vol. 2 §15.11 "MSR Intercepts", table
// "MSR Ranges Covered by MSRPM"): 8192 MSRs each, 2 bits per MSR, so 2 KiB
// per vector. The last 2 KiB of the map are reserved.
const (
	msrRange0      = 0x0000_0000 // MSRs 0000_0000-0000_1FFF: bytes 0x000-0x7FF
	msrRange1      = 0xC000_0000 // MSRs C000_0000-C000_1FFF: bytes 0x800-0xFFF
	msrRange2      = 0xC001_0000 // MSRs C001_0000-C001_1FFF: bytes 0x1000-0x17FF
	msrsPerRange   = 0x2000
	msrVectorBytes = msrsPerRange * 2 / 8
)

// MSRPM is an MSR permissions map over caller-provided memory, normally the
// MSRPMSize bytes of the pages at VMCB.MSRPMBasePA (APM vol. 2 §15.11 "MSR
// Intercepts"). Each MSR of the three covered ranges has two bits: bit 2k
// intercepts RDMSR and bit 2k+1 WRMSR of the k-th MSR of its range, in the
// range's 2 KiB vector (byte 2k/8). With Misc1MSRProt set, an access to an
// MSR outside the ranges always exits.
//
// The methods never allocate and never panic: on a map shorter than
// MSRPMSize, MSRs whose bits lie beyond its end read as intercepted and
// Allow fails for them.
type MSRPM []byte

// InterceptAll sets every bit, the reserved last 2 KiB included: every RDMSR
// and WRMSR exits.
func (m MSRPM) InterceptAll() {
	for i := range m {
		m[i] = 0xFF
	}
}

// msrBit returns the index of the read bit of msr in the map: the write bit
// follows it. ok is false for an MSR outside the three ranges.
func msrBit(msr uint32) (bit int, ok bool) {
	var vector int
	switch {
	case msr-msrRange0 < msrsPerRange:
		msr, vector = msr-msrRange0, 0
	case msr-msrRange1 < msrsPerRange: // unsigned: false below the range
		msr, vector = msr-msrRange1, 1
	case msr-msrRange2 < msrsPerRange:
		msr, vector = msr-msrRange2, 2
	default:
		return 0, false
	}
	return vector*msrVectorBytes*8 + int(msr)*2, true
}

// Allow sets the permissions of msr: reads exit unless read, and writes exit
// unless write, so Allow(msr, false, false) intercepts both again. It
// returns false, changing nothing, for an MSR outside the covered ranges
// (those always exit) or whose bits lie beyond the end of the map.
func (m MSRPM) Allow(msr uint32, read, write bool) bool {
	bit, ok := msrBit(msr)
	if !ok || bit>>3 >= len(m) {
		return false
	}
	// Both bits are in one byte: bit is even.
	i, shift := bit>>3, uint(bit&7)
	b := m[i] | 3<<shift
	if read {
		b &^= 1 << shift
	}
	if write {
		b &^= 2 << shift
	}
	m[i] = b
	return true
}

// Intercepted reports whether a WRMSR (write) or RDMSR (!write) of msr
// exits. MSRs outside the covered ranges always do.
func (m MSRPM) Intercepted(msr uint32, write bool) bool {
	bit, ok := msrBit(msr)
	if !ok || bit>>3 >= len(m) {
		return true
	}
	if write {
		bit++
	}
	return m[bit>>3]&(1<<uint(bit&7)) != 0
}

package rt

import (
	"errors"
	"sync/atomic"
	"syscall"
	"unsafe"

	"gozen/arch/amd64"
	"gozen/mm/pgtable"
)

// Device interrupts for dom0 (issue 9 item 5). rt owns the physical
// IO-APICs and the host vectors; hv (through cmd/hv) asks for a GSI to be
// routed to a vector of its own and masks or unmasks it as dom0 programs
// its emulated IO-APIC, and learns which vectors fired.
//
// A device interrupt exits the guest (SVM's INTR intercept) and is taken
// here after STGI, or arrives while hv's own code runs. Trap context then
// only records it: a bit per vector in irqPending (read and cleared by Go
// code with atomic operations), irqSeq bumped, and the thread waiting in
// WaitIRQ woken, so a run loop that sleeps learns of it. A level-triggered
// pin is masked at the IO-APIC before the local APIC's EOI, so the line
// does not fire again before hv has handed it to dom0 and dom0 has EOId it;
// hv unmasks it then (UnmaskGSI). Edge pins are EOId and left alone.
//
// Every IO-APIC access is an IOREGSEL write followed by an IOWIN access;
// Go code does the pair with interrupts off, so trap context (which masks
// level pins) never finds IOREGSEL changed under it.

// Host vectors for device interrupts: above the legacy PIC's 0x20-0x2F and
// below rt's timer (0xEF), whose priority class stays the highest.
const (
	IRQVectorFirst = 0x30
	IRQVectorLast  = 0xDF
)

const maxIOAPICs = 8

// ioapicRegs is one physical IO-APIC (trap context reads it).
type ioapicRegs struct {
	base    uint64 // MMIO base (mapped uncached in hv's page tables)
	gsiBase uint32
	pins    int
}

// irqLine says what a host vector is for (trap context reads it).
type irqLine struct {
	used  bool
	msi   bool // an MSI vector: no IO-APIC pin
	level bool
	apic  uint8 // index into ioapics
	pin   uint8
}

var (
	ioapics    [maxIOAPICs]ioapicRegs
	nIOAPICs   int
	vecLine    [256]irqLine
	gsiVector  [maxIOAPICs * 240]uint8 // 0: not routed yet
	nextVector = IRQVectorFirst
	// irqPending has bit v set when host vector v fired and hv has not
	// taken it yet; irqSeq counts device interrupts (WaitIRQ's futex word).
	irqPending  [4]uint64
	irqSeq      uint32
	nDeviceIRQs uint64
)

// IO-APIC registers (82093AA datasheet §3).
const (
	ioapicSel       = 0x00
	ioapicWin       = 0x10
	ioapicRegVer    = 0x01
	ioapicRegRedir  = 0x10
	rteMasked       = 1 << 16
	rteLevel        = 1 << 15
	rteActiveLow    = 1 << 13
	rteDestShift    = 56
	ioapicMaxRedirs = 240
)

//go:nosplit
func ioapicRead(a *ioapicRegs, reg uint32) uint32 {
	*(*uint32)(unsafe.Pointer(uintptr(a.base + ioapicSel))) = reg
	return *(*uint32)(unsafe.Pointer(uintptr(a.base + ioapicWin)))
}

//go:nosplit
func ioapicWrite(a *ioapicRegs, reg, v uint32) {
	*(*uint32)(unsafe.Pointer(uintptr(a.base + ioapicSel))) = reg
	*(*uint32)(unsafe.Pointer(uintptr(a.base + ioapicWin))) = v
}

// ioapicSetMask sets or clears pin's mask bit (interrupts off).
//
//go:nosplit
func ioapicSetMask(a *ioapicRegs, pin int, masked bool) {
	reg := uint32(ioapicRegRedir + 2*pin)
	lo := ioapicRead(a, reg)
	if masked {
		lo |= rteMasked
	} else {
		lo &^= rteMasked
	}
	ioapicWrite(a, reg, lo)
}

// AddIOAPIC takes the physical IO-APIC at base, whose first pin is GSI
// gsiBase: it maps its registers uncached, masks every pin, and returns the
// pin count.
func AddIOAPIC(base uint64, gsiBase uint32) (int, error) {
	if base&0xfff != 0 || base < pageSize || base >= directMapLimit {
		return 0, errors.New("rt: IO-APIC base not a page address")
	}
	amd64.DisableInterrupts()
	defer amd64.EnableInterrupts()
	if nIOAPICs == maxIOAPICs {
		return 0, errors.New("rt: too many IO-APICs")
	}
	if _, flags, _, ok := kpt.Lookup(base); ok {
		if flags&pgtable.Writable == 0 {
			return 0, errors.New("rt: IO-APIC page already mapped read-only")
		}
	} else {
		if err := kpt.Map(base, base, pgtable.Size4K, ptMMIO); err != nil {
			return 0, err
		}
		amd64.WriteCR3(kpt.Root)
	}
	a := &ioapics[nIOAPICs]
	a.base, a.gsiBase = base, gsiBase
	ver := ioapicRead(a, ioapicRegVer)
	a.pins = int(ver>>16&0xff) + 1
	if ver == 0xffffffff || a.pins > ioapicMaxRedirs {
		a.base = 0
		return 0, errors.New("rt: no IO-APIC answers there")
	}
	for p := 0; p < a.pins; p++ {
		// Masked, edge, vector 0: nothing fires until hv routes the pin.
		ioapicWrite(a, uint32(ioapicRegRedir+2*p), rteMasked)
		ioapicWrite(a, uint32(ioapicRegRedir+2*p+1), 0)
	}
	nIOAPICs++
	return a.pins, nil
}

// findGSI returns the IO-APIC index and pin of gsi.
func findGSI(gsi uint32) (int, int, bool) {
	for i := 0; i < nIOAPICs; i++ {
		a := &ioapics[i]
		if gsi >= a.gsiBase && gsi < a.gsiBase+uint32(a.pins) {
			return i, int(gsi - a.gsiBase), true
		}
	}
	return 0, 0, false
}

// allocVector takes the next free device vector (interrupts off).
func allocVector() (uint8, bool) {
	if nextVector > IRQVectorLast {
		return 0, false
	}
	v := uint8(nextVector)
	nextVector++
	return v, true
}

// CPUAPICID is the local APIC ID of the CPU hv runs on (device interrupts
// are sent there).
func CPUAPICID() uint8 { return uint8(lapicRead(0x20) >> 24) }

// RouteGSI programs gsi's IO-APIC pin, masked, with the trigger mode and
// polarity given, as a fixed interrupt to this CPU on a host vector of its
// own (allocated on the first call for that GSI, kept after). It returns
// the vector.
func RouteGSI(gsi uint32, level, activeLow bool) (uint8, error) {
	amd64.DisableInterrupts()
	defer amd64.EnableInterrupts()
	ai, pin, ok := findGSI(gsi)
	if !ok {
		return 0, errors.New("rt: no IO-APIC has that GSI")
	}
	idx := ai*ioapicMaxRedirs + pin
	v := gsiVector[idx]
	if v == 0 {
		if v, ok = allocVector(); !ok {
			return 0, errors.New("rt: out of device vectors")
		}
		gsiVector[idx] = v
	}
	vecLine[v] = irqLine{used: true, level: level, apic: uint8(ai), pin: uint8(pin)}
	lo := uint32(v) | rteMasked // fixed delivery, physical destination
	if level {
		lo |= rteLevel
	}
	if activeLow {
		lo |= rteActiveLow
	}
	a := &ioapics[ai]
	ioapicWrite(a, uint32(ioapicRegRedir+2*pin), rteMasked) // mask before changing the entry
	ioapicWrite(a, uint32(ioapicRegRedir+2*pin+1), uint32(CPUAPICID())<<24)
	ioapicWrite(a, uint32(ioapicRegRedir+2*pin), lo)
	return v, nil
}

// MaskGSI and UnmaskGSI mask and unmask gsi's pin (no-ops for a GSI no
// IO-APIC has).
func MaskGSI(gsi uint32)   { setGSIMask(gsi, true) }
func UnmaskGSI(gsi uint32) { setGSIMask(gsi, false) }

func setGSIMask(gsi uint32, masked bool) {
	amd64.DisableInterrupts()
	if ai, pin, ok := findGSI(gsi); ok {
		ioapicSetMask(&ioapics[ai], pin, masked)
	}
	amd64.EnableInterrupts()
}

// AllocMSIVector takes a host vector for an MSI (edge) and returns it with
// the MSI address and data that send it to this CPU (SDM 11.11.1, 11.11.2:
// address 0xFEE00000 | destination ID << 12, physical destination; data:
// the vector, fixed delivery, edge).
func AllocMSIVector() (vector uint8, addr uint64, data uint32, err error) {
	amd64.DisableInterrupts()
	defer amd64.EnableInterrupts()
	v, ok := allocVector()
	if !ok {
		return 0, 0, 0, errors.New("rt: out of device vectors")
	}
	vecLine[v] = irqLine{used: true, msi: true}
	return v, 0xFEE00000 | uint64(CPUAPICID())<<12, uint32(v), nil
}

// deviceIRQ is trap context taking device vector v.
//
//go:nosplit
func deviceIRQ(v uint64) {
	l := &vecLine[v]
	if l.used && l.level && !l.msi {
		ioapicSetMask(&ioapics[l.apic], int(l.pin), true)
	}
	atomic.OrUint64(&irqPending[v/64], 1<<(v%64))
	atomic.AddUint32(&irqSeq, 1)
	nDeviceIRQs++
	threads.FutexWake(uint64(uintptr(unsafe.Pointer(&irqSeq))), 1)
	lapicEOI()
}

// IRQPending reports whether a device interrupt is waiting for TakeIRQs.
func IRQPending() bool {
	return atomic.LoadUint64(&irqPending[0])|atomic.LoadUint64(&irqPending[1])|
		atomic.LoadUint64(&irqPending[2])|atomic.LoadUint64(&irqPending[3]) != 0
}

// TakeIRQs moves the pending host vectors into p (bit v of p[v/64]),
// clearing them, and reports whether there were any.
func TakeIRQs(p *[4]uint64) bool {
	got := false
	for i := range p {
		p[i] = atomic.SwapUint64(&irqPending[i], 0)
		got = got || p[i] != 0
	}
	return got
}

// WaitIRQ blocks the calling thread until a device interrupt has arrived
// since seq (a value it returned before; 0 at first) and returns the new
// count. One goroutine calls it in a loop to wake hv's idle run loop.
func WaitIRQ(seq uint32) uint32 {
	for {
		cur := atomic.LoadUint32(&irqSeq)
		if cur != seq {
			return cur
		}
		futexWaitRaw(&irqSeq, seq)
	}
}

// futexWaitRaw waits on *addr while it holds val: a real futex system
// call, which rt's own handler serves (and trap context's FutexWake ends).
func futexWaitRaw(addr *uint32, val uint32) {
	syscall.Syscall6(syscall.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), futexWait|futexPrivate, uintptr(val), 0, 0, 0)
}

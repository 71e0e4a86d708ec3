// Package vlapic is GoZen's emulated local APIC (xAPIC mode, MMIO at
// 0xFEE00000), modelled on the architecture (Intel SDM vol. 3 ch. 11
// "Advanced Programmable Interrupt Controller"; AMD APM vol. 2 ch. 16
// "Advanced Programmable Interrupt Controller") and on Xen's
// xen/arch/x86/hvm/vlapic.c, whose choices it follows where the manuals
// leave room.
//
// It is a pure model: the register file, interrupt acceptance (IRR, ISR,
// TMR, TPR/PPR, EOI), the error status register, the local vector table and
// the APIC timer. It does not know vCPUs: a write to the ICR returns the
// IPI for the host to route (Targets picks the destination APICs), and the
// host injects what Pending returns, then calls Ack. Time is nanoseconds
// supplied by the caller, so the model is deterministic and host-tested.
//
// What it leaves out, as Xen does for HVM guests unless noted: x2APIC mode
// (hv hides x2APIC in CPUID), the TSC-deadline timer mode (hidden in CPUID
// too), the LVT CMCI entry (the version register reports six LVT entries),
// AMD's extended APIC space (0x400 and up), focus processor checking, and
// SMI and ExtINT delivery. The thermal, performance-counter and LINT LVT
// entries hold their values; nothing asserts them.
package vlapic

import "math/bits"

// Register offsets in the 4 KiB APIC page (SDM table 11-1, APM table 16-2).
const (
	RegID       = 0x020
	RegVersion  = 0x030
	RegTPR      = 0x080
	RegAPR      = 0x090
	RegPPR      = 0x0A0
	RegEOI      = 0x0B0
	RegRRD      = 0x0C0
	RegLDR      = 0x0D0
	RegDFR      = 0x0E0
	RegSVR      = 0x0F0
	RegISR      = 0x100 // 8 registers, 0x100-0x170
	RegTMR      = 0x180 // 8 registers, 0x180-0x1F0
	RegIRR      = 0x200 // 8 registers, 0x200-0x270
	RegESR      = 0x280
	RegICRLow   = 0x300
	RegICRHigh  = 0x310
	RegLVTTimer = 0x320
	RegLVTTherm = 0x330
	RegLVTPerf  = 0x340
	RegLVTLINT0 = 0x350
	RegLVTLINT1 = 0x360
	RegLVTError = 0x370
	RegTimerICR = 0x380 // initial count
	RegTimerCCR = 0x390 // current count
	RegTimerDCR = 0x3E0 // divide configuration

	// PageSize is the size of the APIC's MMIO page.
	PageSize = 0x1000
)

// VersionValue is the version register: an integrated APIC (version 0x14,
// as Xen's VLAPIC_VERSION) with six LVT entries (max LVT index 5), no
// directed EOI.
const VersionValue = 0x00050014

// ESR bits (SDM figure 11-9).
const (
	ESRSendChecksum   = 1 << 0 // P6/Pentium only; never set
	ESRRecvChecksum   = 1 << 1 // never set
	ESRSendAccept     = 1 << 2 // never set (Xen: the bus always accepts)
	ESRRecvAccept     = 1 << 3 // never set
	ESRRedirectable   = 1 << 4 // lowest-priority IPIs are supported: never set
	ESRSendIllegal    = 1 << 5 // an IPI with a vector below 16 was not sent
	ESRRecvIllegal    = 1 << 6 // an interrupt with a vector below 16 was refused
	ESRIllegalRegAddr = 1 << 7 // a reserved register was accessed
)

// LVT bits.
const (
	LVTMasked     = 1 << 16
	lvtVector     = 0xff
	lvtDelivery   = 7 << 8
	lvtPending    = 1 << 12 // delivery status: read-only, always idle
	lvtPolarity   = 1 << 13
	lvtRemoteIRR  = 1 << 14 // read-only
	lvtLevel      = 1 << 15
	TimerPeriodic = 1 << 17
	timerModeMask = 3 << 17
)

// svrEnable is SVR bit 8, the APIC software enable.
const svrEnable = 1 << 8

// lvtMask is what each LVT entry keeps of a write (Xen's vlapic_lvt_mask,
// without the read-only delivery status and remote IRR bits); index i is
// register RegLVTTimer + 16*i. TSC-deadline mode is not offered, so the
// timer keeps only the periodic bit of its mode field.
var lvtMask = [6]uint32{
	LVTMasked | lvtVector | TimerPeriodic,                        // timer
	LVTMasked | lvtVector | lvtDelivery,                          // thermal
	LVTMasked | lvtVector | lvtDelivery,                          // performance counters
	LVTMasked | lvtVector | lvtDelivery | lvtPolarity | lvtLevel, // LINT0
	LVTMasked | lvtVector | lvtDelivery | lvtPolarity | lvtLevel, // LINT1
	LVTMasked | lvtVector,                                        // error
}

// Delivery modes (ICR and LVT bits 8-10).
const (
	ModeFixed   = 0
	ModeLowest  = 1
	ModeSMI     = 2
	ModeNMI     = 4
	ModeINIT    = 5
	ModeStartup = 6
	ModeExtINT  = 7
)

// Destination shorthands (ICR bits 18-19).
const (
	ShortNone       = 0
	ShortSelf       = 1
	ShortAll        = 2
	ShortAllButSelf = 3
)

// ICR low bits.
const (
	icrDestLogical = 1 << 11
	icrAssert      = 1 << 14
	icrLevel       = 1 << 15
	icrWritable    = 0xff | 7<<8 | icrDestLogical | icrAssert | icrLevel | 3<<18
)

// BusHz is the APIC timer's input clock: one count per nanosecond before
// the divider, as Xen's APIC_BUS_CYCLE_NS = 1.
const BusHz = 1_000_000_000

// IPI is an interprocessor interrupt a write to the ICR sends, for the host
// to route (Targets) and deliver: Fixed and Lowest set IRR bits through
// Accept; NMI, INIT and Startup act on the target vCPU.
type IPI struct {
	Vector    uint8
	Mode      uint8 // Mode*
	Logical   bool  // destination mode
	Level     bool  // trigger mode (INIT level de-assert is already dropped)
	Shorthand uint8 // Short*
	Dest      uint8 // ICR high bits 24-31
}

// EOIHook is told when an EOI retires a level-triggered vector (its TMR
// bit was set), so the IO-APIC can clear the line's remote IRR (Xen's
// vlapic_EOI_set → vioapic_update_EOI).
type EOIHook func(vector uint8)

// LAPIC is one local APIC. The zero value is not usable: call Reset.
type LAPIC struct {
	id       uint32 // ID register (bits 24-31)
	tpr      uint32
	ldr, dfr uint32
	svr      uint32
	icrLow   uint32
	icrHigh  uint32
	lvt      [6]uint32
	irr      [8]uint32
	isr      [8]uint32
	tmr      [8]uint32
	// esr is what ESR reads (latched by the last write); esrPending
	// collects errors since (Xen's pending_esr).
	esr, esrPending uint32

	// Timer: initial count, divide configuration, the time the count
	// (re)started, and for a one-shot count whether it already fired.
	timerInit  uint32
	timerDCR   uint32
	timerStart int64
	timerDone  bool

	// OnEOI, if set, is called for EOIs of level-triggered vectors.
	OnEOI EOIHook
}

// New returns a local APIC in its power-on state with APIC ID id.
func New(id uint8) *LAPIC {
	l := &LAPIC{}
	l.Reset(id)
	return l
}

// Reset puts the APIC in its power-up state (SDM 11.4.7.1): IRR, ISR, TMR,
// ICR, LDR, TPR and the timer zero, DFR all ones, every LVT masked, SVR
// 0xFF (software disabled). INIT leaves the same state except the ID (the
// caller passes it again). OnEOI is kept.
func (l *LAPIC) Reset(id uint8) {
	hook := l.OnEOI
	*l = LAPIC{OnEOI: hook}
	l.id = uint32(id) << 24
	l.dfr = 0xffffffff
	l.svr = 0xff
	for i := range l.lvt {
		l.lvt[i] = LVTMasked
	}
}

// ID is the APIC ID (the ID register's bits 24-31).
func (l *LAPIC) ID() uint8 { return uint8(l.id >> 24) }

// Enabled reports whether the APIC is software-enabled (SVR bit 8).
func (l *LAPIC) Enabled() bool { return l.svr&svrEnable != 0 }

// Valid reports whether off is a register: 16-byte aligned, in the
// architectural map, and not reserved.
func Valid(off uint32) bool {
	if off%16 != 0 || off >= 0x400 {
		return false
	}
	switch {
	case off == RegID, off == RegVersion, off >= RegTPR && off <= RegESR,
		off >= RegICRLow && off <= RegTimerCCR, off == RegTimerDCR:
		return true
	}
	return false
}

// Read returns the register at byte offset off in the APIC page at time
// now. Reserved or unaligned offsets read 0, and a reserved register
// records an illegal register address error (SDM 11.5.3); write-only EOI
// reads 0.
func (l *LAPIC) Read(off uint32, now int64) uint32 {
	if !Valid(off) {
		l.illegalRegister(off)
		return 0
	}
	switch {
	case off == RegID:
		return l.id
	case off == RegVersion:
		return VersionValue
	case off == RegTPR:
		return l.tpr
	case off == RegAPR:
		return 0 // arbitration priority: no bus arbitration (Xen reads 0 too)
	case off == RegPPR:
		return l.ppr()
	case off == RegEOI, off == RegRRD:
		return 0
	case off == RegLDR:
		return l.ldr
	case off == RegDFR:
		return l.dfr
	case off == RegSVR:
		return l.svr
	case off >= RegISR && off < RegTMR:
		return l.isr[(off-RegISR)/16]
	case off >= RegTMR && off < RegIRR:
		return l.tmr[(off-RegTMR)/16]
	case off >= RegIRR && off < RegESR:
		return l.irr[(off-RegIRR)/16]
	case off == RegESR:
		return l.esr
	case off == RegICRLow:
		return l.icrLow // delivery status (bit 12) reads idle: IPIs are sent at once
	case off == RegICRHigh:
		return l.icrHigh
	case off >= RegLVTTimer && off <= RegLVTError:
		return l.lvt[(off-RegLVTTimer)/16]
	case off == RegTimerICR:
		return l.timerInit
	case off == RegTimerCCR:
		return l.currentCount(now)
	case off == RegTimerDCR:
		return l.timerDCR
	}
	return 0
}

// Write stores val to the register at off at time now. Read-only
// registers ignore it; reserved or unaligned offsets record an illegal
// register address error. A write to the low ICR returns the IPI it sends
// (ok false when nothing is to be sent: an illegal vector, which sets the
// send illegal vector error, or an INIT level de-assert).
func (l *LAPIC) Write(off, val uint32, now int64) (ipi IPI, ok bool) {
	if !Valid(off) {
		l.illegalRegister(off)
		return IPI{}, false
	}
	switch {
	case off == RegID:
		l.id = val & 0xff000000 // read/write on xAPIC (SDM table 11-1)
	case off == RegTPR:
		l.tpr = val & 0xff
	case off == RegEOI:
		l.eoi()
	case off == RegLDR:
		l.ldr = val & 0xff000000
	case off == RegDFR:
		l.dfr = val&0xf0000000 | 0x0fffffff
	case off == RegSVR:
		l.svr = val & 0x3ff // vector, software enable, focus check disable
		if !l.Enabled() {
			// Software disable masks every LVT entry (SDM 11.4.7.2).
			for i := range l.lvt {
				l.lvt[i] |= LVTMasked
			}
		}
	case off == RegESR:
		// Write-before-read: a write latches the errors since the last
		// write into what ESR reads, and starts collecting anew (SDM
		// 11.5.3; Xen's vlapic_reg_write APIC_ESR).
		l.esr, l.esrPending = l.esrPending, 0
	case off == RegICRLow:
		l.icrLow = val & icrWritable
		return l.send()
	case off == RegICRHigh:
		l.icrHigh = val & 0xff000000
	case off >= RegLVTTimer && off <= RegLVTError:
		i := (off - RegLVTTimer) / 16
		v := val & lvtMask[i]
		if !l.Enabled() {
			v |= LVTMasked // cannot unmask while software disabled
		}
		if i == 0 && (v^l.lvt[0])&TimerPeriodic != 0 {
			l.timerStart, l.timerDone = now, false // a mode change restarts the count
		}
		l.lvt[i] = v
	case off == RegTimerICR:
		l.timerInit = val
		l.timerStart, l.timerDone = now, false
	case off == RegTimerDCR:
		// Keep the count already elapsed at the old rate: restart from
		// the current count (Xen's vlapic_update_timer does the same).
		cur := l.currentCount(now)
		l.timerDCR = val & 0xb
		if l.timerInit != 0 && !l.timerDone {
			l.timerStart = now - int64(l.timerInit-cur)*l.divide()
		}
	}
	// Version, APR, PPR, RRD, ISR, TMR, IRR, the current count: read-only.
	return IPI{}, false
}

// illegalRegister records an access to a reserved register. Unaligned
// offsets inside a register are the caller's business (hv reads and writes
// whole registers), so they do not count.
func (l *LAPIC) illegalRegister(off uint32) {
	if off%16 == 0 {
		l.Error(ESRIllegalRegAddr)
	}
}

// Error records error bits in the ESR and, for a bit not already pending,
// raises the LVT error interrupt if it is unmasked (Xen's vlapic_error).
func (l *LAPIC) Error(bits uint32) {
	if l.esrPending&bits == bits {
		return
	}
	l.esrPending |= bits
	if lvt := l.lvt[5]; lvt&LVTMasked == 0 {
		l.Accept(uint8(lvt), false) // a vector below 16 sets RecvIllegal, once
	}
}

// send decodes the ICR into the IPI to deliver.
func (l *LAPIC) send() (IPI, bool) {
	icr := l.icrLow
	ipi := IPI{
		Vector:    uint8(icr),
		Mode:      uint8(icr>>8) & 7,
		Logical:   icr&icrDestLogical != 0,
		Level:     icr&icrLevel != 0,
		Shorthand: uint8(icr>>18) & 3,
		Dest:      uint8(l.icrHigh >> 24),
	}
	switch ipi.Mode {
	case ModeFixed, ModeLowest:
		if ipi.Vector < 16 {
			l.Error(ESRSendIllegal)
			return IPI{}, false
		}
	case ModeINIT:
		// INIT level de-assert (level, not assert) does nothing on an
		// integrated APIC (Xen: "No work on INIT de-assert for P4-type
		// APIC").
		if icr&(icrLevel|icrAssert) == icrLevel {
			return IPI{}, false
		}
	case ModeSMI, ModeExtINT, 3:
		return IPI{}, false // not supported (3 is reserved)
	}
	return ipi, true
}

// Accept takes a fixed or lowest-priority interrupt: vector's IRR bit is
// set and its TMR bit records the trigger mode. A vector below 16 is
// refused with the receive illegal vector error; a software-disabled APIC
// drops it (Xen's vlapic_accept_irq). It reports whether the vector is now
// in the IRR.
func (l *LAPIC) Accept(vector uint8, level bool) bool {
	if vector < 16 {
		l.Error(ESRRecvIllegal)
		return false
	}
	if !l.Enabled() {
		return false
	}
	setBit(&l.irr, vector)
	if level {
		setBit(&l.tmr, vector)
	} else {
		clearBit(&l.tmr, vector)
	}
	return true
}

// Pending returns the highest-priority vector in the IRR that the PPR lets
// through (its priority class above the PPR's), the one the APIC would
// present to the CPU now.
func (l *LAPIC) Pending() (uint8, bool) {
	r := &l.irr
	if r[0]|r[1]|r[2]|r[3]|r[4]|r[5]|r[6]|r[7] == 0 {
		return 0, false // nothing requested: the case of almost every exit
	}
	v, ok := highest(r)
	if !ok || v&0xf0 <= uint8(l.ppr())&0xf0 {
		return 0, false
	}
	return v, true
}

// Ack is the CPU taking vector (the host injected what Pending returned):
// it moves from the IRR to the ISR (SDM 11.8.4).
func (l *LAPIC) Ack(vector uint8) {
	clearBit(&l.irr, vector)
	setBit(&l.isr, vector)
}

// eoi retires the highest-priority in-service vector and tells OnEOI when
// it was level-triggered.
func (l *LAPIC) eoi() {
	v, ok := highest(&l.isr)
	if !ok {
		return
	}
	clearBit(&l.isr, v)
	if testBit(&l.tmr, v) && l.OnEOI != nil {
		l.OnEOI(v)
	}
}

// ppr is the processor priority (SDM 11.8.3.1): the TPR if its class is
// at least that of the highest in-service vector, else that vector's class.
func (l *LAPIC) ppr() uint32 {
	isrv, _ := highest(&l.isr)
	if l.tpr&0xf0 >= uint32(isrv)&0xf0 {
		return l.tpr & 0xff
	}
	return uint32(isrv) & 0xf0
}

// Match reports whether an IPI's destination names this APIC (SDM 11.6.2;
// Xen's vlapic_match_dest without shorthands): physical ID or broadcast
// 0xFF; logical flat (bitmap in LDR bits 24-31) or cluster (cluster in the
// high nibble, a bitmap of four in the low) as DFR says.
func (l *LAPIC) Match(dest uint8, logical bool) bool {
	if !logical {
		return dest == 0xff || dest == l.ID()
	}
	ldr := uint8(l.ldr >> 24)
	if l.dfr>>28 == 0xf { // flat model
		return dest&ldr != 0
	}
	if l.dfr>>28 == 0 { // cluster model
		if dest == 0xff {
			return true
		}
		return dest>>4 == ldr>>4 && dest&ldr&0xf != 0
	}
	return false
}

// Targets returns the indexes in apics of the APICs that ipi, sent by
// apics[src], reaches. A lowest-priority IPI reaches one of them: the
// lowest processor priority, the lowest index on a tie (Xen's
// vlapic_lowest_prio arbitrates similarly). The result is appended to buf.
func Targets(ipi IPI, src int, apics []*LAPIC, buf []int) []int {
	out := buf[:0]
	for i, a := range apics {
		var hit bool
		switch ipi.Shorthand {
		case ShortNone:
			hit = a.Match(ipi.Dest, ipi.Logical)
		case ShortSelf:
			hit = i == src
		case ShortAll:
			hit = true
		case ShortAllButSelf:
			hit = i != src
		}
		if hit {
			out = append(out, i)
		}
	}
	if ipi.Mode == ModeLowest && len(out) > 1 {
		best := out[0]
		for _, i := range out[1:] {
			if apics[i].ppr() < apics[best].ppr() {
				best = i
			}
		}
		out = append(out[:0], best)
	}
	return out
}

// divide is the timer's divisor from the divide configuration register
// (SDM figure 11-10: bits 0, 1 and 3 give 2, 4, ..., 128, and 0b111 gives 1).
func (l *LAPIC) divide() int64 {
	n := (l.timerDCR&3 | l.timerDCR>>1&4)
	return int64(1) << ((n + 1) & 7)
}

// period is the length in ns of one full count.
func (l *LAPIC) period() int64 { return int64(l.timerInit) * l.divide() * 1e9 / BusHz }

// currentCount is the timer's current count at now: counting down from the
// initial count, reloading in periodic mode, stopped at 0 in one-shot mode.
func (l *LAPIC) currentCount(now int64) uint32 {
	if l.timerInit == 0 {
		return 0
	}
	elapsed := (now - l.timerStart) * BusHz / 1e9 / l.divide()
	if elapsed < 0 {
		elapsed = 0
	}
	if l.lvt[0]&TimerPeriodic != 0 {
		return l.timerInit - uint32(elapsed%int64(l.timerInit))
	}
	if l.timerDone || elapsed >= int64(l.timerInit) {
		return 0
	}
	return l.timerInit - uint32(elapsed)
}

// TimerDeadline is when the timer next expires (ns), if it is counting.
func (l *LAPIC) TimerDeadline() (int64, bool) {
	if l.timerInit == 0 || (l.timerDone && l.lvt[0]&TimerPeriodic == 0) {
		return 0, false
	}
	return l.timerStart + l.period(), true
}

// TimerExpire fires the timer if it is due at now: the LVT timer vector is
// accepted unless masked (the count runs either way), a periodic count
// reloads from now's period boundary (expirations missed while the vCPU
// did not run are coalesced into one, as Xen's default timer mode does),
// and a one-shot count stops. It reports whether an interrupt was
// accepted.
func (l *LAPIC) TimerExpire(now int64) bool {
	dl, ok := l.TimerDeadline()
	if !ok || now < dl {
		return false
	}
	if l.lvt[0]&TimerPeriodic != 0 {
		p := l.period()
		l.timerStart += (now - l.timerStart) / p * p
	} else {
		l.timerDone = true
	}
	if l.lvt[0]&LVTMasked != 0 {
		return false
	}
	return l.Accept(uint8(l.lvt[0]), false)
}

func setBit(r *[8]uint32, v uint8)       { r[v/32] |= 1 << (v % 32) }
func clearBit(r *[8]uint32, v uint8)     { r[v/32] &^= 1 << (v % 32) }
func testBit(r *[8]uint32, v uint8) bool { return r[v/32]&(1<<(v%32)) != 0 }

// highest returns the highest set bit of a 256-bit register.
func highest(r *[8]uint32) (uint8, bool) {
	for i := 7; i >= 0; i-- {
		if w := r[i]; w != 0 {
			return uint8(i*32 + bits.Len32(w) - 1), true
		}
	}
	return 0, false
}

// InService reports whether vector is in the ISR, and InRequest whether
// it is in the IRR (for tests and debugging).
func (l *LAPIC) InService(vector uint8) bool { return testBit(&l.isr, vector) }

// InRequest reports whether vector is in the IRR.
func (l *LAPIC) InRequest(vector uint8) bool { return testBit(&l.irr, vector) }

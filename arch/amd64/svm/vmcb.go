package svm

// This file describes the virtual machine control block (VMCB) of AMD SVM:
// AMD64 Architecture Programmer's Manual (APM) vol. 2, appendix B, "Layout
// of VMCB", and chapter 15, "Secure Virtual Machine". Section numbers follow
// APM vol. 2 revisions 3.4x; section titles are quoted so that they can be
// found in other revisions.

// VMCBSize is the size of a VMCB: one 4 KiB page, 4 KiB aligned (APM vol. 2
// §15.5.1 "Basic Operation").
const VMCBSize = 4096

// Segment is a segment register as the VMCB state save area holds it (APM
// vol. 2 appendix B, Table B-2 "VMCB Layout, State Save Area"): the selector,
// the attributes packed into 12 bits (see AttribFromDescriptor), the expanded
// 32-bit limit, and the base. GDTR and IDTR use only Limit and Base.
type Segment struct {
	Selector uint16
	Attrib   uint16
	Limit    uint32
	Base     uint64
}

// VMCB is the virtual machine control block. Its fields sit at the offsets
// of APM vol. 2 appendix B, so a *VMCB can be overlaid on the 4 KiB physical
// page whose address VMRUN takes in RAX. Offsets are given in the comments;
// vmcb_test.go checks every one. Blank fields are reserved or hold state this
// package does not name; software keeps reserved fields zero (SBZ).
//
// The control area (Table B-1 "VMCB Layout, Control Area") is at 0x000-0x3FF
// and the state save area (Table B-2) at 0x400-0xFFF.
type VMCB struct {
	// Control area, Table B-1.

	// InterceptCR: bits 0-15 intercept reads of CR0-CR15, bits 16-31
	// writes of CR0-CR15 (see CRReadIntercept, CRWriteIntercept).
	InterceptCR uint32 // 0x000
	// InterceptDR: bits 0-15 reads of DR0-DR15, bits 16-31 writes.
	InterceptDR uint32 // 0x004
	// InterceptExceptions: bit n intercepts exception vector n (APM vol. 2
	// §15.12 "Exception Intercepts").
	InterceptExceptions uint32 // 0x008
	// InterceptMisc1 is intercept vector 3: bits 1<<Misc1*.
	InterceptMisc1 uint32 // 0x00C
	// InterceptMisc2 is intercept vector 4: bits 1<<Misc2*. The
	// Misc2VMRUN bit must be set or VMRUN fails with ExitInvalid.
	InterceptMisc2 uint32 // 0x010
	// InterceptMisc3 is intercept vector 5 (INVLPGB, INVPCID, MCOMMIT,
	// TLBSYNC, bus lock, ...).
	InterceptMisc3 uint32 // 0x014
	_              [0x03C - 0x018]byte
	// PauseFilterThreshold and PauseFilterCount control PAUSE
	// interception (APM vol. 2 §15.14.4 "Pause Intercept Filtering").
	PauseFilterThreshold uint16 // 0x03C
	PauseFilterCount     uint16 // 0x03E
	// IOPMBasePA and MSRPMBasePA are the physical addresses of the I/O and
	// MSR permission maps (IOPM, MSRPM in bitmap.go); the low 12 bits are
	// ignored.
	IOPMBasePA  uint64 // 0x040
	MSRPMBasePA uint64 // 0x048
	// TSCOffset is added to the TSC the guest reads.
	TSCOffset uint64 // 0x050
	// ASID is the guest's address space identifier; 0 is the host's and
	// makes VMRUN fail (see ASIDs in asid.go).
	ASID uint32 // 0x058
	// TLBControl takes a TLB* value (APM vol. 2 §15.16 "TLB
	// Control").
	TLBControl uint8 // 0x05C
	_          [3]byte
	// VIntr holds the virtual interrupt controls: the VIntr* bits.
	VIntr uint64 // 0x060
	// InterruptShadow: bit 0 the guest is in an interrupt shadow
	// (InterruptShadowActive), bit 1 the guest's RFLAGS.IF on exit when
	// virtual interrupt masking is on (InterruptShadowGuestIF).
	InterruptShadow uint64 // 0x068
	// ExitCode is the Exit* code of the last #VMEXIT (exits.go).
	ExitCode  uint64 // 0x070
	ExitInfo1 uint64 // 0x078
	ExitInfo2 uint64 // 0x080
	// ExitIntInfo describes an event whose delivery the #VMEXIT
	// interrupted, in the EventInj format (DecodeEvent).
	ExitIntInfo uint64 // 0x088
	// NPControl: bit 0 NPEnable turns nested paging on; bits 1-2 are the
	// SEV/SEV-ES enables.
	NPControl uint64 // 0x090
	_         [0x0A8 - 0x098]byte
	// EventInj is the event injected on the next VMRUN (EventInjection;
	// APM vol. 2 §15.20 "Event Injection").
	EventInj uint64 // 0x0A8
	// NCR3 is the nested page table root (host physical address).
	NCR3 uint64 // 0x0B0
	// VirtExt: bit 0 LBR virtualization, bit 1 virtualized VMSAVE/VMLOAD.
	VirtExt uint64 // 0x0B8
	// CleanBits tells the CPU which VMCB areas are unchanged since the
	// last VMRUN of this VMCB on this CPU (Clean* bits; APM vol. 2
	// §15.15.3 "VMCB Clean Field").
	CleanBits uint32 // 0x0C0
	_         [4]byte
	// NextRIP is the RIP after the intercepted instruction (NRIP save).
	NextRIP uint64 // 0x0C8
	// InsnLen and InsnBytes are the instruction bytes fetched for a #NPF
	// or #PF exit (decode assists).
	InsnLen   uint8     // 0x0D0
	InsnBytes [15]uint8 // 0x0D1
	_         [0x400 - 0x0E0]byte

	// State save area, Table B-2.

	ES   Segment // 0x400
	CS   Segment // 0x410
	SS   Segment // 0x420
	DS   Segment // 0x430
	FS   Segment // 0x440
	GS   Segment // 0x450
	GDTR Segment // 0x460
	LDTR Segment // 0x470
	IDTR Segment // 0x480
	TR   Segment // 0x490
	_    [0x4CB - 0x4A0]byte
	// CPL is the guest's current privilege level. The CPU takes it from
	// here, not from CS.
	CPL uint8 // 0x4CB
	_   [0x4D0 - 0x4CC]byte
	// EFER must have EFER.SVME set or VMRUN fails.
	EFER   uint64 // 0x4D0
	_      [0x548 - 0x4D8]byte
	CR4    uint64 // 0x548
	CR3    uint64 // 0x550
	CR0    uint64 // 0x558
	DR7    uint64 // 0x560
	DR6    uint64 // 0x568
	RFLAGS uint64 // 0x570
	RIP    uint64 // 0x578
	_      [0x5D8 - 0x580]byte
	RSP    uint64 // 0x5D8
	_      [0x5F8 - 0x5E0]byte
	// RAX is the only general-purpose register VMRUN and #VMEXIT swap;
	// the world switch saves and restores the others.
	RAX uint64 // 0x5F8
	// STAR through SysenterEIP, with FS, GS, TR and LDTR, are the state
	// VMLOAD and VMSAVE move, not VMRUN.
	STAR         uint64 // 0x600
	LSTAR        uint64 // 0x608
	CSTAR        uint64 // 0x610
	SFMASK       uint64 // 0x618
	KernelGSBase uint64 // 0x620
	SysenterCS   uint64 // 0x628
	SysenterESP  uint64 // 0x630
	SysenterEIP  uint64 // 0x638
	CR2          uint64 // 0x640
	_            [0x668 - 0x648]byte
	// GPAT is the guest PAT, used by nested paging.
	GPAT     uint64 // 0x668
	DebugCtl uint64 // 0x670
	_        [VMCBSize - 0x678]byte
}

// Reset zeroes the whole VMCB, reserved fields included.
func (v *VMCB) Reset() {
	if v != nil {
		*v = VMCB{}
	}
}

// CRReadIntercept returns the InterceptCR bit that intercepts reads of
// control register cr, or 0 if cr is not in 0-15.
func CRReadIntercept(cr int) uint32 {
	if cr < 0 || cr > 15 {
		return 0
	}
	return 1 << uint(cr)
}

// CRWriteIntercept returns the InterceptCR bit that intercepts writes of
// control register cr, or 0 if cr is not in 0-15.
func CRWriteIntercept(cr int) uint32 {
	if cr < 0 || cr > 15 {
		return 0
	}
	return 1 << uint(16+cr)
}

// Bit numbers in intercept vector 3, the InterceptMisc1 word at 0x00C (Table
// B-1; APM vol. 2 §15.9 "Instruction Intercepts", §15.13 "Interrupt
// Intercepts"). Set 1<<Misc1X in VMCB.InterceptMisc1 to intercept X.
const (
	Misc1INTR        = 0  // physical INTR
	Misc1NMI         = 1  // physical NMI
	Misc1SMI         = 2  // physical SMI
	Misc1INIT        = 3  // physical INIT
	Misc1VINTR       = 4  // virtual interrupt taken
	Misc1CR0SelWrite = 5  // CR0 writes changing bits other than TS or MP
	Misc1IDTRRead    = 6  // SIDT
	Misc1GDTRRead    = 7  // SGDT
	Misc1LDTRRead    = 8  // SLDT
	Misc1TRRead      = 9  // STR
	Misc1IDTRWrite   = 10 // LIDT
	Misc1GDTRWrite   = 11 // LGDT
	Misc1LDTRWrite   = 12 // LLDT
	Misc1TRWrite     = 13 // LTR
	Misc1RDTSC       = 14
	Misc1RDPMC       = 15
	Misc1PUSHF       = 16
	Misc1POPF        = 17
	Misc1CPUID       = 18
	Misc1RSM         = 19
	Misc1IRET        = 20
	Misc1INTn        = 21 // software interrupt INTn
	Misc1INVD        = 22
	Misc1PAUSE       = 23
	Misc1HLT         = 24
	Misc1INVLPG      = 25
	Misc1INVLPGA     = 26
	Misc1IOIOProt    = 27 // IN/OUT/INS/OUTS, filtered by the IOPM
	Misc1MSRProt     = 28 // RDMSR/WRMSR, filtered by the MSRPM
	Misc1TaskSwitch  = 29
	Misc1FERRFreeze  = 30 // FERR_FREEZE: freeze on x87 error
	Misc1Shutdown    = 31 // shutdown events (triple fault)
)

// Bit numbers in intercept vector 4, the InterceptMisc2 word at 0x010 (Table
// B-1). Set 1<<Misc2X in VMCB.InterceptMisc2 to intercept X.
const (
	Misc2VMRUN     = 0 // required: VMRUN fails without it
	Misc2VMMCALL   = 1
	Misc2VMLOAD    = 2
	Misc2VMSAVE    = 3
	Misc2STGI      = 4
	Misc2CLGI      = 5
	Misc2SKINIT    = 6
	Misc2RDTSCP    = 7
	Misc2ICEBP     = 8
	Misc2WBINVD    = 9 // WBINVD and WBNOINVD
	Misc2MONITOR   = 10
	Misc2MWAIT     = 11 // MWAIT, unconditionally
	Misc2MWAITCond = 12 // MWAIT, only if the monitor hardware is armed
	Misc2XSETBV    = 13
	Misc2RDPRU     = 14
)

// TLB_CONTROL values for VMCB.TLBControl (Table B-1; APM vol. 2 §15.16 "TLB
// Control"). The ASID-selective values need CPUID Fn8000_000A EDX
// FlushByAsid; TLBFlushAll works on every SVM CPU.
const (
	TLBNoFlush            uint8 = 0 // do nothing
	TLBFlushAll           uint8 = 1 // flush every ASID's entries, the host's included
	TLBFlushASID          uint8 = 3 // flush this guest's ASID
	TLBFlushASIDNonGlobal uint8 = 7 // flush this ASID's non-global entries
)

// Bits of VMCB.VIntr, the virtual interrupt control word at 0x060 (Table B-1;
// APM vol. 2 §15.21 "Interrupt and Local APIC Support").
const (
	VIntrTPRMask     = 0xFF      // V_TPR: the guest's virtual TPR, bits 0-7
	VIntrIRQ         = 1 << 8    // V_IRQ: a virtual interrupt is pending
	VIntrGIF         = 1 << 9    // VGIF: the guest's virtual GIF
	VIntrNMI         = 1 << 11   // V_NMI: a virtual NMI is pending
	VIntrNMIMask     = 1 << 12   // V_NMI_MASK: virtual NMIs are blocked
	VIntrPrioShift   = 16        // V_INTR_PRIO: bits 16-19
	VIntrPrioMask    = 0xF << 16 //
	VIntrIgnTPR      = 1 << 20   // V_IGN_TPR: ignore V_TPR for the pending V_IRQ
	VIntrMasking     = 1 << 24   // V_INTR_MASKING: virtualize EFLAGS.IF and TPR
	VIntrGIFEnable   = 1 << 25   // enable VGIF
	VIntrNMIEnable   = 1 << 26   // V_NMI_ENABLE
	VIntrVectorShift = 32        // V_INTR_VECTOR: bits 32-39
	VIntrVectorMask  = 0xFF << 32
)

// VIntrPending returns the VIntr bits that post virtual interrupt vector at
// priority prio (0-15, higher wins; only the low 4 bits are used), with
// V_IGN_TPR set if ignoreTPR. Or the result into VMCB.VIntr after clearing
// the V_IRQ, priority, V_IGN_TPR and vector fields.
func VIntrPending(vector uint8, prio uint8, ignoreTPR bool) uint64 {
	v := uint64(VIntrIRQ) | uint64(prio&0xF)<<VIntrPrioShift |
		uint64(vector)<<VIntrVectorShift
	if ignoreTPR {
		v |= VIntrIgnTPR
	}
	return v
}

// Bits of VMCB.InterruptShadow at 0x068 (Table B-1).
const (
	InterruptShadowActive  = 1 << 0 // INTERRUPT_SHADOW: after STI or MOV SS
	InterruptShadowGuestIF = 1 << 1 // GUEST_INTERRUPT_MASK: the guest's RFLAGS.IF
)

// Bits of VMCB.NPControl at 0x090 (Table B-1).
const (
	NPEnable    = 1 << 0 // NP_ENABLE: nested paging (APM vol. 2 §15.25 "Nested Paging")
	NPSEVEnable = 1 << 1 // SEV guest
	NPSEVES     = 1 << 2 // SEV-ES guest
)

// Bits of VMCB.VirtExt at 0x0B8 (Table B-1).
const (
	VirtExtLBR      = 1 << 0 // LBR virtualization
	VirtExtVMSAVELD = 1 << 1 // virtualized VMSAVE/VMLOAD
)

// Bits of VMCB.CleanBits (APM vol. 2 §15.15.3 "VMCB Clean Field").
// A set bit says the named fields have not changed since this VMCB last ran
// on this CPU, so the CPU may use its cached copy. The field is ignored, and
// everything reloaded, when the VMCB runs for the first time, moves to
// another CPU, or another VMCB ran in between. Clear a bit whenever a field
// of its group is written.
const (
	CleanIntercepts = 1 << 0  // intercept vectors, TSCOffset, pause filter
	CleanIOPM       = 1 << 1  // IOPMBasePA, MSRPMBasePA
	CleanASID       = 1 << 2  // ASID
	CleanTPR        = 1 << 3  // VIntr
	CleanNP         = 1 << 4  // NPControl, NCR3, GPAT
	CleanCRx        = 1 << 5  // CR0, CR3, CR4, EFER
	CleanDRx        = 1 << 6  // DR6, DR7
	CleanDT         = 1 << 7  // GDTR, IDTR
	CleanSeg        = 1 << 8  // CS, DS, SS, ES, CPL
	CleanCR2        = 1 << 9  // CR2
	CleanLBR        = 1 << 10 // DebugCtl and the last-branch records
	CleanAVIC       = 1 << 11 // AVIC pointers
	CleanCET        = 1 << 12 // S_CET, SSP, ISST_ADDR
	CleanAll        = 1<<13 - 1
)

// Event types of the EVENTINJ and EXITINTINFO TYPE field, bits 8-10 (APM
// vol. 2 §15.20 "Event Injection").
const (
	EventExtIntr   uint8 = 0 // external or virtual interrupt (INTR)
	EventNMI       uint8 = 2 // NMI
	EventException uint8 = 3 // exception (fault or trap)
	EventSoftInt   uint8 = 4 // software interrupt (INTn)
)

// Bits of the EVENTINJ and EXITINTINFO format.
const (
	EventVectorMask = 0xFF    // VECTOR, bits 0-7
	EventTypeShift  = 8       // TYPE, bits 8-10
	EventTypeMask   = 7 << 8  //
	EventErrValid   = 1 << 11 // EV: ERRORCODE is valid
	EventValid      = 1 << 31 // V: an event is present
	EventErrShift   = 32      // ERRORCODE, bits 32-63
)

// EventInjection encodes an event for VMCB.EventInj (APM vol. 2 §15.20
// "Event Injection"): vector, type typ (an Event* type constant; only its low 3
// bits are used), and, if hasErr, an error code pushed on the guest stack.
// The result has the V bit (31) set; EV (bit 11) is set and errorCode placed
// in bits 32-63 only if hasErr.
//
// VMRUN rejects some malformed events with ExitInvalid, such as a reserved
// type or an exception with vector 2 (NMI has a type of its own). It does not
// check that hasErr suits the vector: the caller must, the way the CPU would
// for a real exception (#DF, #TS, #NP, #SS, #GP, #PF, #AC, #CP push one).
func EventInjection(vector uint8, typ uint8, errorCode uint32, hasErr bool) uint64 {
	v := uint64(vector) | uint64(typ&7)<<EventTypeShift | EventValid
	if hasErr {
		v |= EventErrValid | uint64(errorCode)<<EventErrShift
	}
	return v
}

// Event is a decoded EVENTINJ or EXITINTINFO value.
type Event struct {
	Vector    uint8
	Type      uint8 // EventExtIntr, EventNMI, EventException or EventSoftInt
	ErrorCode uint32
	HasErr    bool // EV: ErrorCode is meaningful
	Valid     bool // V: the value holds an event
}

// DecodeEvent decodes the EVENTINJ format, as found in VMCB.ExitIntInfo
// after a #VMEXIT that interrupted the delivery of an event (APM vol. 2
// §15.7.2 "Intercepts During IDT Interrupt Delivery"). Such an event must be
// re-injected before the next VMRUN.
func DecodeEvent(v uint64) Event {
	e := Event{
		Vector: uint8(v),
		Type:   uint8(v>>EventTypeShift) & 7,
		HasErr: v&EventErrValid != 0,
		Valid:  v&EventValid != 0,
	}
	if e.HasErr {
		e.ErrorCode = uint32(v >> EventErrShift)
	}
	return e
}

// Segment attribute values for Segment.Attrib (see AttribFromDescriptor).
const (
	AttribCode32    = 0xC9B // flat 32-bit code: G, D, P, DPL0, S, execute/read, accessed
	AttribData      = 0xC93 // flat 32-bit data: G, B, P, DPL0, S, read/write, accessed
	AttribCode64    = 0xA9B // 64-bit code: G, L, P, DPL0, S, execute/read, accessed
	AttribBusyTSS32 = 0x08B // busy TSS (32-bit, or 64-bit in long mode): P, DPL0, type 11
	AttribLDT       = 0x082 // LDT: P, DPL0, type 2
)

// AttribFromDescriptor packs the attribute bits of segment descriptor d into
// the 12-bit VMCB form (APM vol. 2 appendix B, Table B-2, note on segment
// attributes): VMCB bits 0-7 are descriptor bits 40-47 (type, S, DPL, P), that
// is bits 8-15 of its high doubleword, and VMCB bits 8-11 are descriptor bits
// 52-55 (AVL, L, D/B, G), bits 20-23 of its high doubleword.
func AttribFromDescriptor(d uint64) uint16 {
	return uint16(d>>40)&0xFF | uint16(d>>52)&0xF<<8
}

// SegmentFromDescriptor returns the VMCB form of segment descriptor d loaded
// with selector sel: its base, its limit expanded by the granularity bit, and
// its packed attributes. For a 16-byte system descriptor in long mode (TSS,
// LDT) pass the low 8 bytes and add the high half of the base yourself.
func SegmentFromDescriptor(sel uint16, d uint64) Segment {
	limit := uint32(d&0xFFFF) | uint32(d>>48)&0xF<<16
	if d&(1<<55) != 0 { // G: limit in 4 KiB units
		limit = limit<<12 | 0xFFF
	}
	return Segment{
		Selector: sel,
		Attrib:   AttribFromDescriptor(d),
		Limit:    limit,
		Base:     d>>16&0xFFFFFF | d>>56<<24,
	}
}

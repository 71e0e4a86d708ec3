package svm

import (
	"testing"
	"unsafe"
)

// TestVMCBLayout checks the VMCB against AMD APM vol. 2 appendix B: every
// named field at its offset, written as the literal number of the table.
func TestVMCBLayout(t *testing.T) {
	var v VMCB
	if got := unsafe.Sizeof(v); got != 4096 {
		t.Fatalf("sizeof(VMCB) = %#x, want 0x1000", got)
	}
	if VMCBSize != 4096 {
		t.Errorf("VMCBSize = %d", VMCBSize)
	}
	if got := unsafe.Alignof(v); got != 8 {
		t.Errorf("alignof(VMCB) = %d, want 8", got)
	}
	if got := unsafe.Sizeof(Segment{}); got != 16 {
		t.Errorf("sizeof(Segment) = %d, want 16", got)
	}
	for _, f := range []struct {
		name   string
		got    uintptr
		want   uintptr
		size   uintptr
		gotLen uintptr
	}{
		// Table B-1 "VMCB Layout, Control Area".
		{"InterceptCR", unsafe.Offsetof(v.InterceptCR), 0x000, 4, unsafe.Sizeof(v.InterceptCR)},
		{"InterceptDR", unsafe.Offsetof(v.InterceptDR), 0x004, 4, unsafe.Sizeof(v.InterceptDR)},
		{"InterceptExceptions", unsafe.Offsetof(v.InterceptExceptions), 0x008, 4, unsafe.Sizeof(v.InterceptExceptions)},
		{"InterceptMisc1", unsafe.Offsetof(v.InterceptMisc1), 0x00C, 4, unsafe.Sizeof(v.InterceptMisc1)},
		{"InterceptMisc2", unsafe.Offsetof(v.InterceptMisc2), 0x010, 4, unsafe.Sizeof(v.InterceptMisc2)},
		{"InterceptMisc3", unsafe.Offsetof(v.InterceptMisc3), 0x014, 4, unsafe.Sizeof(v.InterceptMisc3)},
		{"PauseFilterThreshold", unsafe.Offsetof(v.PauseFilterThreshold), 0x03C, 2, unsafe.Sizeof(v.PauseFilterThreshold)},
		{"PauseFilterCount", unsafe.Offsetof(v.PauseFilterCount), 0x03E, 2, unsafe.Sizeof(v.PauseFilterCount)},
		{"IOPMBasePA", unsafe.Offsetof(v.IOPMBasePA), 0x040, 8, unsafe.Sizeof(v.IOPMBasePA)},
		{"MSRPMBasePA", unsafe.Offsetof(v.MSRPMBasePA), 0x048, 8, unsafe.Sizeof(v.MSRPMBasePA)},
		{"TSCOffset", unsafe.Offsetof(v.TSCOffset), 0x050, 8, unsafe.Sizeof(v.TSCOffset)},
		{"ASID", unsafe.Offsetof(v.ASID), 0x058, 4, unsafe.Sizeof(v.ASID)},
		{"TLBControl", unsafe.Offsetof(v.TLBControl), 0x05C, 1, unsafe.Sizeof(v.TLBControl)},
		{"VIntr", unsafe.Offsetof(v.VIntr), 0x060, 8, unsafe.Sizeof(v.VIntr)},
		{"InterruptShadow", unsafe.Offsetof(v.InterruptShadow), 0x068, 8, unsafe.Sizeof(v.InterruptShadow)},
		{"ExitCode", unsafe.Offsetof(v.ExitCode), 0x070, 8, unsafe.Sizeof(v.ExitCode)},
		{"ExitInfo1", unsafe.Offsetof(v.ExitInfo1), 0x078, 8, unsafe.Sizeof(v.ExitInfo1)},
		{"ExitInfo2", unsafe.Offsetof(v.ExitInfo2), 0x080, 8, unsafe.Sizeof(v.ExitInfo2)},
		{"ExitIntInfo", unsafe.Offsetof(v.ExitIntInfo), 0x088, 8, unsafe.Sizeof(v.ExitIntInfo)},
		{"NPControl", unsafe.Offsetof(v.NPControl), 0x090, 8, unsafe.Sizeof(v.NPControl)},
		{"EventInj", unsafe.Offsetof(v.EventInj), 0x0A8, 8, unsafe.Sizeof(v.EventInj)},
		{"NCR3", unsafe.Offsetof(v.NCR3), 0x0B0, 8, unsafe.Sizeof(v.NCR3)},
		{"VirtExt", unsafe.Offsetof(v.VirtExt), 0x0B8, 8, unsafe.Sizeof(v.VirtExt)},
		{"CleanBits", unsafe.Offsetof(v.CleanBits), 0x0C0, 4, unsafe.Sizeof(v.CleanBits)},
		{"NextRIP", unsafe.Offsetof(v.NextRIP), 0x0C8, 8, unsafe.Sizeof(v.NextRIP)},
		{"InsnLen", unsafe.Offsetof(v.InsnLen), 0x0D0, 1, unsafe.Sizeof(v.InsnLen)},
		{"InsnBytes", unsafe.Offsetof(v.InsnBytes), 0x0D1, 15, unsafe.Sizeof(v.InsnBytes)},

		// Table B-2 "VMCB Layout, State Save Area" (offsets from the
		// start of the VMCB, the save area beginning at 0x400).
		{"ES", unsafe.Offsetof(v.ES), 0x400, 16, unsafe.Sizeof(v.ES)},
		{"CS", unsafe.Offsetof(v.CS), 0x410, 16, unsafe.Sizeof(v.CS)},
		{"SS", unsafe.Offsetof(v.SS), 0x420, 16, unsafe.Sizeof(v.SS)},
		{"DS", unsafe.Offsetof(v.DS), 0x430, 16, unsafe.Sizeof(v.DS)},
		{"FS", unsafe.Offsetof(v.FS), 0x440, 16, unsafe.Sizeof(v.FS)},
		{"GS", unsafe.Offsetof(v.GS), 0x450, 16, unsafe.Sizeof(v.GS)},
		{"GDTR", unsafe.Offsetof(v.GDTR), 0x460, 16, unsafe.Sizeof(v.GDTR)},
		{"LDTR", unsafe.Offsetof(v.LDTR), 0x470, 16, unsafe.Sizeof(v.LDTR)},
		{"IDTR", unsafe.Offsetof(v.IDTR), 0x480, 16, unsafe.Sizeof(v.IDTR)},
		{"TR", unsafe.Offsetof(v.TR), 0x490, 16, unsafe.Sizeof(v.TR)},
		{"CPL", unsafe.Offsetof(v.CPL), 0x4CB, 1, unsafe.Sizeof(v.CPL)},
		{"EFER", unsafe.Offsetof(v.EFER), 0x4D0, 8, unsafe.Sizeof(v.EFER)},
		{"CR4", unsafe.Offsetof(v.CR4), 0x548, 8, unsafe.Sizeof(v.CR4)},
		{"CR3", unsafe.Offsetof(v.CR3), 0x550, 8, unsafe.Sizeof(v.CR3)},
		{"CR0", unsafe.Offsetof(v.CR0), 0x558, 8, unsafe.Sizeof(v.CR0)},
		{"DR7", unsafe.Offsetof(v.DR7), 0x560, 8, unsafe.Sizeof(v.DR7)},
		{"DR6", unsafe.Offsetof(v.DR6), 0x568, 8, unsafe.Sizeof(v.DR6)},
		{"RFLAGS", unsafe.Offsetof(v.RFLAGS), 0x570, 8, unsafe.Sizeof(v.RFLAGS)},
		{"RIP", unsafe.Offsetof(v.RIP), 0x578, 8, unsafe.Sizeof(v.RIP)},
		{"RSP", unsafe.Offsetof(v.RSP), 0x5D8, 8, unsafe.Sizeof(v.RSP)},
		{"RAX", unsafe.Offsetof(v.RAX), 0x5F8, 8, unsafe.Sizeof(v.RAX)},
		{"STAR", unsafe.Offsetof(v.STAR), 0x600, 8, unsafe.Sizeof(v.STAR)},
		{"LSTAR", unsafe.Offsetof(v.LSTAR), 0x608, 8, unsafe.Sizeof(v.LSTAR)},
		{"CSTAR", unsafe.Offsetof(v.CSTAR), 0x610, 8, unsafe.Sizeof(v.CSTAR)},
		{"SFMASK", unsafe.Offsetof(v.SFMASK), 0x618, 8, unsafe.Sizeof(v.SFMASK)},
		{"KernelGSBase", unsafe.Offsetof(v.KernelGSBase), 0x620, 8, unsafe.Sizeof(v.KernelGSBase)},
		{"SysenterCS", unsafe.Offsetof(v.SysenterCS), 0x628, 8, unsafe.Sizeof(v.SysenterCS)},
		{"SysenterESP", unsafe.Offsetof(v.SysenterESP), 0x630, 8, unsafe.Sizeof(v.SysenterESP)},
		{"SysenterEIP", unsafe.Offsetof(v.SysenterEIP), 0x638, 8, unsafe.Sizeof(v.SysenterEIP)},
		{"CR2", unsafe.Offsetof(v.CR2), 0x640, 8, unsafe.Sizeof(v.CR2)},
		{"GPAT", unsafe.Offsetof(v.GPAT), 0x668, 8, unsafe.Sizeof(v.GPAT)},
		{"DebugCtl", unsafe.Offsetof(v.DebugCtl), 0x670, 8, unsafe.Sizeof(v.DebugCtl)},
	} {
		if f.got != f.want {
			t.Errorf("offsetof(VMCB.%s) = %#x, want %#x", f.name, f.got, f.want)
		}
		if f.gotLen != f.size {
			t.Errorf("sizeof(VMCB.%s) = %d, want %d", f.name, f.gotLen, f.size)
		}
	}

	// The VMCB segment format: selector, attrib, limit, base.
	var s Segment
	for _, f := range []struct {
		name      string
		got, want uintptr
	}{
		{"Selector", unsafe.Offsetof(s.Selector), 0},
		{"Attrib", unsafe.Offsetof(s.Attrib), 2},
		{"Limit", unsafe.Offsetof(s.Limit), 4},
		{"Base", unsafe.Offsetof(s.Base), 8},
	} {
		if f.got != f.want {
			t.Errorf("offsetof(Segment.%s) = %d, want %d", f.name, f.got, f.want)
		}
	}
}

// TestVMCBOverlay writes fields through a VMCB overlaid on a byte page and
// reads them back as little-endian bytes at the APM offsets.
func TestVMCBOverlay(t *testing.T) {
	page := new([4096 / 8]uint64) // 8-byte aligned backing store
	v := (*VMCB)(unsafe.Pointer(page))
	b := (*[4096]byte)(unsafe.Pointer(page))
	v.ExitCode = 0x0123456789ABCDEF
	v.CS = Segment{Selector: 0x10, Attrib: AttribCode32, Limit: 0xFFFFFFFF, Base: 0x1122334455667788}
	v.CPL = 3
	v.RAX = 0xA5
	le := func(off int, n int) uint64 {
		var x uint64
		for i := n - 1; i >= 0; i-- {
			x = x<<8 | uint64(b[off+i])
		}
		return x
	}
	if got := le(0x070, 8); got != 0x0123456789ABCDEF {
		t.Errorf("EXITCODE bytes = %#x", got)
	}
	if le(0x410, 2) != 0x10 || le(0x412, 2) != 0xC9B || le(0x414, 4) != 0xFFFFFFFF || le(0x418, 8) != 0x1122334455667788 {
		t.Errorf("CS bytes = % x", b[0x410:0x420])
	}
	if b[0x4CB] != 3 || le(0x5F8, 8) != 0xA5 {
		t.Errorf("CPL = %d, RAX = %#x", b[0x4CB], le(0x5F8, 8))
	}
	v.Reset()
	for i, x := range b {
		if x != 0 {
			t.Fatalf("byte %#x = %#x after Reset", i, x)
		}
	}
	var nilVMCB *VMCB
	nilVMCB.Reset() // must not panic
}

func TestInterceptBits(t *testing.T) {
	// Intercept vectors 3 and 4 of Table B-1, as bit numbers.
	misc1 := []struct {
		bit, want int
	}{
		{Misc1INTR, 0}, {Misc1NMI, 1}, {Misc1SMI, 2}, {Misc1INIT, 3}, {Misc1VINTR, 4},
		{Misc1CR0SelWrite, 5}, {Misc1IDTRRead, 6}, {Misc1GDTRRead, 7}, {Misc1LDTRRead, 8},
		{Misc1TRRead, 9}, {Misc1IDTRWrite, 10}, {Misc1GDTRWrite, 11}, {Misc1LDTRWrite, 12},
		{Misc1TRWrite, 13}, {Misc1RDTSC, 14}, {Misc1RDPMC, 15}, {Misc1PUSHF, 16}, {Misc1POPF, 17},
		{Misc1CPUID, 18}, {Misc1RSM, 19}, {Misc1IRET, 20}, {Misc1INTn, 21}, {Misc1INVD, 22},
		{Misc1PAUSE, 23}, {Misc1HLT, 24}, {Misc1INVLPG, 25}, {Misc1INVLPGA, 26}, {Misc1IOIOProt, 27},
		{Misc1MSRProt, 28}, {Misc1TaskSwitch, 29}, {Misc1FERRFreeze, 30}, {Misc1Shutdown, 31},
	}
	misc2 := []struct {
		bit, want int
	}{
		{Misc2VMRUN, 0}, {Misc2VMMCALL, 1}, {Misc2VMLOAD, 2}, {Misc2VMSAVE, 3}, {Misc2STGI, 4},
		{Misc2CLGI, 5}, {Misc2SKINIT, 6}, {Misc2RDTSCP, 7}, {Misc2ICEBP, 8}, {Misc2WBINVD, 9},
		{Misc2MONITOR, 10}, {Misc2MWAIT, 11}, {Misc2MWAITCond, 12}, {Misc2XSETBV, 13}, {Misc2RDPRU, 14},
	}
	for i, c := range misc1 {
		if c.bit != c.want || c.bit != i {
			t.Errorf("misc1[%d] = %d, want %d", i, c.bit, c.want)
		}
	}
	for i, c := range misc2 {
		if c.bit != c.want || c.bit != i {
			t.Errorf("misc2[%d] = %d, want %d", i, c.bit, c.want)
		}
	}
	var v VMCB
	v.InterceptMisc1 = 1 << Misc1Shutdown // the top bit fits the uint32
	if v.InterceptMisc1 != 0x8000_0000 {
		t.Errorf("1<<Misc1Shutdown = %#x", v.InterceptMisc1)
	}

	if CRReadIntercept(0) != 1 || CRReadIntercept(15) != 1<<15 || CRWriteIntercept(0) != 1<<16 ||
		CRWriteIntercept(3) != 1<<19 || CRWriteIntercept(15) != 1<<31 {
		t.Error("CR intercept bits")
	}
	for _, cr := range []int{-1, 16, maxInt} {
		if CRReadIntercept(cr) != 0 || CRWriteIntercept(cr) != 0 {
			t.Errorf("CR intercept of %d should be 0", cr)
		}
	}
}

func TestControlConstants(t *testing.T) {
	// TLB_CONTROL encodings, Table B-1.
	if TLBNoFlush != 0 || TLBFlushAll != 1 || TLBFlushASID != 3 || TLBFlushASIDNonGlobal != 7 {
		t.Error("TLB_CONTROL values")
	}
	// V_INTR fields, Table B-1 offset 0x60.
	if VIntrTPRMask != 0xFF || VIntrIRQ != 0x100 || VIntrGIF != 0x200 || VIntrPrioMask != 0xF0000 ||
		VIntrIgnTPR != 0x100000 || VIntrMasking != 0x1000000 || VIntrGIFEnable != 0x2000000 ||
		VIntrVectorMask != 0xFF_0000_0000 {
		t.Error("V_INTR bits")
	}
	if got := VIntrPending(0x30, 0x1F, true); got != 0x30_0000_0000|0x100|0xF0000|0x100000 {
		t.Errorf("VIntrPending = %#x", got)
	}
	if got := VIntrPending(0xFF, 2, false); got != 0xFF_0000_0000|0x100|0x20000 {
		t.Errorf("VIntrPending = %#x", got)
	}
	if NPEnable != 1 || CleanAll != 0x1FFF || CleanSeg != 0x100 {
		t.Error("NP/clean bits")
	}
}

// TestEventInjection checks the EVENTINJ format (APM vol. 2 §15.20).
func TestEventInjection(t *testing.T) {
	for _, c := range []struct {
		vector uint8
		typ    uint8
		ec     uint32
		hasErr bool
		want   uint64
	}{
		{0x20, EventExtIntr, 0, false, 0x8000_0020},
		{2, EventNMI, 0, false, 0x8000_0202},
		{6, EventException, 0, false, 0x8000_0306},                    // #UD
		{13, EventException, 0x1234, true, 0x0000_1234_8000_0B0D},     // #GP(0x1234)
		{14, EventException, 0xFFFFFFFF, true, 0xFFFF_FFFF_8000_0B0E}, // #PF
		{8, EventException, 0, true, 0x8000_0B08},                     // #DF(0)
		{0x80, EventSoftInt, 0, false, 0x8000_0480},
		{0x80, EventSoftInt, 77, false, 0x8000_0480}, // error code ignored without hasErr
		{1, 0xFF, 0, false, 0x8000_0701},             // type masked to 3 bits
	} {
		got := EventInjection(c.vector, c.typ, c.ec, c.hasErr)
		if got != c.want {
			t.Errorf("EventInjection(%#x, %d, %#x, %v) = %#x, want %#x", c.vector, c.typ, c.ec, c.hasErr, got, c.want)
		}
		e := DecodeEvent(got)
		if !e.Valid || e.Vector != c.vector || e.Type != c.typ&7 || e.HasErr != c.hasErr ||
			(c.hasErr && e.ErrorCode != c.ec) || (!c.hasErr && e.ErrorCode != 0) {
			t.Errorf("DecodeEvent(%#x) = %+v", got, e)
		}
	}
	if e := DecodeEvent(0); e != (Event{}) {
		t.Errorf("DecodeEvent(0) = %+v", e)
	}
	// An error code without EV is ignored.
	if e := DecodeEvent(0x1234_0000_8000_030E); e.HasErr || e.ErrorCode != 0 || e.Vector != 14 {
		t.Errorf("DecodeEvent without EV = %+v", e)
	}
}

// TestAttrib checks the packing of descriptor attributes into the VMCB's 12
// bits (Table B-2 segment attribute note).
func TestAttrib(t *testing.T) {
	for _, c := range []struct {
		name string
		desc uint64
		want uint16
	}{
		{"flat 32-bit code", 0x00CF_9B00_0000_FFFF, AttribCode32},
		{"flat 32-bit data", 0x00CF_9300_0000_FFFF, AttribData},
		{"64-bit code", 0x00AF_9B00_0000_FFFF, AttribCode64},
		{"busy TSS", 0x0000_8B00_0000_0067, AttribBusyTSS32},
		{"LDT", 0x0000_8200_0000_FFFF, AttribLDT},
		{"all ones", ^uint64(0), 0xFFF},
		{"only non-attribute bits", 0xFF0F_00FF_FFFF_FFFF, 0},
	} {
		if got := AttribFromDescriptor(c.desc); got != c.want {
			t.Errorf("%s: AttribFromDescriptor(%#x) = %#x, want %#x", c.name, c.desc, got, c.want)
		}
	}
	if AttribCode32 != 0xC9B || AttribData != 0xC93 || AttribBusyTSS32 != 0x8B || AttribCode64 != 0xA9B {
		t.Error("attribute constants")
	}
}

func TestSegmentFromDescriptor(t *testing.T) {
	for _, c := range []struct {
		sel  uint16
		desc uint64
		want Segment
	}{
		{0x10, 0x00CF_9B00_0000_FFFF, Segment{0x10, 0xC9B, 0xFFFF_FFFF, 0}},
		{0x18, 0x00CF_9300_0000_FFFF, Segment{0x18, 0xC93, 0xFFFF_FFFF, 0}},
		// Byte granular, base 0x12345678, limit 0x5ABCD.
		{0x20, 0x1205_8B34_5678_ABCD, Segment{0x20, 0x08B, 0x5ABCD, 0x1234_5678}},
		// 4 KiB granular, limit 0x00001 -> 0x1FFF.
		{0x28, 0x0080_9300_0000_0001, Segment{0x28, 0x893, 0x1FFF, 0}},
	} {
		if got := SegmentFromDescriptor(c.sel, c.desc); got != c.want {
			t.Errorf("SegmentFromDescriptor(%#x, %#x) = %+v, want %+v", c.sel, c.desc, got, c.want)
		}
	}
}

func TestVMCBHelpersDoNotAllocate(t *testing.T) {
	var sink uint64
	n := testing.AllocsPerRun(100, func() {
		sink += EventInjection(14, EventException, 2, true)
		sink += uint64(DecodeEvent(sink).Vector)
		sink += uint64(AttribFromDescriptor(sink))
		sink += SegmentFromDescriptor(8, sink).Base
		sink += VIntrPending(1, 2, true)
	})
	if n != 0 {
		t.Errorf("%v allocations per run", n)
	}
}

// The exits.go tests live here: the package's file names are shared out
// between authors, and exits_test.go is not one of this file's author's.

// TestExitCodes checks the codes against APM vol. 2 Table C-1.
func TestExitCodes(t *testing.T) {
	for _, c := range []struct {
		code, want uint64
		name       string
	}{
		{ExitCRReadBase, 0x00, "CR0_READ"},
		{ExitCRReadBase + 15, 0x0F, "CR15_READ"},
		{ExitCRWriteBase, 0x10, "CR0_WRITE"},
		{ExitCRWriteBase + 3, 0x13, "CR3_WRITE"},
		{ExitDRReadBase, 0x20, "DR0_READ"},
		{ExitDRWriteBase + 15, 0x3F, "DR15_WRITE"},
		{ExitExceptionBase, 0x40, "EXCP0"},
		{ExitExceptionBase + 14, 0x4E, "EXCP14"},
		{ExitExceptionBase + 31, 0x5F, "EXCP31"},
		{ExitINTR, 0x60, "INTR"},
		{ExitNMI, 0x61, "NMI"},
		{ExitSMI, 0x62, "SMI"},
		{ExitINIT, 0x63, "INIT"},
		{ExitVINTR, 0x64, "VINTR"},
		{ExitCR0SelWrite, 0x65, "CR0_SEL_WRITE"},
		{ExitIDTRRead, 0x66, "IDTR_READ"},
		{ExitGDTRRead, 0x67, "GDTR_READ"},
		{ExitLDTRRead, 0x68, "LDTR_READ"},
		{ExitTRRead, 0x69, "TR_READ"},
		{ExitIDTRWrite, 0x6A, "IDTR_WRITE"},
		{ExitGDTRWrite, 0x6B, "GDTR_WRITE"},
		{ExitLDTRWrite, 0x6C, "LDTR_WRITE"},
		{ExitTRWrite, 0x6D, "TR_WRITE"},
		{ExitRDTSC, 0x6E, "RDTSC"},
		{ExitRDPMC, 0x6F, "RDPMC"},
		{ExitPUSHF, 0x70, "PUSHF"},
		{ExitPOPF, 0x71, "POPF"},
		{ExitCPUID, 0x72, "CPUID"},
		{ExitRSM, 0x73, "RSM"},
		{ExitIRET, 0x74, "IRET"},
		{ExitSWINT, 0x75, "SWINT"},
		{ExitINVD, 0x76, "INVD"},
		{ExitPAUSE, 0x77, "PAUSE"},
		{ExitHLT, 0x78, "HLT"},
		{ExitINVLPG, 0x79, "INVLPG"},
		{ExitINVLPGA, 0x7A, "INVLPGA"},
		{ExitIOIO, 0x7B, "IOIO"},
		{ExitMSR, 0x7C, "MSR"},
		{ExitTaskSwitch, 0x7D, "TASK_SWITCH"},
		{ExitFERRFreeze, 0x7E, "FERR_FREEZE"},
		{ExitShutdown, 0x7F, "SHUTDOWN"},
		{ExitVMRUN, 0x80, "VMRUN"},
		{ExitVMMCALL, 0x81, "VMMCALL"},
		{ExitVMLOAD, 0x82, "VMLOAD"},
		{ExitVMSAVE, 0x83, "VMSAVE"},
		{ExitSTGI, 0x84, "STGI"},
		{ExitCLGI, 0x85, "CLGI"},
		{ExitSKINIT, 0x86, "SKINIT"},
		{ExitRDTSCP, 0x87, "RDTSCP"},
		{ExitICEBP, 0x88, "ICEBP"},
		{ExitWBINVD, 0x89, "WBINVD"},
		{ExitMONITOR, 0x8A, "MONITOR"},
		{ExitMWAIT, 0x8B, "MWAIT"},
		{ExitMWAITCond, 0x8C, "MWAIT_COND"},
		{ExitXSETBV, 0x8D, "XSETBV"},
		{ExitRDPRU, 0x8E, "RDPRU"},
		{ExitEFERWriteTrap, 0x8F, "EFER_WRITE_TRAP"},
		{ExitCRWriteTrapBase + 4, 0x94, "CR4_WRITE_TRAP"},
		{ExitINVLPGB, 0xA0, "INVLPGB"},
		{ExitINVLPGBIllegal, 0xA1, "INVLPGB_ILLEGAL"},
		{ExitINVPCID, 0xA2, "INVPCID"},
		{ExitMCOMMIT, 0xA3, "MCOMMIT"},
		{ExitTLBSYNC, 0xA4, "TLBSYNC"},
		{ExitBusLock, 0xA5, "BUSLOCK"},
		{ExitIdleHLT, 0xA6, "IDLE_HLT"},
		{ExitNPF, 0x400, "NPF"},
		{ExitAVICIncompleteIPI, 0x401, "AVIC_INCOMPLETE_IPI"},
		{ExitAVICNoAccel, 0x402, "AVIC_NOACCEL"},
		{ExitVMGEXIT, 0x403, "VMGEXIT"},
		{ExitInvalid, 0xFFFF_FFFF_FFFF_FFFF, "INVALID"},
	} {
		if c.code != c.want {
			t.Errorf("%s = %#x, want %#x", c.name, c.code, c.want)
		}
		if got := ExitName(c.code); got != c.name {
			t.Errorf("ExitName(%#x) = %q, want %q", c.code, got, c.name)
		}
	}
	for _, code := range []uint64{0xA7, 0xFF, 0x3FF, 0x404, 0x1_0000_0000, 1 << 63, ^uint64(0) - 1} {
		if got := ExitName(code); got != "UNKNOWN" {
			t.Errorf("ExitName(%#x) = %q, want UNKNOWN", code, got)
		}
	}
	// Every code of the dense table has a name.
	for code := uint64(0); code <= 0xA6; code++ {
		if ExitName(code) == "UNKNOWN" {
			t.Errorf("ExitName(%#x) = UNKNOWN", code)
		}
	}
}

func TestExitRanges(t *testing.T) {
	if cr, w, ok := ExitCR(0x13); !ok || cr != 3 || !w {
		t.Errorf("ExitCR(0x13) = %d %v %v", cr, w, ok)
	}
	if cr, w, ok := ExitCR(0x08); !ok || cr != 8 || w {
		t.Errorf("ExitCR(0x08) = %d %v %v", cr, w, ok)
	}
	if _, _, ok := ExitCR(0x20); ok {
		t.Error("ExitCR(0x20) ok")
	}
	if dr, w, ok := ExitDR(0x37); !ok || dr != 7 || !w {
		t.Errorf("ExitDR(0x37) = %d %v %v", dr, w, ok)
	}
	if dr, w, ok := ExitDR(0x26); !ok || dr != 6 || w {
		t.Errorf("ExitDR(0x26) = %d %v %v", dr, w, ok)
	}
	for _, c := range []uint64{0x1F, 0x40, ExitInvalid} {
		if _, _, ok := ExitDR(c); ok {
			t.Errorf("ExitDR(%#x) ok", c)
		}
	}
	if v, ok := ExitException(0x4E); !ok || v != 14 {
		t.Errorf("ExitException(0x4E) = %d %v", v, ok)
	}
	for _, c := range []uint64{0x3F, 0x60, ExitNPF, ExitInvalid} {
		if _, ok := ExitException(c); ok {
			t.Errorf("ExitException(%#x) ok", c)
		}
	}
}

// TestDecodeIOInfo checks the EXITINFO1 format of APM vol. 2 §15.10.2.
func TestDecodeIOInfo(t *testing.T) {
	for _, c := range []struct {
		info uint64
		want IOInfo
	}{
		// OUT DX, AL to 0x3F8 from 32-bit code.
		{0x03F8_0000 | 1<<4 | 1<<8, IOInfo{Port: 0x3F8, Size: 1, AddrSize: 4}},
		// IN EAX, DX from 0xCFC, 64-bit addressing.
		{0x0CFC_0000 | 1<<6 | 1<<9 | 1, IOInfo{Port: 0xCFC, In: true, Size: 4, AddrSize: 8}},
		// REP OUTSW to 0x1F0 from DS (segment 3), 32-bit addressing.
		{0x01F0_0000 | 3<<10 | 1<<8 | 1<<5 | 1<<3 | 1<<2,
			IOInfo{Port: 0x1F0, String: true, Rep: true, Size: 2, AddrSize: 4, Segment: 3}},
		// REP INSB from port 0xFFFF, 16-bit addressing, ES.
		{0xFFFF_0000 | 1<<7 | 1<<4 | 1<<3 | 1<<2 | 1,
			IOInfo{Port: 0xFFFF, In: true, String: true, Rep: true, Size: 1, AddrSize: 2}},
		// Malformed: no size, two address sizes; high bits ignored.
		{0xFFFF_FFFF_0000_0000 | 3<<7 | 7<<10, IOInfo{Segment: 7}},
		{0, IOInfo{}},
		{^uint64(0), IOInfo{Port: 0xFFFF, In: true, String: true, Rep: true, Segment: 7}},
	} {
		if got := DecodeIOInfo(c.info); got != c.want {
			t.Errorf("DecodeIOInfo(%#x) = %+v, want %+v", c.info, got, c.want)
		}
	}
}

// TestDecodeNPF checks the nested page fault EXITINFO1 bits (APM vol. 2
// §15.25.6).
func TestDecodeNPF(t *testing.T) {
	for _, c := range []struct {
		info1, info2 uint64
		want         NPFInfo
	}{
		{0, 0xFEE0_0000, NPFInfo{GPA: 0xFEE0_0000}},
		// Write to a non-present final GPA: the usual MMIO exit.
		{1<<32 | 2, 0xFED0_0040, NPFInfo{GPA: 0xFED0_0040, Write: true, Final: true}},
		// Guest page table access during a walk, to a present read-only page.
		{1<<33 | 1<<2 | 1<<1 | 1, 0x1000, NPFInfo{GPA: 0x1000, Present: true, Write: true, User: true, InWalk: true}},
		// Instruction fetch with a reserved bit set.
		{1<<32 | 1<<4 | 1<<3 | 1, 0x7_FFFF_F000, NPFInfo{GPA: 0x7_FFFF_F000, Present: true, Reserved: true, Fetch: true, Final: true}},
		{^uint64(0), ^uint64(0), NPFInfo{^uint64(0), true, true, true, true, true, true, true}},
	} {
		if got := DecodeNPF(c.info1, c.info2); got != c.want {
			t.Errorf("DecodeNPF(%#x, %#x) = %+v, want %+v", c.info1, c.info2, got, c.want)
		}
	}
}

func TestExitDecodersDoNotAllocate(t *testing.T) {
	var sink int
	n := testing.AllocsPerRun(100, func() {
		for _, c := range []uint64{0, ExitCPUID, ExitNPF, ExitInvalid, 0x12345} {
			sink += len(ExitName(c))
		}
		sink += DecodeIOInfo(uint64(sink)).Size
		if DecodeNPF(uint64(sink), 1).Write {
			sink++
		}
	})
	if n != 0 {
		t.Errorf("%v allocations per run", n)
	}
}

func FuzzExitDecoders(f *testing.F) {
	f.Add(uint64(0x03F8_0110), uint64(0x1_0000_0002))
	f.Add(^uint64(0), uint64(0))
	f.Fuzz(func(t *testing.T, a, b uint64) {
		_ = ExitName(a)
		io := DecodeIOInfo(a)
		if io.Port != uint16(a>>16) || io.In != (a&1 != 0) {
			t.Fatalf("DecodeIOInfo(%#x) = %+v", a, io)
		}
		switch io.Size {
		case 0, 1, 2, 4:
		default:
			t.Fatalf("Size %d", io.Size)
		}
		switch io.AddrSize {
		case 0, 2, 4, 8:
		default:
			t.Fatalf("AddrSize %d", io.AddrSize)
		}
		if n := DecodeNPF(a, b); n.GPA != b {
			t.Fatalf("GPA %#x", n.GPA)
		}
		if e := DecodeEvent(a); e.Valid {
			mask := uint64(EventVectorMask | EventTypeMask | EventValid)
			if e.HasErr {
				mask |= EventErrValid | 0xFFFF_FFFF<<EventErrShift
			}
			if got := EventInjection(e.Vector, e.Type, e.ErrorCode, e.HasErr); got != a&mask {
				t.Fatalf("event %#x re-encodes as %#x", a, got)
			}
		}
	})
}

package svm

// #VMEXIT codes, the values of VMCB.ExitCode: AMD APM vol. 2 appendix C,
// Table C-1 "SVM Intercept Codes". Each constant's comment gives the APM name
// (VMEXIT_...), which is also what ExitName returns, without the prefix.

// Ranges of codes, one code per register or vector (VMEXIT_CR0_READ ...
// VMEXIT_EXCP31, VMEXIT_CR0_WRITE_TRAP ...): a read of CRn exits with
// ExitCRReadBase+n, exception vector n with ExitExceptionBase+n, and so on.
// For CR and DR accesses with decode assists, EXITINFO1 bit 63 says the
// access was a MOV and bits 0-3 name its general-purpose register. For
// exceptions with an error code, EXITINFO1 holds it; for #PF, EXITINFO2 holds
// the faulting address (APM vol. 2 §15.12 "Exception Intercepts").
const (
	ExitCRReadBase      uint64 = 0x000 // VMEXIT_CR0_READ ... VMEXIT_CR15_READ: 0x000-0x00F
	ExitCRWriteBase     uint64 = 0x010 // VMEXIT_CR0_WRITE ... VMEXIT_CR15_WRITE: 0x010-0x01F
	ExitDRReadBase      uint64 = 0x020 // VMEXIT_DR0_READ ... VMEXIT_DR15_READ: 0x020-0x02F
	ExitDRWriteBase     uint64 = 0x030 // VMEXIT_DR0_WRITE ... VMEXIT_DR15_WRITE: 0x030-0x03F
	ExitExceptionBase   uint64 = 0x040 // VMEXIT_EXCP0 ... VMEXIT_EXCP31: 0x040-0x05F
	ExitCRWriteTrapBase uint64 = 0x090 // VMEXIT_CR0_WRITE_TRAP ... VMEXIT_CR15_WRITE_TRAP: 0x090-0x09F (SEV-ES)
)

// Interrupts, instruction intercepts and other events (APM vol. 2 §15.9
// "Instruction Intercepts", §15.13 "Interrupt Intercepts", §15.14
// "Miscellaneous Intercepts").
const (
	ExitINTR           uint64 = 0x060 // VMEXIT_INTR: physical INTR
	ExitNMI            uint64 = 0x061 // VMEXIT_NMI: physical NMI
	ExitSMI            uint64 = 0x062 // VMEXIT_SMI: physical SMI
	ExitINIT           uint64 = 0x063 // VMEXIT_INIT: physical INIT
	ExitVINTR          uint64 = 0x064 // VMEXIT_VINTR: virtual interrupt taken
	ExitCR0SelWrite    uint64 = 0x065 // VMEXIT_CR0_SEL_WRITE: CR0 write changing bits other than TS and MP
	ExitIDTRRead       uint64 = 0x066 // VMEXIT_IDTR_READ: SIDT
	ExitGDTRRead       uint64 = 0x067 // VMEXIT_GDTR_READ: SGDT
	ExitLDTRRead       uint64 = 0x068 // VMEXIT_LDTR_READ: SLDT
	ExitTRRead         uint64 = 0x069 // VMEXIT_TR_READ: STR
	ExitIDTRWrite      uint64 = 0x06A // VMEXIT_IDTR_WRITE: LIDT
	ExitGDTRWrite      uint64 = 0x06B // VMEXIT_GDTR_WRITE: LGDT
	ExitLDTRWrite      uint64 = 0x06C // VMEXIT_LDTR_WRITE: LLDT
	ExitTRWrite        uint64 = 0x06D // VMEXIT_TR_WRITE: LTR
	ExitRDTSC          uint64 = 0x06E // VMEXIT_RDTSC
	ExitRDPMC          uint64 = 0x06F // VMEXIT_RDPMC
	ExitPUSHF          uint64 = 0x070 // VMEXIT_PUSHF
	ExitPOPF           uint64 = 0x071 // VMEXIT_POPF
	ExitCPUID          uint64 = 0x072 // VMEXIT_CPUID
	ExitRSM            uint64 = 0x073 // VMEXIT_RSM
	ExitIRET           uint64 = 0x074 // VMEXIT_IRET
	ExitSWINT          uint64 = 0x075 // VMEXIT_SWINT: software interrupt INTn
	ExitINVD           uint64 = 0x076 // VMEXIT_INVD
	ExitPAUSE          uint64 = 0x077 // VMEXIT_PAUSE
	ExitHLT            uint64 = 0x078 // VMEXIT_HLT
	ExitINVLPG         uint64 = 0x079 // VMEXIT_INVLPG
	ExitINVLPGA        uint64 = 0x07A // VMEXIT_INVLPGA
	ExitIOIO           uint64 = 0x07B // VMEXIT_IOIO: IN, OUT, INS, OUTS; EXITINFO1 for DecodeIOInfo, EXITINFO2 is the next RIP
	ExitMSR            uint64 = 0x07C // VMEXIT_MSR: RDMSR (EXITINFO1 = 0) or WRMSR (EXITINFO1 = 1) of MSR ECX
	ExitTaskSwitch     uint64 = 0x07D // VMEXIT_TASK_SWITCH
	ExitFERRFreeze     uint64 = 0x07E // VMEXIT_FERR_FREEZE: x87 error in FERR_FREEZE mode
	ExitShutdown       uint64 = 0x07F // VMEXIT_SHUTDOWN: shutdown (triple fault); the guest state is undefined
	ExitVMRUN          uint64 = 0x080 // VMEXIT_VMRUN
	ExitVMMCALL        uint64 = 0x081 // VMEXIT_VMMCALL: hypercall
	ExitVMLOAD         uint64 = 0x082 // VMEXIT_VMLOAD
	ExitVMSAVE         uint64 = 0x083 // VMEXIT_VMSAVE
	ExitSTGI           uint64 = 0x084 // VMEXIT_STGI
	ExitCLGI           uint64 = 0x085 // VMEXIT_CLGI
	ExitSKINIT         uint64 = 0x086 // VMEXIT_SKINIT
	ExitRDTSCP         uint64 = 0x087 // VMEXIT_RDTSCP
	ExitICEBP          uint64 = 0x088 // VMEXIT_ICEBP: INT1
	ExitWBINVD         uint64 = 0x089 // VMEXIT_WBINVD: WBINVD, WBNOINVD
	ExitMONITOR        uint64 = 0x08A // VMEXIT_MONITOR: MONITOR, MONITORX
	ExitMWAIT          uint64 = 0x08B // VMEXIT_MWAIT: MWAIT, MWAITX
	ExitMWAITCond      uint64 = 0x08C // VMEXIT_MWAIT_COND: MWAIT with the monitor armed
	ExitXSETBV         uint64 = 0x08D // VMEXIT_XSETBV
	ExitRDPRU          uint64 = 0x08E // VMEXIT_RDPRU
	ExitEFERWriteTrap  uint64 = 0x08F // VMEXIT_EFER_WRITE_TRAP: SEV-ES: EFER was written, new value in EXITINFO1
	ExitINVLPGB        uint64 = 0x0A0 // VMEXIT_INVLPGB
	ExitINVLPGBIllegal uint64 = 0x0A1 // VMEXIT_INVLPGB_ILLEGAL: INVLPGB with illegal operands
	ExitINVPCID        uint64 = 0x0A2 // VMEXIT_INVPCID
	ExitMCOMMIT        uint64 = 0x0A3 // VMEXIT_MCOMMIT
	ExitTLBSYNC        uint64 = 0x0A4 // VMEXIT_TLBSYNC
	ExitBusLock        uint64 = 0x0A5 // VMEXIT_BUSLOCK: bus lock threshold reached
	ExitIdleHLT        uint64 = 0x0A6 // VMEXIT_IDLE_HLT: HLT with no virtual interrupt pending
)

// Nested paging, AVIC and SEV-ES codes, and the failed-VMRUN code.
const (
	ExitNPF               uint64 = 0x400 // VMEXIT_NPF: nested page fault: EXITINFO1 and EXITINFO2 for DecodeNPF
	ExitAVICIncompleteIPI uint64 = 0x401 // VMEXIT_AVIC_INCOMPLETE_IPI
	ExitAVICNoAccel       uint64 = 0x402 // VMEXIT_AVIC_NOACCEL: AVIC access not accelerated
	ExitVMGEXIT           uint64 = 0x403 // VMEXIT_VMGEXIT: SEV-ES guest VMGEXIT

	// ExitInvalid (VMEXIT_INVALID, -1): VMRUN found the VMCB or the guest
	// state invalid and did not enter the guest (APM vol. 2 §15.5.1 "Basic
	// Operation", the consistency checks).
	ExitInvalid uint64 = ^uint64(0)
)

// exitNames maps the dense codes 0x000-0x0A6 to their APM names without the
// VMEXIT_ prefix. It is a static array: a look-up allocates nothing.
var exitNames = [...]string{
	ExitCRReadBase + 0:       "CR0_READ",
	ExitCRReadBase + 1:       "CR1_READ",
	ExitCRReadBase + 2:       "CR2_READ",
	ExitCRReadBase + 3:       "CR3_READ",
	ExitCRReadBase + 4:       "CR4_READ",
	ExitCRReadBase + 5:       "CR5_READ",
	ExitCRReadBase + 6:       "CR6_READ",
	ExitCRReadBase + 7:       "CR7_READ",
	ExitCRReadBase + 8:       "CR8_READ",
	ExitCRReadBase + 9:       "CR9_READ",
	ExitCRReadBase + 10:      "CR10_READ",
	ExitCRReadBase + 11:      "CR11_READ",
	ExitCRReadBase + 12:      "CR12_READ",
	ExitCRReadBase + 13:      "CR13_READ",
	ExitCRReadBase + 14:      "CR14_READ",
	ExitCRReadBase + 15:      "CR15_READ",
	ExitCRWriteBase + 0:      "CR0_WRITE",
	ExitCRWriteBase + 1:      "CR1_WRITE",
	ExitCRWriteBase + 2:      "CR2_WRITE",
	ExitCRWriteBase + 3:      "CR3_WRITE",
	ExitCRWriteBase + 4:      "CR4_WRITE",
	ExitCRWriteBase + 5:      "CR5_WRITE",
	ExitCRWriteBase + 6:      "CR6_WRITE",
	ExitCRWriteBase + 7:      "CR7_WRITE",
	ExitCRWriteBase + 8:      "CR8_WRITE",
	ExitCRWriteBase + 9:      "CR9_WRITE",
	ExitCRWriteBase + 10:     "CR10_WRITE",
	ExitCRWriteBase + 11:     "CR11_WRITE",
	ExitCRWriteBase + 12:     "CR12_WRITE",
	ExitCRWriteBase + 13:     "CR13_WRITE",
	ExitCRWriteBase + 14:     "CR14_WRITE",
	ExitCRWriteBase + 15:     "CR15_WRITE",
	ExitDRReadBase + 0:       "DR0_READ",
	ExitDRReadBase + 1:       "DR1_READ",
	ExitDRReadBase + 2:       "DR2_READ",
	ExitDRReadBase + 3:       "DR3_READ",
	ExitDRReadBase + 4:       "DR4_READ",
	ExitDRReadBase + 5:       "DR5_READ",
	ExitDRReadBase + 6:       "DR6_READ",
	ExitDRReadBase + 7:       "DR7_READ",
	ExitDRReadBase + 8:       "DR8_READ",
	ExitDRReadBase + 9:       "DR9_READ",
	ExitDRReadBase + 10:      "DR10_READ",
	ExitDRReadBase + 11:      "DR11_READ",
	ExitDRReadBase + 12:      "DR12_READ",
	ExitDRReadBase + 13:      "DR13_READ",
	ExitDRReadBase + 14:      "DR14_READ",
	ExitDRReadBase + 15:      "DR15_READ",
	ExitDRWriteBase + 0:      "DR0_WRITE",
	ExitDRWriteBase + 1:      "DR1_WRITE",
	ExitDRWriteBase + 2:      "DR2_WRITE",
	ExitDRWriteBase + 3:      "DR3_WRITE",
	ExitDRWriteBase + 4:      "DR4_WRITE",
	ExitDRWriteBase + 5:      "DR5_WRITE",
	ExitDRWriteBase + 6:      "DR6_WRITE",
	ExitDRWriteBase + 7:      "DR7_WRITE",
	ExitDRWriteBase + 8:      "DR8_WRITE",
	ExitDRWriteBase + 9:      "DR9_WRITE",
	ExitDRWriteBase + 10:     "DR10_WRITE",
	ExitDRWriteBase + 11:     "DR11_WRITE",
	ExitDRWriteBase + 12:     "DR12_WRITE",
	ExitDRWriteBase + 13:     "DR13_WRITE",
	ExitDRWriteBase + 14:     "DR14_WRITE",
	ExitDRWriteBase + 15:     "DR15_WRITE",
	ExitExceptionBase + 0:    "EXCP0", // #DE
	ExitExceptionBase + 1:    "EXCP1", // #DB
	ExitExceptionBase + 2:    "EXCP2", // NMI
	ExitExceptionBase + 3:    "EXCP3", // #BP
	ExitExceptionBase + 4:    "EXCP4", // #OF
	ExitExceptionBase + 5:    "EXCP5", // #BR
	ExitExceptionBase + 6:    "EXCP6", // #UD
	ExitExceptionBase + 7:    "EXCP7", // #NM
	ExitExceptionBase + 8:    "EXCP8", // #DF
	ExitExceptionBase + 9:    "EXCP9",
	ExitExceptionBase + 10:   "EXCP10", // #TS
	ExitExceptionBase + 11:   "EXCP11", // #NP
	ExitExceptionBase + 12:   "EXCP12", // #SS
	ExitExceptionBase + 13:   "EXCP13", // #GP
	ExitExceptionBase + 14:   "EXCP14", // #PF
	ExitExceptionBase + 15:   "EXCP15",
	ExitExceptionBase + 16:   "EXCP16", // #MF
	ExitExceptionBase + 17:   "EXCP17", // #AC
	ExitExceptionBase + 18:   "EXCP18", // #MC
	ExitExceptionBase + 19:   "EXCP19", // #XF
	ExitExceptionBase + 20:   "EXCP20",
	ExitExceptionBase + 21:   "EXCP21", // #CP
	ExitExceptionBase + 22:   "EXCP22",
	ExitExceptionBase + 23:   "EXCP23",
	ExitExceptionBase + 24:   "EXCP24",
	ExitExceptionBase + 25:   "EXCP25",
	ExitExceptionBase + 26:   "EXCP26",
	ExitExceptionBase + 27:   "EXCP27",
	ExitExceptionBase + 28:   "EXCP28", // #HV
	ExitExceptionBase + 29:   "EXCP29", // #VC
	ExitExceptionBase + 30:   "EXCP30", // #SX
	ExitExceptionBase + 31:   "EXCP31",
	ExitINTR:                 "INTR",
	ExitNMI:                  "NMI",
	ExitSMI:                  "SMI",
	ExitINIT:                 "INIT",
	ExitVINTR:                "VINTR",
	ExitCR0SelWrite:          "CR0_SEL_WRITE",
	ExitIDTRRead:             "IDTR_READ",
	ExitGDTRRead:             "GDTR_READ",
	ExitLDTRRead:             "LDTR_READ",
	ExitTRRead:               "TR_READ",
	ExitIDTRWrite:            "IDTR_WRITE",
	ExitGDTRWrite:            "GDTR_WRITE",
	ExitLDTRWrite:            "LDTR_WRITE",
	ExitTRWrite:              "TR_WRITE",
	ExitRDTSC:                "RDTSC",
	ExitRDPMC:                "RDPMC",
	ExitPUSHF:                "PUSHF",
	ExitPOPF:                 "POPF",
	ExitCPUID:                "CPUID",
	ExitRSM:                  "RSM",
	ExitIRET:                 "IRET",
	ExitSWINT:                "SWINT",
	ExitINVD:                 "INVD",
	ExitPAUSE:                "PAUSE",
	ExitHLT:                  "HLT",
	ExitINVLPG:               "INVLPG",
	ExitINVLPGA:              "INVLPGA",
	ExitIOIO:                 "IOIO",
	ExitMSR:                  "MSR",
	ExitTaskSwitch:           "TASK_SWITCH",
	ExitFERRFreeze:           "FERR_FREEZE",
	ExitShutdown:             "SHUTDOWN",
	ExitVMRUN:                "VMRUN",
	ExitVMMCALL:              "VMMCALL",
	ExitVMLOAD:               "VMLOAD",
	ExitVMSAVE:               "VMSAVE",
	ExitSTGI:                 "STGI",
	ExitCLGI:                 "CLGI",
	ExitSKINIT:               "SKINIT",
	ExitRDTSCP:               "RDTSCP",
	ExitICEBP:                "ICEBP",
	ExitWBINVD:               "WBINVD",
	ExitMONITOR:              "MONITOR",
	ExitMWAIT:                "MWAIT",
	ExitMWAITCond:            "MWAIT_COND",
	ExitXSETBV:               "XSETBV",
	ExitRDPRU:                "RDPRU",
	ExitEFERWriteTrap:        "EFER_WRITE_TRAP",
	ExitCRWriteTrapBase + 0:  "CR0_WRITE_TRAP",
	ExitCRWriteTrapBase + 1:  "CR1_WRITE_TRAP",
	ExitCRWriteTrapBase + 2:  "CR2_WRITE_TRAP",
	ExitCRWriteTrapBase + 3:  "CR3_WRITE_TRAP",
	ExitCRWriteTrapBase + 4:  "CR4_WRITE_TRAP",
	ExitCRWriteTrapBase + 5:  "CR5_WRITE_TRAP",
	ExitCRWriteTrapBase + 6:  "CR6_WRITE_TRAP",
	ExitCRWriteTrapBase + 7:  "CR7_WRITE_TRAP",
	ExitCRWriteTrapBase + 8:  "CR8_WRITE_TRAP",
	ExitCRWriteTrapBase + 9:  "CR9_WRITE_TRAP",
	ExitCRWriteTrapBase + 10: "CR10_WRITE_TRAP",
	ExitCRWriteTrapBase + 11: "CR11_WRITE_TRAP",
	ExitCRWriteTrapBase + 12: "CR12_WRITE_TRAP",
	ExitCRWriteTrapBase + 13: "CR13_WRITE_TRAP",
	ExitCRWriteTrapBase + 14: "CR14_WRITE_TRAP",
	ExitCRWriteTrapBase + 15: "CR15_WRITE_TRAP",
	ExitINVLPGB:              "INVLPGB",
	ExitINVLPGBIllegal:       "INVLPGB_ILLEGAL",
	ExitINVPCID:              "INVPCID",
	ExitMCOMMIT:              "MCOMMIT",
	ExitTLBSYNC:              "TLBSYNC",
	ExitBusLock:              "BUSLOCK",
	ExitIdleHLT:              "IDLE_HLT",
}

// ExitName returns the APM name of #VMEXIT code code without its VMEXIT_
// prefix, for example "CPUID", "EXCP14", "CR3_WRITE", "NPF" or "INVALID"; or
// "UNKNOWN" for a code Table C-1 does not list. It never allocates.
func ExitName(code uint64) string {
	if code < uint64(len(exitNames)) {
		if n := exitNames[code]; n != "" {
			return n
		}
		return "UNKNOWN"
	}
	switch code {
	case ExitNPF:
		return "NPF"
	case ExitAVICIncompleteIPI:
		return "AVIC_INCOMPLETE_IPI"
	case ExitAVICNoAccel:
		return "AVIC_NOACCEL"
	case ExitVMGEXIT:
		return "VMGEXIT"
	case ExitInvalid, ExitInvalid32:
		return "INVALID"
	}
	return "UNKNOWN"
}

// ExitCR reports whether code is a control register access exit and which:
// register cr (0-15), and whether it was a write. CR write traps (SEV-ES)
// are not included.
func ExitCR(code uint64) (cr int, write, ok bool) {
	if code < ExitCRReadBase+32 {
		return int(code & 15), code >= ExitCRWriteBase, true
	}
	return 0, false, false
}

// ExitDR reports whether code is a debug register access exit and which:
// register dr (0-15), and whether it was a write.
func ExitDR(code uint64) (dr int, write, ok bool) {
	if code >= ExitDRReadBase && code < ExitDRReadBase+32 {
		return int(code & 15), code >= ExitDRWriteBase, true
	}
	return 0, false, false
}

// ExitException reports whether code is an exception intercept and for
// which vector.
func ExitException(code uint64) (vector uint8, ok bool) {
	if code >= ExitExceptionBase && code < ExitExceptionBase+32 {
		return uint8(code - ExitExceptionBase), true
	}
	return 0, false
}

// IOInfo is a decoded EXITINFO1 of an ExitIOIO exit (APM vol. 2 §15.10.2
// "IN and OUT Behavior", figure "EXITINFO1 for IOIO Intercept").
type IOInfo struct {
	Port   uint16 // bits 16-31: the port
	In     bool   // bit 0 TYPE: IN/INS (true) or OUT/OUTS
	String bool   // bit 2 STR: INS or OUTS
	Rep    bool   // bit 3 REP: with a REP prefix
	// Size is the operand size in bytes, 1, 2 or 4 (bits 4-6, SZ8, SZ16,
	// SZ32, one-hot), or 0 if the field does not hold exactly one of them.
	Size int
	// AddrSize is the address size in bytes, 2, 4 or 8 (bits 7-9, A16,
	// A32, A64, one-hot), or 0 if the field does not hold exactly one of
	// them. It matters for INS/OUTS, whose RSI/RDI/RCX it sizes.
	AddrSize int
	// Segment is the effective segment of OUTS, bits 10-12: 0 ES, 1 CS, 2
	// SS, 3 DS, 4 FS, 5 GS (valid with decode assists).
	Segment int
}

// EXITINFO1 bits of an IOIO intercept.
const (
	ioioIn   = 1 << 0
	ioioStr  = 1 << 2
	ioioRep  = 1 << 3
	ioioSz8  = 1 << 4
	ioioSz16 = 1 << 5
	ioioSz32 = 1 << 6
	ioioA16  = 1 << 7
	ioioA32  = 1 << 8
	ioioA64  = 1 << 9
)

// DecodeIOInfo decodes EXITINFO1 of an ExitIOIO exit. EXITINFO2 of that exit
// is the RIP of the next instruction. Malformed size fields decode to 0.
func DecodeIOInfo(exitInfo1 uint64) IOInfo {
	return IOInfo{
		Port:     uint16(exitInfo1 >> 16),
		In:       exitInfo1&ioioIn != 0,
		String:   exitInfo1&ioioStr != 0,
		Rep:      exitInfo1&ioioRep != 0,
		Size:     oneHot3(exitInfo1>>4, 1, 2, 4),
		AddrSize: oneHot3(exitInfo1>>7, 2, 4, 8),
		Segment:  int(exitInfo1>>10) & 7,
	}
}

// oneHot3 returns a, b or c when exactly bit 0, 1 or 2 of v is set (the
// other bits of v are ignored), else 0.
func oneHot3(v uint64, a, b, c int) int {
	switch v & 7 {
	case 1:
		return a
	case 2:
		return b
	case 4:
		return c
	}
	return 0
}

// NPFInfo is a decoded nested page fault, an ExitNPF exit (APM vol. 2
// §15.25.6 "Nested versus Guest Page Faults, Fault Ordering"). EXITINFO1 has
// the format of a #PF error code plus bits 32 and 33; EXITINFO2 is the
// faulting guest physical address.
type NPFInfo struct {
	GPA      uint64 // EXITINFO2: the guest physical address
	Present  bool   // bit 0 P: the nested translation was present (a protection fault)
	Write    bool   // bit 1 RW: a write access
	User     bool   // bit 2 US: a user-mode access
	Reserved bool   // bit 3 RSV: a reserved bit was set in a nested page table entry
	Fetch    bool   // bit 4 ID: an instruction fetch
	Final    bool   // bit 32: the fault was on the final guest physical address
	InWalk   bool   // bit 33: the fault was on a guest page table access during the guest's walk
}

// EXITINFO1 bits of a nested page fault.
const (
	npfP      = 1 << 0
	npfRW     = 1 << 1
	npfUS     = 1 << 2
	npfRSV    = 1 << 3
	npfID     = 1 << 4
	npfFinal  = 1 << 32
	npfInWalk = 1 << 33
)

// DecodeNPF decodes EXITINFO1 and EXITINFO2 of an ExitNPF exit.
func DecodeNPF(exitInfo1, exitInfo2 uint64) NPFInfo {
	return NPFInfo{
		GPA:      exitInfo2,
		Present:  exitInfo1&npfP != 0,
		Write:    exitInfo1&npfRW != 0,
		User:     exitInfo1&npfUS != 0,
		Reserved: exitInfo1&npfRSV != 0,
		Fetch:    exitInfo1&npfID != 0,
		Final:    exitInfo1&npfFinal != 0,
		InWalk:   exitInfo1&npfInWalk != 0,
	}
}

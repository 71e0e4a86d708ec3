package vmx

// Basic exit reasons, bits 15:0 of the exit-reason field (Intel SDM vol. 3
// appendix C, table C-1 "Basic Exit Reasons"). Bit 31 of the field says the
// VM entry failed (ExitReasonEntryFail).
const (
	ReasonException     = 0  // exception or NMI (ExitIntrInfo says which)
	ReasonExtInt        = 1  // external interrupt
	ReasonTripleFault   = 2  // triple fault
	ReasonINIT          = 3  // INIT signal
	ReasonSIPI          = 4  // start-up IPI
	ReasonIOSMI         = 5  // I/O SMI
	ReasonOtherSMI      = 6  // other SMI
	ReasonIntrWindow    = 7  // interrupt window
	ReasonNMIWindow     = 8  // NMI window
	ReasonTaskSwitch    = 9  // task switch
	ReasonCPUID         = 10 // CPUID
	ReasonGETSEC        = 11 // GETSEC
	ReasonHLT           = 12 // HLT
	ReasonINVD          = 13 // INVD
	ReasonINVLPG        = 14 // INVLPG
	ReasonRDPMC         = 15 // RDPMC
	ReasonRDTSC         = 16 // RDTSC
	ReasonRSM           = 17 // RSM
	ReasonVMCALL        = 18 // VMCALL
	ReasonVMCLEAR       = 19 // VMCLEAR
	ReasonVMLAUNCH      = 20 // VMLAUNCH
	ReasonVMPTRLD       = 21 // VMPTRLD
	ReasonVMPTRST       = 22 // VMPTRST
	ReasonVMREAD        = 23 // VMREAD
	ReasonVMRESUME      = 24 // VMRESUME
	ReasonVMWRITE       = 25 // VMWRITE
	ReasonVMXOFF        = 26 // VMXOFF
	ReasonVMXON         = 27 // VMXON
	ReasonCRAccess      = 28 // control-register access (DecodeCRAccess)
	ReasonMOVDR         = 29 // MOV DR
	ReasonIO            = 30 // I/O instruction (DecodeIOQual)
	ReasonRDMSR         = 31 // RDMSR
	ReasonWRMSR         = 32 // WRMSR
	ReasonInvalidGuest  = 33 // VM-entry failure: invalid guest state
	ReasonMSRLoading    = 34 // VM-entry failure: MSR loading
	ReasonMWAIT         = 36 // MWAIT
	ReasonMTF           = 37 // monitor trap flag
	ReasonMONITOR       = 39 // MONITOR
	ReasonPAUSE         = 40 // PAUSE
	ReasonMCEntry       = 41 // VM-entry failure: machine-check event
	ReasonTPRThreshold  = 43 // TPR below threshold
	ReasonAPICAccess    = 44 // APIC access
	ReasonVirtEOI       = 45 // virtualized EOI
	ReasonGDTRIDTR      = 46 // access to GDTR or IDTR
	ReasonLDTRTR        = 47 // access to LDTR or TR
	ReasonEPTViolation  = 48 // EPT violation (DecodeEPTViolation)
	ReasonEPTMisconfig  = 49 // EPT misconfiguration
	ReasonINVEPT        = 50 // INVEPT
	ReasonRDTSCP        = 51 // RDTSCP
	ReasonPreemptTimer  = 52 // VMX-preemption timer expired
	ReasonINVVPID       = 53 // INVVPID
	ReasonWBINVD        = 54 // WBINVD or WBNOINVD
	ReasonXSETBV        = 55 // XSETBV
	ReasonAPICWrite     = 56 // APIC write
	ReasonRDRAND        = 57 // RDRAND
	ReasonINVPCID       = 58 // INVPCID
	ReasonVMFUNC        = 59 // VMFUNC
	ReasonENCLS         = 60 // ENCLS
	ReasonRDSEED        = 61 // RDSEED
	ReasonPMLFull       = 62 // page-modification log full
	ReasonXSAVES        = 63 // XSAVES
	ReasonXRSTORS       = 64 // XRSTORS
	ExitReasonEntryFail = 1 << 31
)

var reasonNames = [...]string{
	ReasonException: "EXCEPTION_NMI", ReasonExtInt: "EXTERNAL_INTERRUPT", ReasonTripleFault: "TRIPLE_FAULT",
	ReasonINIT: "INIT", ReasonSIPI: "SIPI", ReasonIOSMI: "IO_SMI", ReasonOtherSMI: "OTHER_SMI",
	ReasonIntrWindow: "INTERRUPT_WINDOW", ReasonNMIWindow: "NMI_WINDOW", ReasonTaskSwitch: "TASK_SWITCH",
	ReasonCPUID: "CPUID", ReasonGETSEC: "GETSEC", ReasonHLT: "HLT", ReasonINVD: "INVD", ReasonINVLPG: "INVLPG",
	ReasonRDPMC: "RDPMC", ReasonRDTSC: "RDTSC", ReasonRSM: "RSM", ReasonVMCALL: "VMCALL", ReasonVMCLEAR: "VMCLEAR",
	ReasonVMLAUNCH: "VMLAUNCH", ReasonVMPTRLD: "VMPTRLD", ReasonVMPTRST: "VMPTRST", ReasonVMREAD: "VMREAD",
	ReasonVMRESUME: "VMRESUME", ReasonVMWRITE: "VMWRITE", ReasonVMXOFF: "VMXOFF", ReasonVMXON: "VMXON",
	ReasonCRAccess: "CR_ACCESS", ReasonMOVDR: "DR_ACCESS", ReasonIO: "IO_INSTRUCTION", ReasonRDMSR: "MSR_READ",
	ReasonWRMSR: "MSR_WRITE", ReasonInvalidGuest: "INVALID_GUEST_STATE", ReasonMSRLoading: "MSR_LOADING",
	ReasonMWAIT: "MWAIT", ReasonMTF: "MONITOR_TRAP_FLAG", ReasonMONITOR: "MONITOR", ReasonPAUSE: "PAUSE",
	ReasonMCEntry: "MCE_DURING_VMENTRY", ReasonTPRThreshold: "TPR_BELOW_THRESHOLD", ReasonAPICAccess: "APIC_ACCESS",
	ReasonVirtEOI: "EOI_INDUCED", ReasonGDTRIDTR: "GDTR_IDTR", ReasonLDTRTR: "LDTR_TR",
	ReasonEPTViolation: "EPT_VIOLATION", ReasonEPTMisconfig: "EPT_MISCONFIG", ReasonINVEPT: "INVEPT",
	ReasonRDTSCP: "RDTSCP", ReasonPreemptTimer: "PREEMPTION_TIMER", ReasonINVVPID: "INVVPID",
	ReasonWBINVD: "WBINVD", ReasonXSETBV: "XSETBV", ReasonAPICWrite: "APIC_WRITE", ReasonRDRAND: "RDRAND",
	ReasonINVPCID: "INVPCID", ReasonVMFUNC: "VMFUNC", ReasonENCLS: "ENCLS", ReasonRDSEED: "RDSEED",
	ReasonPMLFull: "PML_FULL", ReasonXSAVES: "XSAVES", ReasonXRSTORS: "XRSTORS",
}

// ReasonName returns the name of a basic exit reason (Linux's
// EXIT_REASON_* names without the prefix), or "UNKNOWN". It never
// allocates.
func ReasonName(r uint32) string {
	r &= 0xffff
	if int(r) < len(reasonNames) && reasonNames[r] != "" {
		return reasonNames[r]
	}
	return "UNKNOWN"
}

// VM-instruction error numbers (SDM vol. 3 §31.4, table 31-1), read from
// VMInstructionError after a VMfailValid.
var insnErrors = [...]string{
	1:  "VMCALL executed in VMX root operation",
	2:  "VMCLEAR with invalid physical address",
	3:  "VMCLEAR with VMXON pointer",
	4:  "VMLAUNCH with non-clear VMCS",
	5:  "VMRESUME with non-launched VMCS",
	6:  "VMRESUME after VMXOFF",
	7:  "VM entry with invalid control field(s)",
	8:  "VM entry with invalid host-state field(s)",
	9:  "VMPTRLD with invalid physical address",
	10: "VMPTRLD with VMXON pointer",
	11: "VMPTRLD with incorrect VMCS revision identifier",
	12: "VMREAD/VMWRITE from/to unsupported VMCS component",
	13: "VMWRITE to read-only VMCS component",
	15: "VMXON executed in VMX root operation",
	16: "VM entry with invalid executive-VMCS pointer",
	17: "VM entry with non-launched executive VMCS",
	18: "VM entry with executive-VMCS pointer not VMXON pointer",
	19: "VMCALL with non-clear VMCS",
	20: "VMCALL with invalid VM-exit control fields",
	22: "VMCALL with incorrect MSEG revision identifier",
	23: "VMXOFF under dual-monitor treatment of SMIs and SMM",
	24: "VMCALL with invalid SMM-monitor features",
	25: "VM entry with invalid VM-execution control fields in executive VMCS",
	26: "VM entry with events blocked by MOV SS",
	28: "invalid operand to INVEPT/INVVPID",
}

// InsnErrorName describes VM-instruction error n.
func InsnErrorName(n uint64) string {
	if n < uint64(len(insnErrors)) && insnErrors[n] != "" {
		return insnErrors[n]
	}
	return "unknown VM-instruction error"
}

// IOQual is a decoded exit qualification of an I/O-instruction exit (SDM
// vol. 3 §28.2.1, table 28-5).
type IOQual struct {
	Size   int  // bits 2:0: access size - 1 (0, 1 or 3); 0 here if another value
	In     bool // bit 3: IN/INS
	String bool // bit 4: INS/OUTS
	Rep    bool // bit 5: REP prefix
	Imm    bool // bit 6: port from an immediate (else DX)
	Port   uint16
}

// DecodeIOQual decodes the exit qualification of ReasonIO.
func DecodeIOQual(q uint64) IOQual {
	io := IOQual{In: q&(1<<3) != 0, String: q&(1<<4) != 0, Rep: q&(1<<5) != 0, Imm: q&(1<<6) != 0, Port: uint16(q >> 16)}
	switch q & 7 {
	case 0:
		io.Size = 1
	case 1:
		io.Size = 2
	case 3:
		io.Size = 4
	}
	return io
}

// EPTViolation is a decoded exit qualification of ReasonEPTViolation (SDM
// vol. 3 §28.2.1, table 28-7). The faulting GPA is in GuestPhysAddr.
type EPTViolation struct {
	Read, Write, Fetch bool // bits 0-2: the access that faulted
	// Present: the GPA was mapped (bits 3-5, the entry's read, write or
	// execute permission, are not all clear): a permission fault.
	Present   bool
	LinearOK  bool // bit 7: the guest-linear address field is valid
	FinalAddr bool // bit 8 (with bit 7): the access was to the final translation, not a guest page-table walk
}

// DecodeEPTViolation decodes the exit qualification of ReasonEPTViolation.
func DecodeEPTViolation(q uint64) EPTViolation {
	return EPTViolation{Read: q&1 != 0, Write: q&2 != 0, Fetch: q&4 != 0, Present: q&0x38 != 0,
		LinearOK: q&(1<<7) != 0, FinalAddr: q&(1<<8) != 0}
}

// CRAccess is a decoded exit qualification of ReasonCRAccess (SDM vol. 3
// §28.2.1, table 28-3).
type CRAccess struct {
	CR   int // bits 3:0
	Type int // bits 5:4: CRMovTo, CRMovFrom, CRCLTS, CRLMSW
	Reg  int // bits 11:8: the general-purpose register (x86 encoding order)
	// LMSWData is the LMSW source operand, bits 31:16.
	LMSWData uint16
}

// Access types of CRAccess.Type.
const (
	CRMovTo   = 0
	CRMovFrom = 1
	CRCLTS    = 2
	CRLMSW    = 3
)

// DecodeCRAccess decodes the exit qualification of ReasonCRAccess.
func DecodeCRAccess(q uint64) CRAccess {
	return CRAccess{CR: int(q & 15), Type: int(q>>4) & 3, Reg: int(q>>8) & 15, LMSWData: uint16(q >> 16)}
}

package vmx

// VMCS field encodings (Intel SDM vol. 3, appendix B "Field Encoding in
// VMCS"). An encoding is structured (SDM §25.11.2, table 25-21): bit 0 the
// access type (0 full, 1 the high 32 bits of a 64-bit field), bits 9:1 the
// index, bits 11:10 the type (0 control, 1 VM-exit information, 2 guest
// state, 3 host state), bits 14:13 the width (0 16-bit, 1 64-bit, 2 32-bit,
// 3 natural width). vmcs_test.go checks every constant below against the
// width and type its name block declares, and spot-checks values against
// appendix B.

// Field is a VMCS field encoding, the operand of VMREAD and VMWRITE.
type Field uint32

// Width and Type decode an encoding's structure.
func (f Field) Width() int { return int(f>>13) & 3 }
func (f Field) Type() int  { return int(f>>10) & 3 }

// Widths and types of table 25-21.
const (
	Width16      = 0
	Width64      = 1
	Width32      = 2
	WidthNatural = 3

	TypeControl = 0
	TypeExit    = 1 // VM-exit information (read-only)
	TypeGuest   = 2
	TypeHost    = 3
)

// 16-bit fields (appendix B.1).
const (
	VPID Field = 0x0000 // virtual-processor identifier (control)

	GuestESSel   Field = 0x0800
	GuestCSSel   Field = 0x0802
	GuestSSSel   Field = 0x0804
	GuestDSSel   Field = 0x0806
	GuestFSSel   Field = 0x0808
	GuestGSSel   Field = 0x080A
	GuestLDTRSel Field = 0x080C
	GuestTRSel   Field = 0x080E

	HostESSel Field = 0x0C00
	HostCSSel Field = 0x0C02
	HostSSSel Field = 0x0C04
	HostDSSel Field = 0x0C06
	HostFSSel Field = 0x0C08
	HostGSSel Field = 0x0C0A
	HostTRSel Field = 0x0C0C
)

// 64-bit fields (appendix B.2).
const (
	IOBitmapAAddr   Field = 0x2000
	IOBitmapBAddr   Field = 0x2002
	MSRBitmapAddr   Field = 0x2004
	ExitMSRStoreAdr Field = 0x2006
	ExitMSRLoadAdr  Field = 0x2008
	EntryMSRLoadAdr Field = 0x200A
	TSCOffset       Field = 0x2010
	EPTPointer      Field = 0x201A

	GuestPhysAddr Field = 0x2400 // read-only: the GPA of an EPT violation

	VMCSLinkPointer Field = 0x2800
	GuestDebugCtl   Field = 0x2802
	GuestPAT        Field = 0x2804
	GuestEFER       Field = 0x2806
	GuestPDPTE0     Field = 0x280A
	GuestPDPTE1     Field = 0x280C
	GuestPDPTE2     Field = 0x280E
	GuestPDPTE3     Field = 0x2810

	HostPAT  Field = 0x2C00
	HostEFER Field = 0x2C02
)

// 32-bit fields (appendix B.3).
const (
	PinControls        Field = 0x4000
	ProcControls       Field = 0x4002
	ExceptionBitmap    Field = 0x4004
	PFErrorCodeMask    Field = 0x4006
	PFErrorCodeMatch   Field = 0x4008
	CR3TargetCount     Field = 0x400A
	ExitControls       Field = 0x400C
	ExitMSRStoreCount  Field = 0x400E
	ExitMSRLoadCount   Field = 0x4010
	EntryControls      Field = 0x4012
	EntryMSRLoadCount  Field = 0x4014
	EntryIntrInfo      Field = 0x4016
	EntryExceptionCode Field = 0x4018
	EntryInsnLen       Field = 0x401A
	TPRThreshold       Field = 0x401C
	Proc2Controls      Field = 0x401E

	VMInstructionError Field = 0x4400
	ExitReason         Field = 0x4402
	ExitIntrInfo       Field = 0x4404
	ExitIntrErrorCode  Field = 0x4406
	IDTVectoringInfo   Field = 0x4408
	IDTVectoringError  Field = 0x440A
	ExitInsnLen        Field = 0x440C
	ExitInsnInfo       Field = 0x440E

	GuestESLimit          Field = 0x4800
	GuestCSLimit          Field = 0x4802
	GuestSSLimit          Field = 0x4804
	GuestDSLimit          Field = 0x4806
	GuestFSLimit          Field = 0x4808
	GuestGSLimit          Field = 0x480A
	GuestLDTRLimit        Field = 0x480C
	GuestTRLimit          Field = 0x480E
	GuestGDTRLimit        Field = 0x4810
	GuestIDTRLimit        Field = 0x4812
	GuestESAR             Field = 0x4814
	GuestCSAR             Field = 0x4816
	GuestSSAR             Field = 0x4818
	GuestDSAR             Field = 0x481A
	GuestFSAR             Field = 0x481C
	GuestGSAR             Field = 0x481E
	GuestLDTRAR           Field = 0x4820
	GuestTRAR             Field = 0x4822
	GuestInterruptibility Field = 0x4824
	GuestActivityState    Field = 0x4826
	GuestSysenterCS       Field = 0x482A

	HostSysenterCS Field = 0x4C00
)

// Natural-width fields (appendix B.4).
const (
	CR0GuestHostMask Field = 0x6000
	CR4GuestHostMask Field = 0x6002
	CR0ReadShadow    Field = 0x6004
	CR4ReadShadow    Field = 0x6006

	ExitQualification Field = 0x6400
	GuestLinearAddr   Field = 0x640A

	GuestCR0          Field = 0x6800
	GuestCR3          Field = 0x6802
	GuestCR4          Field = 0x6804
	GuestESBase       Field = 0x6806
	GuestCSBase       Field = 0x6808
	GuestSSBase       Field = 0x680A
	GuestDSBase       Field = 0x680C
	GuestFSBase       Field = 0x680E
	GuestGSBase       Field = 0x6810
	GuestLDTRBase     Field = 0x6812
	GuestTRBase       Field = 0x6814
	GuestGDTRBase     Field = 0x6816
	GuestIDTRBase     Field = 0x6818
	GuestDR7          Field = 0x681A
	GuestRSP          Field = 0x681C
	GuestRIP          Field = 0x681E
	GuestRFLAGS       Field = 0x6820
	GuestPendingDebug Field = 0x6822
	GuestSysenterESP  Field = 0x6824
	GuestSysenterEIP  Field = 0x6826

	HostCR0         Field = 0x6C00
	HostCR3         Field = 0x6C02
	HostCR4         Field = 0x6C04
	HostFSBase      Field = 0x6C06
	HostGSBase      Field = 0x6C08
	HostTRBase      Field = 0x6C0A
	HostGDTRBase    Field = 0x6C0C
	HostIDTRBase    Field = 0x6C0E
	HostSysenterESP Field = 0x6C10
	HostSysenterEIP Field = 0x6C12
	HostRSP         Field = 0x6C14
	HostRIP         Field = 0x6C16
)

// Seg names a guest segment register; its four fields are at fixed strides
// from ES's (appendix B: the encodings of ES, CS, SS, DS, FS, GS, LDTR, TR
// are consecutive index values in each group).
type Seg int

const (
	SegES Seg = iota
	SegCS
	SegSS
	SegDS
	SegFS
	SegGS
	SegLDTR
	SegTR
)

// Fields of guest segment s.
func (s Seg) Selector() Field { return GuestESSel + Field(2*s) }
func (s Seg) Limit() Field    { return GuestESLimit + Field(2*s) }
func (s Seg) AR() Field       { return GuestESAR + Field(2*s) }
func (s Seg) Base() Field     { return GuestESBase + Field(2*s) }

// Segment access rights (SDM §25.4.1, table 25-2): descriptor bits 40-47
// in bits 7:0 (type, S, DPL, P), bits 52-55 in 15:12 (AVL, L, D/B, G), and
// bit 16 "unusable".
const (
	ARL        = 1 << 13
	ARDB       = 1 << 14
	ARUnusable = 1 << 16

	ARCode32   = 0xC09B // flat 32-bit code: G, D, P, S, execute/read, accessed
	ARData     = 0xC093 // flat 32-bit data: G, B, P, S, read/write, accessed
	ARCode64   = 0xA09B // 64-bit code: G, L, P, S, execute/read, accessed
	ARBusyTSS  = 0x008B // busy 32/64-bit TSS: P, type 11
	ARLDT      = 0x0082 // LDT: P, type 2
	ARRealCode = 0x009B // real mode after INIT: P, S, execute/read, accessed
	ARRealData = 0x0093 // P, S, read/write, accessed
)

// Guest interruptibility state bits (SDM §25.4.2, table 25-3).
const (
	BlockingSTI   = 1 << 0
	BlockingMOVSS = 1 << 1
	BlockingSMI   = 1 << 2
	BlockingNMI   = 1 << 3
)

// VM-entry interruption-information and IDT-vectoring / VM-exit
// interruption-information format (SDM §25.8.3 table 25-17, §25.9.2-3):
// vector in 7:0, type in 10:8, "deliver error code" bit 11, valid bit 31.
// Bit 12 of the exit forms is "NMI unblocking due to IRET".
const (
	IntrTypeExternal   = 0
	IntrTypeNMI        = 2
	IntrTypeHWExc      = 3
	IntrTypeSWInt      = 4
	IntrTypePrivSWExc  = 5
	IntrTypeSWExc      = 6
	IntrErrValid       = 1 << 11
	IntrNMIUnblockIRET = 1 << 12
	IntrValid          = 1 << 31
)

// IntrInfo encodes an event for EntryIntrInfo.
func IntrInfo(vector uint8, typ int, hasErr bool) uint32 {
	v := uint32(vector) | uint32(typ&7)<<8 | IntrValid
	if hasErr {
		v |= IntrErrValid
	}
	return v
}

// Pin-based VM-execution controls (SDM §25.6.1, table 25-5).
const (
	PinExtIntExiting = 1 << 0
	PinNMIExiting    = 1 << 3
	PinVirtualNMIs   = 1 << 5
	PinPreemptTimer  = 1 << 6
	PinPostedIntr    = 1 << 7
)

// Primary processor-based VM-execution controls (table 25-6).
const (
	ProcIntrWindow = 1 << 2
	ProcTSCOffset  = 1 << 3
	ProcHLT        = 1 << 7
	ProcINVLPG     = 1 << 9
	ProcMWAIT      = 1 << 10
	ProcRDPMC      = 1 << 11
	ProcRDTSC      = 1 << 12
	ProcCR3Load    = 1 << 15
	ProcCR3Store   = 1 << 16
	ProcCR8Load    = 1 << 19
	ProcCR8Store   = 1 << 20
	ProcTPRShadow  = 1 << 21
	ProcNMIWindow  = 1 << 22
	ProcMOVDR      = 1 << 23
	ProcUncondIO   = 1 << 24
	ProcIOBitmaps  = 1 << 25
	ProcMTF        = 1 << 27
	ProcMSRBitmaps = 1 << 28
	ProcMONITOR    = 1 << 29
	ProcPAUSE      = 1 << 30
	ProcSecondary  = 1 << 31
)

// Secondary processor-based VM-execution controls (table 25-7).
const (
	Proc2VirtAPIC     = 1 << 0
	Proc2EPT          = 1 << 1
	Proc2DescTable    = 1 << 2
	Proc2RDTSCP       = 1 << 3
	Proc2X2APIC       = 1 << 4
	Proc2VPID         = 1 << 5
	Proc2WBINVD       = 1 << 6
	Proc2Unrestricted = 1 << 7
	Proc2INVPCID      = 1 << 12
	Proc2XSAVES       = 1 << 20
)

// VM-exit controls (§25.7.1, table 25-13).
const (
	ExitSaveDebug = 1 << 2
	ExitHost64    = 1 << 9
	ExitAckIntr   = 1 << 15
	ExitSavePAT   = 1 << 18
	ExitLoadPAT   = 1 << 19
	ExitSaveEFER  = 1 << 20
	ExitLoadEFER  = 1 << 21
)

// VM-entry controls (§25.8.1, table 25-15).
const (
	EntryLoadDebug = 1 << 2
	EntryIA32e     = 1 << 9
	EntryLoadPAT   = 1 << 14
	EntryLoadEFER  = 1 << 15
)

package vmx

import (
	"errors"
	"fmt"
	"strings"
)

// MSRs of VMX (Intel SDM vol. 4 table 2-2; vol. 3 appendix A).
const (
	MSRFeatureControl   = 0x3A
	MSRVMXBasic         = 0x480
	MSRVMXPinbased      = 0x481
	MSRVMXProcbased     = 0x482
	MSRVMXExit          = 0x483
	MSRVMXEntry         = 0x484
	MSRVMXMisc          = 0x485
	MSRVMXCR0Fixed0     = 0x486
	MSRVMXCR0Fixed1     = 0x487
	MSRVMXCR4Fixed0     = 0x488
	MSRVMXCR4Fixed1     = 0x489
	MSRVMXProcbased2    = 0x48B
	MSRVMXEPTVPIDCap    = 0x48C
	MSRVMXTruePinbased  = 0x48D
	MSRVMXTrueProcbased = 0x48E
	MSRVMXTrueExit      = 0x48F
	MSRVMXTrueEntry     = 0x490
)

// IA32_FEATURE_CONTROL bits (SDM vol. 3 §24.7 "Enabling and Entering VMX
// Operation").
const (
	FeatureControlLock     = 1 << 0
	FeatureControlVMXInSMX = 1 << 1
	FeatureControlVMXOut   = 1 << 2
)

// IA32_VMX_EPT_VPID_CAP bits (SDM vol. 3 appendix A.10).
const (
	EPTCapExecOnly    = 1 << 0
	EPTCapWalk4       = 1 << 6
	EPTCapUC          = 1 << 8
	EPTCapWB          = 1 << 14
	EPTCap2M          = 1 << 16
	EPTCap1G          = 1 << 17
	EPTCapINVEPT      = 1 << 20
	EPTCapAD          = 1 << 21
	EPTCapINVEPTCtx   = 1 << 25
	EPTCapINVEPTAll   = 1 << 26
	VPIDCapINVVPID    = 1 << 32
	VPIDCapINVVPIDCtx = 1 << 41
	VPIDCapINVVPIDAll = 1 << 42
)

// Host is how detection reads the CPU: CPUID and RDMSR (arch/amd64 on
// hardware, a fake in tests). RDMSR of the VMX MSRs is only done once
// CPUID says VMX is there: they do not exist otherwise.
type Host interface {
	CPUID(leaf, sub uint32) (a, b, c, d uint32)
	Rdmsr(msr uint32) uint64
}

// Allowed is a VMX capability MSR for a control word (SDM vol. 3 appendix
// A.3-A.5): the low 32 bits are the allowed 0-settings (a set bit must be
// 1), the high 32 bits the allowed 1-settings (a clear bit must be 0).
type Allowed uint64

// Must1 are the bits the CPU requires set; May1 the bits it lets be set.
func (a Allowed) Must1() uint32 { return uint32(a) }
func (a Allowed) May1() uint32  { return uint32(a >> 32) }

// Has reports whether every bit of want may be set.
func (a Allowed) Has(want uint32) bool { return want&^a.May1() == 0 }

// Adjust computes a control word: the bits required (must, an error if the
// CPU does not allow one of them), the bits wanted when available (want),
// and the CPU's required-1 bits; every other bit 0. Nothing is hard-coded:
// a default-1 bit a TRUE_ MSR lets GoZen clear is cleared unless asked for
// (SDM appendix A.2).
func (a Allowed) Adjust(must, want uint32) (uint32, error) {
	if missing := must &^ a.May1(); missing != 0 {
		return 0, fmt.Errorf("required control bits %#x not allowed (allowed-1 %#x)", missing, a.May1())
	}
	return (must | want&a.May1() | a.Must1()) & a.May1(), nil
}

// Features is what detection found about VMX on this CPU.
type Features struct {
	Present bool // CPUID.1:ECX.VMX[bit 5]
	// FeatureControl is IA32_FEATURE_CONTROL as found (before GoZen set
	// and locked it, if firmware left it unlocked).
	FeatureControl uint64
	// Locked off: firmware locked IA32_FEATURE_CONTROL without "VMX
	// outside SMX".
	LockedOff bool

	Basic                  uint64  // IA32_VMX_BASIC
	Pin, Proc, Exit, Entry Allowed // the TRUE_ MSRs when Basic bit 55 says they exist
	Proc2                  Allowed // IA32_VMX_PROCBASED_CTLS2 (0 if secondary controls are not allowed)
	EPTVPID                uint64  // IA32_VMX_EPT_VPID_CAP (0 without EPT and VPID)
	Misc                   uint64
	CR0Fixed0, CR0Fixed1   uint64
	CR4Fixed0, CR4Fixed1   uint64
}

// Revision is the VMCS revision identifier (IA32_VMX_BASIC bits 30:0).
func (f Features) Revision() uint32 { return uint32(f.Basic) & 0x7fffffff }

// RegionSize is the VMXON/VMCS region size in bytes (bits 44:32).
func (f Features) RegionSize() int { return int(f.Basic>>32) & 0x1fff }

// TrueControls reports IA32_VMX_BASIC bit 55: the TRUE_ capability MSRs
// exist and say which default-1 controls may be cleared.
func (f Features) TrueControls() bool { return f.Basic&(1<<55) != 0 }

// Capabilities derived from the MSRs.
func (f Features) EPT() bool { return f.Proc.Has(ProcSecondary) && f.Proc2.Has(Proc2EPT) }
func (f Features) Unrestricted() bool {
	return f.Proc.Has(ProcSecondary) && f.Proc2.Has(Proc2Unrestricted)
}
func (f Features) VPID() bool        { return f.Proc.Has(ProcSecondary) && f.Proc2.Has(Proc2VPID) }
func (f Features) VirtualNMIs() bool { return f.Pin.Has(PinNMIExiting | PinVirtualNMIs) }

// Detect reads CPUID and, when VMX is present, IA32_FEATURE_CONTROL and
// the capability MSRs.
func Detect(h Host) Features {
	var f Features
	if max, _, _, _ := h.CPUID(0, 0); max < 1 {
		return f
	}
	if _, _, c, _ := h.CPUID(1, 0); c&(1<<5) == 0 {
		return f
	}
	f.Present = true
	f.FeatureControl = h.Rdmsr(MSRFeatureControl)
	f.LockedOff = f.FeatureControl&FeatureControlLock != 0 && f.FeatureControl&FeatureControlVMXOut == 0
	f.Basic = h.Rdmsr(MSRVMXBasic)
	pin, proc, exit, entry := uint32(MSRVMXPinbased), uint32(MSRVMXProcbased), uint32(MSRVMXExit), uint32(MSRVMXEntry)
	if f.TrueControls() {
		pin, proc, exit, entry = MSRVMXTruePinbased, MSRVMXTrueProcbased, MSRVMXTrueExit, MSRVMXTrueEntry
	}
	f.Pin, f.Proc, f.Exit, f.Entry = Allowed(h.Rdmsr(pin)), Allowed(h.Rdmsr(proc)), Allowed(h.Rdmsr(exit)), Allowed(h.Rdmsr(entry))
	f.Misc = h.Rdmsr(MSRVMXMisc)
	f.CR0Fixed0, f.CR0Fixed1 = h.Rdmsr(MSRVMXCR0Fixed0), h.Rdmsr(MSRVMXCR0Fixed1)
	f.CR4Fixed0, f.CR4Fixed1 = h.Rdmsr(MSRVMXCR4Fixed0), h.Rdmsr(MSRVMXCR4Fixed1)
	if f.Proc.Has(ProcSecondary) {
		f.Proc2 = Allowed(h.Rdmsr(MSRVMXProcbased2))
		// The EPT/VPID capability MSR exists only if one of them can be
		// enabled (appendix A.10).
		if f.Proc2.Has(Proc2EPT) || f.Proc2.Has(Proc2VPID) {
			f.EPTVPID = h.Rdmsr(MSRVMXEPTVPIDCap)
		}
	}
	return f
}

// Usable says why GoZen cannot use this CPU's VMX, or nil. GoZen needs
// EPT (4-level, write-back, 2 MiB leaves, INVEPT) because guest memory is
// built in EPT format, and unrestricted guest because guests start in
// 32-bit protected mode with paging off (PVH) or in real mode (start-up
// IPIs).
func (f Features) Usable() error {
	switch {
	case !f.Present:
		return errors.New("this CPU has no Intel VT-x (CPUID.1:ECX.VMX is clear)")
	case f.LockedOff:
		return fmt.Errorf("VT-x is disabled by the firmware (IA32_FEATURE_CONTROL %#x is locked without \"VMX outside SMX\"): enable \"Intel Virtualization Technology\" (VT-x) in the BIOS setup", f.FeatureControl)
	case f.Basic&(1<<48) != 0:
		return errors.New("this CPU's VMX limits VMCS addresses to 32 bits (IA32_VMX_BASIC bit 48)")
	case f.RegionSize() == 0 || f.RegionSize() > 4096:
		return fmt.Errorf("this CPU's VMCS region size %d is not in 1-4096", f.RegionSize())
	case (f.Basic>>50)&15 != 6:
		return errors.New("this CPU's VMX does not access VMCS regions write-back (IA32_VMX_BASIC bits 53:50)")
	case !f.EPT():
		return errors.New("this CPU's VT-x has no extended page tables (EPT): GoZen needs them")
	case !f.Unrestricted():
		return errors.New("this CPU's VT-x has no unrestricted guest mode: GoZen needs it (guests start with paging off)")
	case f.EPTVPID&EPTCapWalk4 == 0, f.EPTVPID&EPTCapWB == 0:
		return fmt.Errorf("this CPU's EPT lacks 4-level tables or write-back memory (IA32_VMX_EPT_VPID_CAP %#x)", f.EPTVPID)
	case f.EPTVPID&EPTCap2M == 0:
		return fmt.Errorf("this CPU's EPT has no 2 MiB pages (IA32_VMX_EPT_VPID_CAP %#x)", f.EPTVPID)
	case f.EPTVPID&EPTCapINVEPT == 0 || f.EPTVPID&(EPTCapINVEPTCtx|EPTCapINVEPTAll) == 0:
		return fmt.Errorf("this CPU's VT-x has no INVEPT (IA32_VMX_EPT_VPID_CAP %#x)", f.EPTVPID)
	case !f.Pin.Has(PinExtIntExiting) || !f.Exit.Has(ExitHost64) || !f.Proc.Has(ProcIOBitmaps|ProcMSRBitmaps|ProcHLT):
		return errors.New("this CPU's VT-x lacks a control GoZen needs (external-interrupt exiting, 64-bit host, I/O or MSR bitmaps, HLT exiting)")
	case !f.Entry.Has(EntryLoadEFER|EntryLoadPAT) || !f.Exit.Has(ExitLoadEFER|ExitSaveEFER|ExitLoadPAT|ExitSavePAT):
		return errors.New("this CPU's VT-x cannot switch EFER and PAT (VM-entry/exit load/save IA32_EFER and IA32_PAT)")
	}
	return nil
}

func (f Features) String() string {
	var on []string
	for _, x := range []struct {
		ok   bool
		name string
	}{{f.EPT(), "ept"}, {f.Unrestricted(), "unrestricted-guest"}, {f.VPID(), "vpid"},
		{f.EPTVPID&EPTCap2M != 0, "ept-2m"}, {f.EPTVPID&EPTCap1G != 0, "ept-1g"}, {f.EPTVPID&EPTCapAD != 0, "ept-ad"},
		{f.EPTVPID&EPTCapINVEPTCtx != 0, "invept-ctx"}, {f.EPTVPID&VPIDCapINVVPID != 0, "invvpid"},
		{f.VirtualNMIs(), "virtual-nmi"}, {f.TrueControls(), "true-ctls"},
		{f.Proc2.Has(Proc2RDTSCP), "rdtscp"}, {f.Proc2.Has(Proc2INVPCID), "invpcid"}} {
		if x.ok {
			on = append(on, x.name)
		}
	}
	return fmt.Sprintf("VMX revision %#x, VMCS %d bytes, features: %s", f.Revision(), f.RegionSize(), strings.Join(on, " "))
}

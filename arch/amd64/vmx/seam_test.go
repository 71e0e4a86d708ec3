package vmx

import (
	"strings"
	"testing"

	"gozen/hv/backend"
	"gozen/hv/x86"
	"gozen/mm/npt"
)

var _ backend.Backend = (*Backend)(nil)
var _ backend.VCPU = (*VCPU)(nil)

// fakeVMCS is a VMCS as a map; fields never written read as 0.
type fakeVMCS map[Field]uint64

func (m fakeVMCS) read(f Field) (uint64, bool)  { return m[f], true }
func (m fakeVMCS) write(f Field, x uint64) bool { m[f] = x; return true }

// testVCPU is a vCPU over a fake VMCS with the masks of skylake.
func testVCPU(t *testing.T) (*VCPU, fakeVMCS) {
	f := Detect(skylake(t))
	c, err := ComputeControls(f)
	if err != nil {
		t.Fatal(err)
	}
	b := &Backend{feat: f, ctl: c}
	b.cr0Must, b.cr0May = GuestCR0Fixed(f)
	b.cr4Must, b.cr4May = GuestCR4Fixed(f)
	m := fakeVMCS{}
	v := &VCPU{b: b, vmcs: m, msrs: make([]msrEntry, len(switchedMSRs)), proc: c.Proc, entry: c.Entry}
	m[CR0GuestHostMask] = ownedMask(b.cr0Must, b.cr0May)
	m[CR4GuestHostMask] = ownedMask(b.cr4Must, b.cr4May)
	return v, m
}

func TestBackendSeam(t *testing.T) {
	var b Backend
	if b.HypercallInsn() != [3]byte{0x0f, 0x01, 0xc1} {
		t.Errorf("hypercall instruction % x, want VMCALL 0f 01 c1", b.HypercallInsn())
	}
	if b.PagingFormat() != npt.EPT || b.Name() != "vmx" {
		t.Errorf("paging format %v, name %s", b.PagingFormat(), b.Name())
	}
	v, m := testVCPU(t)
	v.SetTSCOffset(0xfffffff000000000)
	v.SetPAT(0x0606060606060606)
	if m[TSCOffset] != 0xfffffff000000000 || m[GuestPAT] != 0x0606060606060606 || v.PAT() != m[GuestPAT] {
		t.Errorf("TSC offset %#x, PAT %#x", m[TSCOffset], m[GuestPAT])
	}
	// EFER.LMA and the IA-32e mode guest entry control move together.
	v.SetEFER(x86.EFERLME | x86.EFERLMA | x86.EFERNXE)
	if m[GuestEFER] != x86.EFERLME|x86.EFERLMA|x86.EFERNXE || m[EntryControls]&EntryIA32e == 0 || v.Paging().EFER != m[GuestEFER] {
		t.Errorf("EFER %#x entry controls %#x", m[GuestEFER], m[EntryControls])
	}
	v.SetEFER(x86.EFERLME)
	if m[EntryControls]&EntryIA32e != 0 {
		t.Error("IA-32e mode guest kept with EFER.LMA clear")
	}
}

// The PVH entry state: protected mode with paging off, CR0.NE forced on in
// the CPU but read back as the guest's own value; flat segments.
func TestPVHEntry(t *testing.T) {
	v, m := testVCPU(t)
	v.SetPVHEntry(0x100000, 0x1000)
	if m[GuestCR0] != cr0PE|cr0ET|cr0NE || m[CR0ReadShadow] != cr0PE|cr0ET || v.Paging().CR0 != cr0PE|cr0ET {
		t.Errorf("CR0 %#x shadow %#x guest view %#x", m[GuestCR0], m[CR0ReadShadow], v.Paging().CR0)
	}
	if m[GuestCR4] != cr4VMXE || v.Paging().CR4 != 0 {
		t.Errorf("CR4 %#x guest view %#x", m[GuestCR4], v.Paging().CR4)
	}
	if m[GuestCSAR] != ARCode32 || m[GuestCSLimit] != 0xffffffff || m[GuestSSAR] != ARData || m[GuestTRAR] != ARBusyTSS ||
		m[GuestRIP] != 0x100000 || v.regs[x86.RBX] != 0x1000 || m[GuestRFLAGS] != 2 {
		t.Errorf("segments or registers: %v", m)
	}
	if v.Mode() != x86.Mode32 || v.CPL() != 0 {
		t.Errorf("mode %v cpl %d", v.Mode(), v.CPL())
	}
	v.SetStartupEntry(0x9a)
	if m[GuestCSSel] != 0x9a00 || m[GuestCSBase] != 0x9a000 || m[GuestRIP] != 0 || m[GuestCR0]&cr0PE != 0 || v.Mode() != x86.Mode16 {
		t.Errorf("start-up entry: cs %#x base %#x cr0 %#x mode %v", m[GuestCSSel], m[GuestCSBase], m[GuestCR0], v.Mode())
	}
}

func TestInjection(t *testing.T) {
	v, m := testVCPU(t)
	v.SetPVHEntry(0x100000, 0x1000)
	// #GP pushes an error code in protected mode; #UD never does, whatever
	// the caller says (VM entry fails on a mismatch).
	v.InjectException(13, 0x18, true)
	if m[EntryIntrInfo] != uint64(IntrInfo(13, IntrTypeHWExc, true)) || m[EntryExceptionCode] != 0x18 {
		t.Errorf("#GP: %#x code %#x", m[EntryIntrInfo], m[EntryExceptionCode])
	}
	v.InjectException(6, 0, true)
	if m[EntryIntrInfo]&IntrErrValid != 0 {
		t.Error("#UD with an error code")
	}
	// Real mode: no error codes at all.
	v.SetStartupEntry(0x10)
	v.InjectException(13, 0, true)
	if m[EntryIntrInfo]&IntrErrValid != 0 {
		t.Error("#GP with an error code in real mode")
	}
	// Interruptible needs IF, no STI/MOV SS blocking, nothing queued.
	m[EntryIntrInfo] = 0
	m[GuestRFLAGS] = 2 | x86.RFLAGSIF
	if !v.Interruptible() {
		t.Error("not interruptible with IF set")
	}
	m[GuestInterruptibility] = BlockingSTI
	if v.Interruptible() || v.InjectNMI() {
		t.Error("interruptible or NMI taken in an STI shadow")
	}
	v.SetRIP(0x10) // moving past the instruction ends the shadow
	if !v.Interruptible() {
		t.Error("shadow kept after SetRIP")
	}
	v.InjectInterrupt(0x30)
	if v.Interruptible() || m[EntryIntrInfo] != 0x80000030 {
		t.Errorf("after injecting: entry info %#x", m[EntryIntrInfo])
	}
	if v.InjectNMI() {
		t.Error("NMI overwrote a queued interrupt")
	}
	m[EntryIntrInfo] = 0
	m[GuestInterruptibility] = BlockingNMI
	if v.InjectNMI() {
		t.Error("NMI injected while NMIs are blocked")
	}
	m[GuestInterruptibility] = 0
	if !v.InjectNMI() || m[EntryIntrInfo] != uint64(IntrInfo(2, IntrTypeNMI, false)) {
		t.Errorf("NMI: %#x", m[EntryIntrInfo])
	}
	v.RequestInterruptWindow()
	if m[ProcControls]&ProcIntrWindow == 0 {
		t.Error("interrupt-window exiting not set")
	}
}

// Exits become the same backend.Exit kinds SVM produces.
func TestExitDecoding(t *testing.T) {
	v, m := testVCPU(t)
	v.SetPVHEntry(0x100000, 0x1000)
	m[GuestRIP] = 0x2000
	for _, c := range []struct {
		name  string
		set   map[Field]uint64
		regs  func(r *x86.Regs)
		check func(e backend.Exit) bool
	}{
		{"cpuid", map[Field]uint64{ExitReason: ReasonCPUID, ExitInsnLen: 2}, nil,
			func(e backend.Exit) bool { return e.Reason == backend.ExitCPUID && e.InsnLen == 2 }},
		{"vmcall", map[Field]uint64{ExitReason: ReasonVMCALL, ExitInsnLen: 3}, nil,
			func(e backend.Exit) bool { return e.Reason == backend.ExitHypercall && e.InsnLen == 3 }},
		{"hlt", map[Field]uint64{ExitReason: ReasonHLT, ExitInsnLen: 1}, nil,
			func(e backend.Exit) bool { return e.Reason == backend.ExitHLT && e.InsnLen == 1 }},
		{"out", map[Field]uint64{ExitReason: ReasonIO, ExitQualification: 0xe9 << 16, ExitInsnLen: 1}, nil,
			func(e backend.Exit) bool {
				return e.Reason == backend.ExitIO && e.Port == 0xe9 && e.Size == 1 && !e.In && e.IONextRIP == 0x2001
			}},
		{"wrmsr", map[Field]uint64{ExitReason: ReasonWRMSR, ExitInsnLen: 2}, func(r *x86.Regs) { r[x86.RCX] = 0x1b },
			func(e backend.Exit) bool { return e.Reason == backend.ExitMSRWrite && e.MSR == 0x1b }},
		{"rdmsr", map[Field]uint64{ExitReason: ReasonRDMSR, ExitInsnLen: 2}, func(r *x86.Regs) { r[x86.RCX] = 0xc0000080 },
			func(e backend.Exit) bool { return e.Reason == backend.ExitMSRRead && e.MSR == 0xc0000080 }},
		{"ept", map[Field]uint64{ExitReason: ReasonEPTViolation, ExitQualification: 1<<1 | 1<<3, GuestPhysAddr: 0xfee00030}, nil,
			func(e backend.Exit) bool {
				return e.Reason == backend.ExitNPF && e.GPA == 0xfee00030 && e.Write && e.Present && !e.Fetch && e.InsnLen == 0
			}},
		{"triple", map[Field]uint64{ExitReason: ReasonTripleFault}, nil,
			func(e backend.Exit) bool { return e.Reason == backend.ExitShutdown }},
		{"extint", map[Field]uint64{ExitReason: ReasonExtInt}, nil,
			func(e backend.Exit) bool { return e.Reason == backend.ExitNone }},
		{"#MC", map[Field]uint64{ExitReason: ReasonException, ExitIntrInfo: uint64(IntrInfo(18, IntrTypeHWExc, false))}, nil,
			func(e backend.Exit) bool { return e.Reason == backend.ExitException && e.Vector == 18 }},
		{"entry failure", map[Field]uint64{ExitReason: ReasonInvalidGuest | ExitReasonEntryFail}, nil,
			func(e backend.Exit) bool {
				return e.Reason == backend.ExitInvalid && strings.Contains(e.Detail, "INVALID_GUEST_STATE")
			}},
		{"xsetbv", map[Field]uint64{ExitReason: ReasonXSETBV}, nil,
			func(e backend.Exit) bool { return e.Reason == backend.ExitUnhandled && e.Code == ReasonXSETBV }},
		{"vmxon", map[Field]uint64{ExitReason: ReasonVMXON}, nil,
			func(e backend.Exit) bool {
				return e.Reason == backend.ExitNone && m[EntryIntrInfo] == uint64(IntrInfo(6, IntrTypeHWExc, false))
			}},
	} {
		m[EntryIntrInfo], m[IDTVectoringInfo] = 0, 0
		for f, x := range c.set {
			m[f] = x
		}
		if c.regs != nil {
			c.regs(&v.regs)
		}
		if e := v.exit(); !c.check(e) {
			t.Errorf("%s: %+v", c.name, e)
		}
		for f := range c.set {
			delete(m, f)
		}
	}
	// An exit during event delivery re-injects the event, software
	// interrupts with their instruction length.
	m[ExitReason] = ReasonEPTViolation
	m[IDTVectoringInfo] = uint64(IntrInfo(0x80, IntrTypeSWInt, false))
	m[ExitInsnLen] = 2
	v.exit()
	if m[EntryIntrInfo] != uint64(IntrInfo(0x80, IntrTypeSWInt, false)) || m[EntryInsnLen] != 2 {
		t.Errorf("re-injection: info %#x len %d", m[EntryIntrInfo], m[EntryInsnLen])
	}
	m[IDTVectoringInfo] = uint64(IntrInfo(14, IntrTypeHWExc, true))
	m[IDTVectoringError] = 2
	v.exit()
	if m[EntryIntrInfo] != uint64(IntrInfo(14, IntrTypeHWExc, true)) || m[EntryExceptionCode] != 2 {
		t.Errorf("#PF re-injection: info %#x code %#x", m[EntryIntrInfo], m[EntryExceptionCode])
	}
	// The first MOV DR ends MOV-DR exiting.
	m[IDTVectoringInfo] = 0
	m[ExitReason] = ReasonMOVDR
	if e := v.exit(); e.Reason != backend.ExitNone || m[ProcControls]&ProcMOVDR != 0 || !v.drUsed {
		t.Errorf("MOV DR: %+v proc %#x", e, m[ProcControls])
	}
	// The interrupt window closes its own exiting.
	v.RequestInterruptWindow()
	m[ExitReason] = ReasonIntrWindow
	if e := v.exit(); e.Reason != backend.ExitNone || m[ProcControls]&ProcIntrWindow != 0 {
		t.Errorf("interrupt window: %+v proc %#x", e, m[ProcControls])
	}
}

// A guest MOV to CR0 that sets NE (owned by GoZen) exits and is emulated:
// the CPU keeps NE, the guest reads its value; setting PG with EFER.LME
// enters long mode (EFER.LMA and IA-32e mode guest); bad values get #GP.
func TestCRAccess(t *testing.T) {
	v, m := testVCPU(t)
	v.SetPVHEntry(0x100000, 0x1000)
	m[GuestRIP] = 0x1000
	v.regs[x86.RAX] = cr0PE | cr0ET | cr0NE
	v.crAccess(CRAccess{CR: 0, Type: CRMovTo, Reg: x86.RAX}, 3)
	if m[GuestCR0] != cr0PE|cr0ET|cr0NE || m[CR0ReadShadow] != cr0PE|cr0ET|cr0NE || m[GuestRIP] != 0x1003 {
		t.Errorf("MOV CR0: cr0 %#x shadow %#x rip %#x", m[GuestCR0], m[CR0ReadShadow], m[GuestRIP])
	}
	// Long mode: PAE on (a CR4 value the guest may write), LME, then PG.
	v.setCR4(cr4PAE)
	v.SetEFER(x86.EFERLME)
	v.regs[x86.RCX] = cr0PE | cr0PG
	v.crAccess(CRAccess{CR: 0, Type: CRMovTo, Reg: x86.RCX}, 3)
	if m[GuestEFER]&x86.EFERLMA == 0 || m[EntryControls]&EntryIA32e == 0 || m[GuestCR0] != cr0PE|cr0PG|cr0NE || v.Paging().CR0 != cr0PE|cr0PG {
		t.Errorf("long mode: efer %#x entry %#x cr0 %#x", m[GuestEFER], m[EntryControls], m[GuestCR0])
	}
	// PG without PE: #GP, RIP unchanged.
	rip := m[GuestRIP]
	v.regs[x86.RDX] = cr0PG
	v.crAccess(CRAccess{CR: 0, Type: CRMovTo, Reg: x86.RDX}, 3)
	if m[GuestRIP] != rip || m[EntryIntrInfo] != uint64(IntrInfo(13, IntrTypeHWExc, true)) {
		t.Errorf("PG without PE: rip %#x entry %#x", m[GuestRIP], m[EntryIntrInfo])
	}
	// CR4.VMXE from the guest: #GP.
	m[EntryIntrInfo] = 0
	v.regs[x86.RBX] = cr4PAE | cr4VMXE
	v.crAccess(CRAccess{CR: 4, Type: CRMovTo, Reg: x86.RBX}, 3)
	if m[EntryIntrInfo]&IntrValid == 0 || m[CR4ReadShadow] != cr4PAE {
		t.Errorf("CR4.VMXE: entry %#x shadow %#x", m[EntryIntrInfo], m[CR4ReadShadow])
	}
	// CR8 is the guest's own: written, read back, never the host's.
	v.regs[x86.R9] = 7
	v.crAccess(CRAccess{CR: 8, Type: CRMovTo, Reg: x86.R9}, 4)
	v.crAccess(CRAccess{CR: 8, Type: CRMovFrom, Reg: x86.R10}, 4)
	if v.regs[x86.R10] != 7 {
		t.Errorf("CR8 reads %d", v.regs[x86.R10])
	}
}

// A VM exit stores the guest's EFER.LMA into the IA-32e mode guest
// control; leaving long mode afterwards must clear the control the CPU
// set, not a stale copy.
func TestIA32eFollowsTheCPU(t *testing.T) {
	v, m := testVCPU(t)
	v.SetPVHEntry(0x100000, 0x1000)
	m[EntryControls] |= EntryIA32e // the guest enabled paging with LME set, without an exit
	m[GuestEFER] = x86.EFERLME | x86.EFERLMA
	v.SetEFER(x86.EFERLME)
	if m[EntryControls]&EntryIA32e != 0 {
		t.Errorf("entry controls %#x: IA-32e mode guest left set with EFER.LMA clear", m[EntryControls])
	}
}

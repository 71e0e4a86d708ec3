package vmx

import (
	"strings"
	"testing"
)

// fakeHost answers CPUID leaf 1 and RDMSR from tables; reading an MSR it
// does not have fails the test (the CPU would #GP).
type fakeHost struct {
	t    *testing.T
	ecx1 uint32
	msrs map[uint32]uint64
	read map[uint32]bool
}

func (h *fakeHost) CPUID(leaf, sub uint32) (a, b, c, d uint32) {
	switch leaf {
	case 0:
		return 0xd, 0, 0, 0
	case 1:
		return 0, 0, h.ecx1, 0
	}
	return 0, 0, 0, 0
}

func (h *fakeHost) Rdmsr(msr uint32) uint64 {
	v, ok := h.msrs[msr]
	if !ok {
		h.t.Errorf("RDMSR %#x: no such MSR on this CPU", msr)
	}
	if h.read == nil {
		h.read = map[uint32]bool{}
	}
	h.read[msr] = true
	return v
}

func allowed(must0, may1 uint32) uint64 { return uint64(may1)<<32 | uint64(must0) }

// skylake is a CPU like Bochs's corei7_skylake_x: TRUE controls, EPT with
// 2 MiB pages, VPID, unrestricted guest. The non-TRUE procbased MSR has
// CR3 load/store exiting as default-1; the TRUE one lets them go.
func skylake(t *testing.T) *fakeHost {
	return &fakeHost{t: t, ecx1: 1 << 5, msrs: map[uint32]uint64{
		MSRFeatureControl:   FeatureControlLock | FeatureControlVMXOut,
		MSRVMXBasic:         1<<55 | 6<<50 | 1<<54 | 4096<<32 | 0x2b,
		MSRVMXPinbased:      allowed(0x16, 0x7f),
		MSRVMXProcbased:     allowed(0x0401e172, 0xfff9fffe),
		MSRVMXExit:          allowed(0x036dff, 0x3fefff),
		MSRVMXEntry:         allowed(0x11ff, 0xf3ff),
		MSRVMXTruePinbased:  allowed(0x16, 0x7f),
		MSRVMXTrueProcbased: allowed(0x04006172, 0xfff9fffe),
		MSRVMXTrueExit:      allowed(0x036dfb, 0x3fefff),
		MSRVMXTrueEntry:     allowed(0x11fb, 0xf3ff),
		MSRVMXMisc:          0,
		MSRVMXCR0Fixed0:     0x80000021, MSRVMXCR0Fixed1: 0xffffffff,
		MSRVMXCR4Fixed0: 0x2000, MSRVMXCR4Fixed1: 0x3767ff,
		MSRVMXProcbased2: allowed(0, 0x1010ff),
		MSRVMXEPTVPIDCap: EPTCapExecOnly | EPTCapWalk4 | EPTCapWB | EPTCap2M | EPTCapINVEPT | EPTCapINVEPTCtx | EPTCapINVEPTAll | VPIDCapINVVPID | VPIDCapINVVPIDAll | VPIDCapINVVPIDCtx,
	}}
}

func TestDetectSkylake(t *testing.T) {
	h := skylake(t)
	f := Detect(h)
	if err := f.Usable(); err != nil {
		t.Fatalf("Usable: %v", err)
	}
	if !h.read[MSRVMXTrueProcbased] || h.read[MSRVMXProcbased] {
		t.Error("with IA32_VMX_BASIC bit 55, the TRUE_ MSRs are the ones to read")
	}
	if f.Revision() != 0x2b || f.RegionSize() != 4096 || !f.EPT() || !f.Unrestricted() || !f.VPID() || !f.VirtualNMIs() {
		t.Errorf("features %+v", f)
	}
	if s := f.String(); !strings.Contains(s, "ept unrestricted-guest vpid ept-2m") {
		t.Errorf("banner %q", s)
	}
	c, err := ComputeControls(f)
	if err != nil {
		t.Fatal(err)
	}
	// Required-1 bits of each MSR are kept, required-0 bits never set.
	for _, x := range []struct {
		name string
		got  uint32
		a    Allowed
	}{{"pin", c.Pin, f.Pin}, {"proc", c.Proc, f.Proc}, {"proc2", c.Proc2, f.Proc2}, {"exit", c.Exit, f.Exit}, {"entry", c.Entry, f.Entry}} {
		if x.got&x.a.Must1() != x.a.Must1() || x.got&^x.a.May1() != 0 {
			t.Errorf("%s controls %#x break the CPU's %#x", x.name, x.got, uint64(x.a))
		}
	}
	if c.Proc&(ProcCR3Load|ProcCR3Store) != 0 {
		t.Errorf("CR3 exiting kept (%#x) although TRUE_PROCBASED lets it go", c.Proc)
	}
	if c.Proc&(ProcHLT|ProcIOBitmaps|ProcMSRBitmaps|ProcTSCOffset|ProcSecondary|ProcMOVDR|ProcCR8Load|ProcCR8Store) !=
		ProcHLT|ProcIOBitmaps|ProcMSRBitmaps|ProcTSCOffset|ProcSecondary|ProcMOVDR|ProcCR8Load|ProcCR8Store {
		t.Errorf("proc controls %#x lack what GoZen needs", c.Proc)
	}
	if c.Proc2 != Proc2EPT|Proc2Unrestricted|Proc2VPID|Proc2RDTSCP|Proc2INVPCID {
		t.Errorf("proc2 %#x", c.Proc2)
	}
	if c.Pin&(PinExtIntExiting|PinNMIExiting|PinVirtualNMIs) != PinExtIntExiting|PinNMIExiting|PinVirtualNMIs {
		t.Errorf("pin %#x", c.Pin)
	}
	if c.Exit&ExitAckIntr != 0 || c.Exit&ExitHost64 == 0 || c.Entry&EntryIA32e != 0 {
		t.Errorf("exit %#x entry %#x", c.Exit, c.Entry)
	}
	// Without TRUE controls, the default-1 CR3 exits stay.
	h = skylake(t)
	h.msrs[MSRVMXBasic] &^= 1 << 55
	delete(h.msrs, MSRVMXTrueProcbased)
	c, err = ComputeControls(Detect(h))
	if err != nil || c.Proc&(ProcCR3Load|ProcCR3Store) != ProcCR3Load|ProcCR3Store {
		t.Errorf("without TRUE controls: proc %#x, %v", c.Proc, err)
	}
}

func TestAdjust(t *testing.T) {
	a := Allowed(allowed(0x0f, 0xff))
	if got, err := a.Adjust(0x10, 0x300); err != nil || got != 0x1f {
		t.Errorf("Adjust = %#x, %v; want 0x1f (required-1 0x0f, must 0x10, wanted 0x300 not allowed)", got, err)
	}
	if _, err := a.Adjust(0x100, 0); err == nil {
		t.Error("a required bit the CPU forbids was accepted")
	}
}

// Each refusal names what is missing.
func TestUsableRefusals(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(h *fakeHost)
		want   string
	}{
		{"no vmx", func(h *fakeHost) { h.ecx1 = 0 }, "no Intel VT-x"},
		{"locked off", func(h *fakeHost) { h.msrs[MSRFeatureControl] = FeatureControlLock }, "BIOS setup"},
		{"no ept", func(h *fakeHost) { h.msrs[MSRVMXProcbased2] = allowed(0, 0x80) }, "no extended page tables"},
		{"no unrestricted", func(h *fakeHost) { h.msrs[MSRVMXProcbased2] = allowed(0, 0x22) }, "no unrestricted guest"},
		{"no 2m", func(h *fakeHost) { h.msrs[MSRVMXEPTVPIDCap] &^= EPTCap2M }, "2 MiB"},
		{"no invept", func(h *fakeHost) { h.msrs[MSRVMXEPTVPIDCap] &^= EPTCapINVEPT }, "INVEPT"},
		{"no secondary", func(h *fakeHost) { h.msrs[MSRVMXTrueProcbased] = allowed(0x04006172, 0x7ff9fffe) }, "no extended page tables"},
		{"uc vmcs", func(h *fakeHost) { h.msrs[MSRVMXBasic] &^= 15 << 50 }, "write-back"},
	} {
		h := skylake(t)
		c.change(h)
		err := Detect(h).Usable()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Usable() = %v, want an error mentioning %q", c.name, err, c.want)
		}
	}
	// No VMX: no VMX MSR is read (they do not exist).
	h := &fakeHost{t: t, msrs: map[uint32]uint64{}}
	if f := Detect(h); f.Present || len(h.read) != 0 {
		t.Errorf("without CPUID.VMX: %+v, read %v", f, h.read)
	}
	// Unlocked IA32_FEATURE_CONTROL is usable (New sets and locks it).
	h = skylake(t)
	h.msrs[MSRFeatureControl] = 0
	if err := Detect(h).Usable(); err != nil {
		t.Errorf("unlocked feature control: %v", err)
	}
}

// The guest's CR0 keeps NE (VMX-fixed) but may clear PE and PG
// (unrestricted guest); GoZen owns exactly the fixed bits.
func TestGuestCRFixed(t *testing.T) {
	f := Detect(skylake(t))
	must, may := GuestCR0Fixed(f)
	if must != cr0NE || may != 0xffffffff || ownedMask(must, may) != cr0NE {
		t.Errorf("CR0 must1 %#x may1 %#x owned %#x", must, may, ownedMask(must, may))
	}
	must, may = GuestCR4Fixed(f)
	if must != cr4VMXE || ownedMask(must, may) != cr4VMXE|^uint64(0x3767ff)&0xffffffff {
		t.Errorf("CR4 must1 %#x owned %#x", must, ownedMask(must, may))
	}
}

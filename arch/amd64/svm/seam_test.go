package svm

import (
	"gozen/arch/amd64"
	"testing"

	"gozen/hv/backend"
	"gozen/hv/x86"
	"gozen/mm/npt"
)

var _ backend.Backend = (*Backend)(nil)
var _ backend.VCPU = (*VCPU)(nil)

// What the SVM backend tells the core, and where the core's guest MSR and
// TSC settings land in the VMCB.
func TestBackendSeam(t *testing.T) {
	var b Backend
	if b.HypercallInsn() != [3]byte{0x0f, 0x01, 0xd9} {
		t.Errorf("hypercall instruction %x, want VMMCALL 0f 01 d9", b.HypercallInsn())
	}
	if b.PagingFormat() != npt.NPT {
		t.Errorf("paging format %v, want NPT", b.PagingFormat())
	}
	v := &VCPU{vmcb: new(VMCB)}
	v.SetTSCOffset(0xfffffff000000000)
	if v.vmcb.TSCOffset != 0xfffffff000000000 {
		t.Errorf("VMCB TSC_OFFSET %#x", v.vmcb.TSCOffset)
	}
	efer := uint64(x86.EFERLME | x86.EFERLMA | x86.EFERNXE)
	v.SetEFER(efer)
	if v.vmcb.EFER != efer|x86.EFERSVME {
		t.Errorf("VMCB EFER %#x: want the guest's with SVME kept set", v.vmcb.EFER)
	}
	if got := v.Paging().EFER; got != efer {
		t.Errorf("guest EFER reads %#x, want %#x (SVME hidden)", got, efer)
	}
	v.SetPAT(0x0606060606060606)
	if v.vmcb.GPAT != 0x0606060606060606 || v.PAT() != v.vmcb.GPAT {
		t.Errorf("G_PAT %#x, PAT() %#x", v.vmcb.GPAT, v.PAT())
	}
}

// A start-up IPI's entry state: real mode at vector<<12, INIT's reset
// values, nothing left queued from before.
func TestStartupEntry(t *testing.T) {
	v := &VCPU{vmcb: new(VMCB)}
	v.SetPVHEntry(0x100000, 0x1000)
	v.vmcb.EventInj = EventInjection(0x20, EventExtIntr, 0, false)
	v.RequestInterruptWindow()
	v.regs[x86.RAX] = 7
	v.SetStartupEntry(0x9a)
	c := v.vmcb
	if c.CS.Selector != 0x9a00 || c.CS.Base != 0x9a000 || c.CS.Limit != 0xffff || c.CS.Attrib != 0x9b || c.RIP != 0 {
		t.Errorf("CS %+v RIP %#x, want 9a00:0000 based at 0x9a000", c.CS, c.RIP)
	}
	if c.DS.Base != 0 || c.DS.Limit != 0xffff || c.DS.Attrib != 0x93 || c.SS.Attrib != 0x93 {
		t.Errorf("DS %+v SS %+v", c.DS, c.SS)
	}
	if c.CR0 != 0x10 || c.CR3 != 0 || c.CR4 != 0 || c.EFER != amd64.EFERSVME || c.RFLAGS != 2 {
		t.Errorf("cr0 %#x cr3 %#x cr4 %#x efer %#x rflags %#x", c.CR0, c.CR3, c.CR4, c.EFER, c.RFLAGS)
	}
	if v.Mode() != x86.Mode16 {
		t.Errorf("mode %v, want 16-bit", v.Mode())
	}
	if c.EventInj != 0 || c.InterceptMisc1&(1<<Misc1VINTR) != 0 || c.VIntr&(1<<8) != 0 || v.regs[x86.RAX] != 0 || v.regs[x86.RBX] != 0 {
		t.Error("state from before the INIT survived")
	}
	if !v.InjectNMI() {
		t.Fatal("NMI refused with nothing queued")
	}
	if v.InjectNMI() {
		t.Error("a second NMI overwrote the queued one")
	}
	if e := DecodeEvent(c.EventInj); !e.Valid || e.Type != EventNMI || e.Vector != 2 {
		t.Errorf("NMI injection %+v", e)
	}
}

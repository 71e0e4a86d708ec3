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

// External interrupts go in as virtual interrupts (V_IRQ with the vector,
// no VINTR intercept), never through EVENTINJ (see InjectInterrupt); one
// posted and not yet taken blocks the next and survives a window request;
// exit sees it taken, and posts again one whose delivery an exit cut
// short, as QEMU and the APM each report it.
func TestInterruptPosting(t *testing.T) {
	v := &VCPU{vmcb: new(VMCB), b: new(Backend)}
	c := v.vmcb
	c.RFLAGS = amd64.RFLAGSIF | amd64.RFLAGSReserved
	if !v.Interruptible() {
		t.Fatal("IF set, nothing queued: not interruptible")
	}
	posted := func(vec uint8) bool {
		return c.VIntr&VIntrIRQ != 0 && c.VIntr&VIntrIgnTPR != 0 && c.VIntr&VIntrPrioMask == VIntrPrioMask &&
			uint8(c.VIntr>>VIntrVectorShift) == vec && c.InterceptMisc1&(1<<Misc1VINTR) == 0 && c.EventInj == 0
	}
	v.InjectInterrupt(0xf3)
	if !posted(0xf3) {
		t.Fatalf("VIntr %#x intercepts %#x EventInj %#x: want vector 0xf3 posted in V_IRQ", c.VIntr, c.InterceptMisc1, c.EventInj)
	}
	if v.Interruptible() {
		t.Error("a posted interrupt does not block the next")
	}
	v.RequestInterruptWindow()
	if !posted(0xf3) {
		t.Error("a window request disturbed the posted interrupt")
	}
	// An exit before the guest took it (V_IRQ still set): still posted.
	c.ExitCode = ExitINTR
	v.exitNow()
	if !posted(0xf3) || v.Interruptible() {
		t.Error("a posted interrupt was dropped at an exit before the guest took it")
	}
	// The guest took it: V_IRQ clear at the exit.
	c.VIntr &^= VIntrIRQ
	v.exitNow()
	if !v.Interruptible() {
		t.Error("the interrupt was taken, yet the vCPU is not interruptible")
	}
	// A window request with nothing posted: V_IRQ with the intercept.
	v.RequestInterruptWindow()
	if c.VIntr&VIntrIRQ == 0 || c.InterceptMisc1&(1<<Misc1VINTR) == 0 {
		t.Errorf("window request: VIntr %#x intercepts %#x", c.VIntr, c.InterceptMisc1)
	}
	c.ExitCode = ExitVINTR
	if e := v.exitNow(); e.Reason != backend.ExitNone || c.VIntr&vIntrPost != 0 || c.InterceptMisc1&(1<<Misc1VINTR) != 0 {
		t.Errorf("VINTR exit: reason %v VIntr %#x intercepts %#x", e.Reason, c.VIntr, c.InterceptMisc1)
	}
	// Deliveries cut short by an exit.
	for _, tc := range []struct {
		name     string
		info     uint64
		post     uint8
		eventInj uint64
	}{
		{"interrupt (APM)", EventInjection(0x31, EventExtIntr, 0, false), 0x31, 0},
		{"interrupt (QEMU: an exception above 31)", EventInjection(0xf3, EventException, 0, false), 0xf3, 0},
		{"page fault", EventInjection(14, EventException, 2, true), 0, EventInjection(14, EventException, 2, true)},
		{"NMI", EventInjection(2, EventNMI, 0, false), 0, EventInjection(2, EventNMI, 0, false)},
	} {
		v := &VCPU{vmcb: new(VMCB), b: new(Backend)}
		c := v.vmcb
		c.ExitCode = ExitNPF
		c.ExitIntInfo = tc.info
		v.exitNow()
		if tc.post != 0 && !(c.VIntr&VIntrIRQ != 0 && uint8(c.VIntr>>VIntrVectorShift) == tc.post && c.EventInj == 0 && v.posted()) {
			t.Errorf("%s: VIntr %#x EventInj %#x, want vector %#x posted again", tc.name, c.VIntr, c.EventInj, tc.post)
		}
		if tc.post == 0 && (c.EventInj != tc.eventInj || c.VIntr&VIntrIRQ != 0) {
			t.Errorf("%s: EventInj %#x VIntr %#x, want EventInj %#x", tc.name, c.EventInj, c.VIntr, tc.eventInj)
		}
	}
	// INIT drops a posted interrupt.
	v.InjectInterrupt(0x40)
	v.SetStartupEntry(0x10)
	if c.VIntr&vIntrPost != 0 || v.posted() {
		t.Errorf("after INIT: VIntr %#x posted %v", c.VIntr, v.posted())
	}
}

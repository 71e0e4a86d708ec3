package svm

import (
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

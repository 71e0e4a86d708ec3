package hv

import (
	"gozen/abi/xen"
	"gozen/arch/amd64"
	"gozen/hv/backend"
	"gozen/hv/x86"
)

// MSRs the core emulates. Anything else raises #GP in the guest, as a CPU
// does for an MSR it does not implement.
const (
	msrTSC       = 0x10
	msrAPICBase  = 0x1B
	msrMTRRCap   = 0xFE
	msrPAT       = 0x277
	msrMTRRDef   = 0x2FF
	msrEFER      = 0xC0000080
	apicBaseBSP  = 1 << 8
	apicEnable   = 1 << 11
	apicDefault  = 0xFEE00000
	eferWritable = amd64.EFERSCE | amd64.EFERLME | 1<<10 /* LMA */ | amd64.EFERNXE
)

// ArchMSRs is implemented by backends that keep some MSRs in hardware
// state (EFER and PAT live in the VMCB on SVM).
type ArchMSRs interface {
	SetEFER(v uint64)
	PAT() uint64
	SetPAT(v uint64)
}

const gpVector = 13

func (h *Hypervisor) rdmsr(v *VCPU, e backend.Exit) {
	r := v.arch.Regs()
	var val uint64
	switch e.MSR {
	case msrTSC:
		val = amd64.Rdtsc()
	case msrAPICBase:
		val = apicDefault | apicBaseBSP | apicEnable
	case msrMTRRCap:
		val = 0
	case msrMTRRDef:
		val = 0
	case msrEFER:
		val = v.arch.Paging().EFER
	case msrPAT:
		m, ok := v.arch.(ArchMSRs)
		if !ok {
			v.arch.InjectException(gpVector, 0, true)
			return
		}
		val = m.PAT()
	default:
		v.arch.InjectException(gpVector, 0, true)
		return
	}
	r[x86.RAX] = val & 0xffffffff
	r[x86.RDX] = val >> 32
	h.skip(v, e)
}

func (h *Hypervisor) wrmsr(v *VCPU, e backend.Exit) {
	r := v.arch.Regs()
	val := r[x86.RDX]<<32 | r[x86.RAX]&0xffffffff
	m, hasArch := v.arch.(ArchMSRs)
	switch e.MSR {
	case msrEFER:
		if val&^eferWritable != 0 || !hasArch {
			v.arch.InjectException(gpVector, 0, true)
			return
		}
		m.SetEFER(val)
	case msrPAT:
		if !hasArch || !validPAT(val) {
			v.arch.InjectException(gpVector, 0, true)
			return
		}
		m.SetPAT(val)
	case HypercallPageMSR:
		if !h.fillHypercallPage(v, val) {
			v.arch.InjectException(gpVector, 0, true)
			return
		}
	case msrAPICBase, msrMTRRDef, msrTSC:
		// Accepted and ignored: there is no APIC to move and no MTRRs.
	default:
		v.arch.InjectException(gpVector, 0, true)
		return
	}
	h.skip(v, e)
}

// validPAT checks that every PAT entry holds a defined memory type.
func validPAT(v uint64) bool {
	for i := 0; i < 8; i++ {
		switch (v >> (8 * i)) & 0xff {
		case 0, 1, 4, 5, 6, 7:
		default:
			return false
		}
	}
	return true
}

// fillHypercallPage writes Xen's hypercall page into the guest page whose
// address is in val (low 12 bits: page index, only 0 exists), with stubs
// for the backend's hypercall instruction (abi/xen.FillHypercallPage).
func (h *Hypervisor) fillHypercallPage(v *VCPU, val uint64) bool {
	if val&0xfff != 0 {
		return false
	}
	var page [xen.HypercallPageSize]byte
	xen.FillHypercallPage(page[:], h.be.Name() == "svm")
	return v.dom.writeRAM(val, page[:]) == nil // Xen: a writable page of the domain's own, else #GP
}

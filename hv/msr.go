package hv

import (
	"gozen/abi/xen"
	"gozen/hv/backend"
	"gozen/hv/x86"
)

// MSRs the core emulates. Anything else raises #GP in the guest, as a CPU
// does for an MSR it does not implement.
const (
	msrTSC        = x86.MSRTSC
	msrAPICBase   = 0x1B
	msrMTRRCap    = 0xFE
	msrPAT        = x86.MSRPAT
	msrMTRRDef    = 0x2FF
	msrEFER       = x86.MSREFER
	msrDebugCtl   = 0x1D9 // IA32_DEBUGCTL (AMD: DebugCtl)
	msrMiscEnable = 0x1A0 // IA32_MISC_ENABLE: Intel only
	apicBaseBSP   = 1 << 8
	apicEnable    = 1 << 11
	apicDefault   = 0xFEE00000
	eferWritable  = x86.EFERSCE | x86.EFERLME | x86.EFERLMA | x86.EFERNXE
)

// msrAMD64NBCfg is AMD's northbridge configuration (NB_CFG). Linux 6.1 sets
// its EnableCf8ExtCfg bit on every CPU of families 0x10-0x16
// (amd_bus_cpu_online, with a plain rdmsrl), which includes the family 0x11
// hv shows for an emulated K8 (cpuid.go). Xen's HVM guests, like KVM's,
// read it as 0 and their writes are ignored (hvm_msr_read_intercept,
// hvm_msr_write_intercept): there is no northbridge behind it.
const msrAMD64NBCfg = 0xC001001F

// tscOffset is what every vCPU's TSC adds to the host's: guests count TSC
// ticks from hv's system time 0 (the pvclock anchor, time.go), so a guest
// TSC reads 0 at system time 0, the same in every domain and vCPU (Xen too
// starts an HVM guest's TSC at 0: hvm_vcpu_initialise's
// hvm_set_guest_tsc(v, 0)). One offset keeps the vCPUs of a domain in step,
// and one vcpu_time_info (tsc_timestamp 0) serves all of them.
func (h *Hypervisor) tscOffset() uint64 { return -h.clock.anchor }

// guestTSC is the TSC a guest reads now with RDTSC: the backend applies the
// same offset in hardware (backend.VCPU.SetTSCOffset).
func (h *Hypervisor) guestTSC() uint64 { return h.env.TSC() + h.tscOffset() }

const (
	dbVector = 1
	gpVector = 13
)

// DEBUGCTL bits a guest may set: LBR (bit 0) and BTF (bit 1), the ones Xen
// accepts (vmx_msr_write_intercept's reserved-bit check; svm keeps whatever
// it is given in the VMCB). hv keeps the value and reads it back, as Xen's
// SVM code does on a CPU without LBR virtualisation, but does not record
// branches or single-step on branches. Any other bit is reserved: #GP.
const debugCtlWritable = 1<<0 | 1<<1

// miscEnableGuest is the IA32_MISC_ENABLE a guest on an Intel host reads:
// fast strings on (bit 0), branch-trace store and PEBS unavailable (bits
// 11 and 12), XD disable (bit 34) clear, as Xen's guest_rdmsr reports it.
// Linux reads it first thing on Intel (verify_cpu clears XD disable). A
// write of that same value is accepted and any other is #GP (Xen's
// guest_wrmsr); on other vendors the MSR does not exist: #GP.
const miscEnableGuest = 1<<0 | 1<<11 | 1<<12

// hostIntel reports whether the host CPU (and so the guest's CPUID
// vendor) is GenuineIntel.
func (h *Hypervisor) hostIntel() bool {
	_, b, c, d := h.be.HostCPUID(0, 0)
	return b == 0x756e6547 && d == 0x49656e69 && c == 0x6c65746e // "Genu" "ineI" "ntel"
}

func (h *Hypervisor) rdmsr(v *VCPU, e *backend.Exit) {
	r := v.arch.Regs()
	var val uint64
	switch e.MSR {
	case msrTSC:
		val = h.guestTSC()
	case msrAPICBase:
		// The APIC is at its default address, globally enabled; only
		// vCPU 0 is the bootstrap processor (SDM §10.4.4).
		val = apicDefault | apicEnable
		if v.id == 0 {
			val |= apicBaseBSP
		}
	case msrMTRRCap:
		val = 0
	case msrMTRRDef:
		val = 0
	case msrEFER:
		val = v.arch.Paging().EFER
	case msrPAT:
		val = v.arch.PAT()
	case msrDebugCtl:
		val = v.xen.debugCtl
	case msrAMD64NBCfg:
		val = 0
	case msrMiscEnable:
		if !h.hostIntel() {
			v.arch.InjectException(gpVector, 0, true)
			return
		}
		val = miscEnableGuest
	default:
		v.arch.InjectException(gpVector, 0, true)
		return
	}
	r[x86.RAX] = val & 0xffffffff
	r[x86.RDX] = val >> 32
	h.skip(v, e)
}

func (h *Hypervisor) wrmsr(v *VCPU, e *backend.Exit) {
	r := v.arch.Regs()
	val := r[x86.RDX]<<32 | r[x86.RAX]&0xffffffff
	switch e.MSR {
	case msrEFER:
		if val&^eferWritable != 0 {
			v.arch.InjectException(gpVector, 0, true)
			return
		}
		v.arch.SetEFER(val)
	case msrPAT:
		if !validPAT(val) {
			v.arch.InjectException(gpVector, 0, true)
			return
		}
		v.arch.SetPAT(val)
	case msrDebugCtl:
		if val&^debugCtlWritable != 0 {
			v.arch.InjectException(gpVector, 0, true)
			return
		}
		v.xen.debugCtl = val
	case msrMiscEnable:
		if !h.hostIntel() || val != miscEnableGuest {
			v.arch.InjectException(gpVector, 0, true)
			return
		}
	case HypercallPageMSR:
		if !h.fillHypercallPage(v, val) {
			v.arch.InjectException(gpVector, 0, true)
			return
		}
	case msrAPICBase, msrMTRRDef, msrTSC, msrAMD64NBCfg:
		// Accepted and ignored: there is no APIC to move, no MTRRs and no
		// northbridge, and the guest TSC stays one clock with pvclock
		// (tscOffset).
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
// for the backend's hypercall instruction (abi/xen.FillHypercallPage with
// backend.Backend.HypercallInsn: VMMCALL on SVM, VMCALL on VT-x).
func (h *Hypervisor) fillHypercallPage(v *VCPU, val uint64) bool {
	if val&0xfff != 0 {
		return false
	}
	var page [xen.HypercallPageSize]byte
	xen.FillHypercallPage(page[:], h.be.HypercallInsn())
	if v.dom.writeRAM(val, page[:]) != nil {
		return false // Xen: a writable page of the domain's own, else #GP
	}
	h.latchSharedInfoSize(v) // as Xen's hvm_init_hypercall_page
	return true
}

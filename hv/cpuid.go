package hv

// CPUID policy: the host's view (backend.Backend.HostCPUID), filtered to
// what GoZen virtualizes, plus hypervisor leaves. Leaves
// 0x40000000-0x40000005 are Xen's (xen/arch/x86/cpuid.c
// cpuid_hypervisor_leaves), so guests find a Xen; 0x40000100 carries
// GoZen's own signature for tools that want to know.
const (
	hvLeafBase    = 0x40000000
	hvLeafMax     = 0x40000005
	gozenLeafBase = 0x40000100
	gozenLeafMax  = 0x40000101
	// XenSignature is returned in EBX, ECX, EDX of leaf 0x40000000.
	XenSignature = "XenVMMXenVMM"
	// GoZenSignature is returned in EBX, ECX, EDX of leaf 0x40000100.
	GoZenSignature = "GoZenGoZenGo"
	// HypercallPageMSR is the MSR that leaf 0x40000002 names: writing a
	// guest-physical page address to it fills that page with hypercall stubs.
	HypercallPageMSR = 0x40000000
	// Leaf 0x40000004 EAX flags (arch-x86/cpuid.h).
	xenCPUIDVCPUIDPresent = 1 << 3
	xenCPUIDDomIDPresent  = 1 << 4
)

// Feature bits hidden from guests.
const (
	leaf1ECXHidden = 1<<3 | // MONITOR/MWAIT: intercepted
		1<<5 | // VMX
		1<<26 | 1<<27 | 1<<28 // XSAVE, OSXSAVE, AVX: guests get FXSAVE state only
	leaf1ECXHypervisor = 1 << 31
	leaf1ECXx2APIC     = 1 << 21
	// TSC-deadline timer mode: not offered by the local APIC model
	// (hv/vlapic), as Xen offers it only with its MSR emulated.
	leaf1ECXTSCDeadline = 1 << 24
	// Hidden from leaf 1 EDX: no machine-check or MTRR MSRs exist (Xen
	// emulates them; GoZen does not yet). The local APIC stays visible:
	// hv emulates one (hv/vlapic, lapic.go).
	leaf1EDXHidden = 1<<7 | // MCE
		1<<12 | // MTRR
		1<<14 | // MCA
		1<<22 | // ACPI thermal MSRs
		1<<29 // TM
	leaf7EBXHidden = 1<<5 | 0xffff<<16 // AVX2 and the AVX-512 family
	ext1ECXHidden  = 1<<2 |            // SVM: no nested virtualization
		1<<3 // ExtApicSpace: the APIC model has no extended registers
)

func le32(s string) uint32 {
	return uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24
}

// cpuid answers CPUID for vCPU v (nil in tests of the static leaves).
func (h *Hypervisor) cpuid(v *VCPU, leaf, sub uint32) (a, b, c, d uint32) {
	switch {
	case leaf == hvLeafBase:
		return hvLeafMax, le32(XenSignature[0:4]), le32(XenSignature[4:8]), le32(XenSignature[8:12])
	case leaf == hvLeafBase+1:
		return XenVersion, 0, 0, 0
	case leaf == hvLeafBase+2:
		return 1, HypercallPageMSR, 0, 0 // one hypercall page, through this MSR
	case leaf == hvLeafBase+3:
		_, _, _, ext := h.cpuid(v, 0x80000001, 0)
		return h.xenTimeLeaf(sub, ext&(1<<27) != 0)
	case leaf == hvLeafBase+4:
		if v == nil {
			return xenCPUIDVCPUIDPresent | xenCPUIDDomIDPresent, 0, 0, 0
		}
		return xenCPUIDVCPUIDPresent | xenCPUIDDomIDPresent, uint32(v.id), uint32(v.dom.id), 0
	case leaf == gozenLeafBase:
		return gozenLeafMax, le32(GoZenSignature[0:4]), le32(GoZenSignature[4:8]), le32(GoZenSignature[8:12])
	case leaf == gozenLeafBase+1:
		return 0x00000001, 0, 0, 0 // GoZen 0.1
	case leaf >= hvLeafBase && leaf < 0x80000000:
		return 0, 0, 0, 0
	}
	maxBasic, _, _, _ := h.be.HostCPUID(0, 0)
	maxExt, _, _, _ := h.be.HostCPUID(0x80000000, 0)
	if (leaf < hvLeafBase && leaf > maxBasic) || (leaf >= 0x80000000 && leaf > maxExt) {
		return 0, 0, 0, 0
	}
	a, b, c, d = h.be.HostCPUID(leaf, sub)
	switch leaf {
	case 1:
		c = c&^(leaf1ECXHidden|leaf1ECXx2APIC|leaf1ECXTSCDeadline) | leaf1ECXHypervisor
		if v != nil {
			// EBX bits 24-31: the initial APIC ID, the vCPU's (smp.go).
			b = b&0x00ffffff | uint32(apicID(v.id))<<24
		}
		d &^= leaf1EDXHidden
	case 7:
		if sub == 0 {
			b &^= leaf7EBXHidden
			c, d = 0, 0
		}
	case 0xD:
		return 0, 0, 0, 0
	case 0x80000001:
		c &^= ext1ECXHidden
		d &^= 1<<7 | 1<<12 | 1<<14 // the same MCE/MTRR/MCA bits AMD mirrors here
	case 0x8000000A:
		return 0, 0, 0, 0
	}
	return a, b, c, d
}

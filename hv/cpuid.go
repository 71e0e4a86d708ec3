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
		a = h.guestSignature(a)
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
		a = h.guestSignature(a) // AMD repeats leaf 1's signature here
		c &^= ext1ECXHidden
		d &^= 1<<7 | 1<<12 | 1<<14 // the same MCE/MTRR/MCA bits AMD mirrors here
	case 0x8000000A:
		return 0, 0, 0, 0
	}
	return a, b, c, d
}

// CPU families in the signature (leaf 1 EAX): the base family in bits 8-11;
// from 0xF on, the extended family in bits 20-27 is added to it.
const (
	sigFamilyMask = 0xF<<8 | 0xFF<<20
	familyK8      = 0xF  // AMD K8: GART in the northbridge, no nested paging
	familyGuestK8 = 0x11 // what hv reports for an emulated K8 with NPT (below)
	// Leaf 0x8000000A EDX bit 0: nested paging.
	svmNPT = 1 << 0
)

// sigFamily returns the CPU family a leaf-1 EAX signature encodes.
func sigFamily(sig uint32) uint32 {
	f := sig >> 8 & 0xF
	if f == 0xF {
		f += sig >> 20 & 0xFF
	}
	return f
}

// withFamily returns sig with its family set to f (f >= 0xF).
func withFamily(sig, f uint32) uint32 {
	return sig&^sigFamilyMask | 0xF<<8 | (f-0xF)<<20
}

// guestSignature is the family/model/stepping signature guests see: the
// host's, as Xen passes it through, with one exception. An AMD host that
// says it is a K8 (family 0xF) and offers nested paging is not silicon: no
// K8 had NPT, which came with family 0x10. It is an emulator's composite
// model, QEMU's qemu64 (family 0xF, model 0x6B) with +svm,+npt, the CPU
// hv's tests run on. Told "K8", Linux 6.1 looks for the K8 northbridge's
// AGP/GART aperture before it reads ACPI (amd_gart_present(): family 0xF,
// 0x10, or 0x15 below model 0x10; early_gart_iommu_check and
// gart_iommu_hole_init each scan 256 PCI buses x 32 slots through ports
// 0xCF8/0xCFC), about 33,000 port exits for a northbridge that a domU,
// with no PCI bus, cannot have. hv reports such a CPU as family 0x11, the
// one AMD family Linux treats exactly like a K8 apart from that: the same
// vulnerability whitelist entry (cpu_vuln_whitelist: no Meltdown, SSB, L1TF,
// MDS, SWAPGS), no family-specific set-up (init_amd has no case for it),
// and no GART. Real family 0x10 and 0x15 hosts keep their family, as under
// Xen, and their domUs probe.
func (h *Hypervisor) guestSignature(sig uint32) uint32 {
	if sigFamily(sig) != familyK8 {
		return sig
	}
	_, b, c, d := h.be.HostCPUID(0, 0)
	if b != le32("Auth") || d != le32("enti") || c != le32("cAMD") {
		return sig
	}
	if maxExt, _, _, _ := h.be.HostCPUID(0x80000000, 0); maxExt < 0x8000000A {
		return sig
	}
	if _, _, _, npt := h.be.HostCPUID(0x8000000A, 0); npt&svmNPT == 0 {
		return sig
	}
	return withFamily(sig, familyGuestK8)
}

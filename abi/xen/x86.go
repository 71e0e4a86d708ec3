package xen

// x86 discovery and entry points: the Xen CPUID leaves
// (xen/include/public/arch-x86/cpuid.h), the hypercall-page MSR and page
// layout (Xen's xen/arch/x86/msr.c, hvm/svm/svm.c, hvm/vmx/vmx.c and
// domain.c), the debug-console port (arch-x86/xen.h) and the event
// callback vector Linux uses.

// CPUID leaves (arch-x86/cpuid.h). Xen's leaves start at the first
// 0x100-aligned base from 0x40000000 not taken by another interface (with
// Viridian enabled, 0x40000100). cpuid.h numbers them from 1 ("Leaf 1" is
// base+0); here they are named by offset from the base.
const (
	// XenCPUIDFirstLeaf is XEN_CPUID_FIRST_LEAF, the usual base.
	XenCPUIDFirstLeaf = 0x40000000
	// XenCPUIDLeafStride is the alignment guests step by when they scan for
	// the base (0x100).
	XenCPUIDLeafStride = 0x100
	// XenCPUIDMaxNumLeaves is XEN_CPUID_MAX_NUM_LEAVES: base+0 EAX reports
	// base + this (5) as the largest leaf.
	XenCPUIDMaxNumLeaves = 5

	// XenCPUIDSignatureEBX is XEN_CPUID_SIGNATURE_EBX, "XenV", at base+0.
	XenCPUIDSignatureEBX = 0x566e6558
	// XenCPUIDSignatureECX is XEN_CPUID_SIGNATURE_ECX, "MMXe".
	XenCPUIDSignatureECX = 0x65584d4d
	// XenCPUIDSignatureEDX is XEN_CPUID_SIGNATURE_EDX, "nVMM".
	XenCPUIDSignatureEDX = 0x4d4d566e
)

// XenCPUIDSignature is the 12-byte signature EBX, ECX, EDX of leaf base+0
// spell, in that order.
const XenCPUIDSignature = "XenVMMXenVMM"

// Leaf base+2 ("Leaf 3" in cpuid.h): EAX is the number of hypercall pages
// (always 1), EBX the base of Xen's MSRs, ECX feature bits.
const (
	// XenCPUIDFeat1MMUPTUpdatePreserveAD is
	// XEN_CPUID_FEAT1_MMU_PT_UPDATE_PRESERVE_AD (ECX bit 0, PV only).
	XenCPUIDFeat1MMUPTUpdatePreserveAD = 1 << 0
)

// Leaf base+3 ("Leaf 4" in cpuid.h), the time leaf. Linux 6.1 does not
// read it.
const (
	// XenCPUIDTSCEmulated is XEN_CPUID_TSC_EMULATED (sub-leaf 0 EAX bit 0).
	XenCPUIDTSCEmulated = 1 << 0
	// XenCPUIDHostTSCReliable is XEN_CPUID_HOST_TSC_RELIABLE (EAX bit 1).
	XenCPUIDHostTSCReliable = 1 << 1
	// XenCPUIDRDTSCPInstrAvail is XEN_CPUID_RDTSCP_INSTR_AVAIL (EAX bit 2).
	XenCPUIDRDTSCPInstrAvail = 1 << 2

	// XenCPUIDTSCModeDefault is XEN_CPUID_TSC_MODE_DEFAULT (sub-leaf 0 EBX).
	XenCPUIDTSCModeDefault = 0
	// XenCPUIDTSCModeAlwaysEmulate is XEN_CPUID_TSC_MODE_ALWAYS_EMULATE.
	XenCPUIDTSCModeAlwaysEmulate = 1
	// XenCPUIDTSCModeNeverEmulate is XEN_CPUID_TSC_MODE_NEVER_EMULATE.
	XenCPUIDTSCModeNeverEmulate = 2
	// XenCPUIDTSCModePVRDTSCP is XEN_CPUID_TSC_MODE_PVRDTSCP.
	XenCPUIDTSCModePVRDTSCP = 3
)

// Leaf base+4 ("Leaf 5" in cpuid.h), HVM features, sub-leaf 0: EAX flags;
// EBX the vCPU id and ECX the domain id when the flags say so.
const (
	// XenHVMCPUIDAPICAccessVirt is XEN_HVM_CPUID_APIC_ACCESS_VIRT: APIC
	// registers are virtualised.
	XenHVMCPUIDAPICAccessVirt = 1 << 0
	// XenHVMCPUIDX2APICVirt is XEN_HVM_CPUID_X2APIC_VIRT: x2APIC accesses
	// are virtualised.
	XenHVMCPUIDX2APICVirt = 1 << 1
	// XenHVMCPUIDIOMMUMappings is XEN_HVM_CPUID_IOMMU_MAPPINGS: memory
	// mapped from other domains has valid IOMMU entries.
	XenHVMCPUIDIOMMUMappings = 1 << 2
	// XenHVMCPUIDVCPUIDPresent is XEN_HVM_CPUID_VCPU_ID_PRESENT: EBX holds
	// the vCPU id (Linux then uses it as xen_vcpu_id).
	XenHVMCPUIDVCPUIDPresent = 1 << 3
	// XenHVMCPUIDDomIDPresent is XEN_HVM_CPUID_DOMID_PRESENT: ECX holds the
	// domain id.
	XenHVMCPUIDDomIDPresent = 1 << 4
	// XenHVMCPUIDExtDestID is XEN_HVM_CPUID_EXT_DEST_ID: IO-APIC RTE bits
	// 55:49 and MSI address bits 11:5 extend the destination id to 15 bits.
	XenHVMCPUIDExtDestID = 1 << 5
	// XenHVMCPUIDUpcallVector is XEN_HVM_CPUID_UPCALL_VECTOR: per-vCPU
	// upcall vectors (HVMOP_set_evtchn_upcall_vector) work, also with
	// PIRQs.
	XenHVMCPUIDUpcallVector = 1 << 6
)

// Leaf base+5 ("Leaf 6" in cpuid.h), PV only.
const (
	// XenCPUIDMachineAddressWidthMask is
	// XEN_CPUID_MACHINE_ADDRESS_WIDTH_MASK (sub-leaf 0 EBX bits 7-0).
	XenCPUIDMachineAddressWidthMask = 0xff
)

// The hypercall page. A guest writes the guest-physical address of a page
// to MSR XenHypercallMSR (the MSR base of leaf base+2 EBX; the low 12 bits
// would select a page index and must be 0), and Xen fills that page with
// one HypercallStubSize-byte stub per hypercall number: stub i is at byte
// 32*i. Linux before 6.1.121 (XSA-466) calls hypercall_page+32*nr; newer
// kernels issue vmcall/vmmcall themselves.
const (
	// XenHypercallMSR is the hypercall-page MSR (0x40000000; 0x40000200
	// when Viridian is enabled). Reads return 0.
	XenHypercallMSR = 0x40000000
	// XenHypercallMSRViridian is the hypercall-page MSR of a domain with
	// Viridian (Hyper-V) enlightenments, moved out of their way.
	XenHypercallMSRViridian = 0x40000200
	// HypercallStubSize is the size in bytes of each stub in the page.
	HypercallStubSize = 32
	// HypercallPageSize is the size of the hypercall page (one 4 KiB page,
	// so 128 stubs).
	HypercallPageSize = 4096
	// PageSize is the size of a frame, the unit of every gfn and gpfn in
	// the ABI (4 KiB on x86; Linux's XEN_PAGE_SIZE).
	PageSize = 4096
)

// FillHypercallPage fills page (at least HypercallPageSize bytes) the way
// Xen fills an HVM guest's hypercall page (hvm_function_table's
// init_hypercall_page): int3 (0xcc) everywhere, then at 32*i for each i
// "mov $i, %eax; <insn>; ret" (b8 <i32> <insn> c3), where insn is the
// CPU's 3-byte hypercall instruction: vmmcall (0f 01 d9) on AMD, vmcall
// (0f 01 c1) on Intel. HYPERVISOR_iret (23) is the exception: its stub is
// ud2 (0f 0b) because HVM guests may not use it. It panics if page is
// shorter than HypercallPageSize.
func FillHypercallPage(page []byte, insn [3]byte) {
	page = page[:HypercallPageSize]
	for i := range page {
		page[i] = 0xcc
	}
	for i := range HypercallPageSize / HypercallStubSize {
		s := page[i*HypercallStubSize:]
		if i == HypercallIret {
			s[0], s[1] = 0x0f, 0x0b
			continue
		}
		s[0] = 0xb8
		le.PutUint32(s[1:], uint32(i))
		s[5], s[6], s[7], s[8] = insn[0], insn[1], insn[2], 0xc3
	}
}

// HypervisorCallbackVector is the IDT vector Linux on x86 asks Xen to
// deliver event upcalls on: HYPERVISOR_CALLBACK_VECTOR, 0xf3, in Linux's
// arch/x86/include/asm/irq_vectors.h (not a Xen header; Xen accepts any
// vector). Linux sets HVM_PARAM_CALLBACK_IRQ to
// CallbackVia(HVMParamCallbackTypeVector, 0xf3) and passes the same vector
// to HVMOP_set_evtchn_upcall_vector.
const HypervisorCallbackVector = 0xf3

// XenHVMDebugconsIOPort is XEN_HVM_DEBUGCONS_IOPORT (arch-x86/xen.h): the
// "port E9 hack". Bytes written to this I/O port go to the hypervisor's
// console; a Linux domU's early console falls back to it.
const XenHVMDebugconsIOPort = 0xe9

package xen

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// CPUID leaves from xen/include/public/arch-x86/cpuid.h; the debug port from
// arch-x86/xen.h; the hypercall page as Xen's svm.c/vmx.c/domain.c fill it;
// the callback vector from Linux's arch/x86/include/asm/irq_vectors.h.

func TestX86Constants(t *testing.T) {
	checkConsts(t, []constCase{
		{"XEN_CPUID_FIRST_LEAF", XenCPUIDFirstLeaf, 0x40000000},
		{"XEN_CPUID_LEAF(1) - XEN_CPUID_LEAF(0)", 1, 1},
		{"~0x100 (Xen's base alignment)", XenCPUIDLeafStride, 0x100},
		{"XEN_CPUID_MAX_NUM_LEAVES", XenCPUIDMaxNumLeaves, 5},
		{"XEN_CPUID_SIGNATURE_EBX", XenCPUIDSignatureEBX, 0x566e6558},
		{"XEN_CPUID_SIGNATURE_ECX", XenCPUIDSignatureECX, 0x65584d4d},
		{"XEN_CPUID_SIGNATURE_EDX", XenCPUIDSignatureEDX, 0x4d4d566e},
		{"XEN_CPUID_FEAT1_MMU_PT_UPDATE_PRESERVE_AD", XenCPUIDFeat1MMUPTUpdatePreserveAD, 1},
		{"XEN_CPUID_TSC_EMULATED", XenCPUIDTSCEmulated, 1},
		{"XEN_CPUID_HOST_TSC_RELIABLE", XenCPUIDHostTSCReliable, 2},
		{"XEN_CPUID_RDTSCP_INSTR_AVAIL", XenCPUIDRDTSCPInstrAvail, 4},
		{"XEN_CPUID_TSC_MODE_DEFAULT", XenCPUIDTSCModeDefault, 0},
		{"XEN_CPUID_TSC_MODE_ALWAYS_EMULATE", XenCPUIDTSCModeAlwaysEmulate, 1},
		{"XEN_CPUID_TSC_MODE_NEVER_EMULATE", XenCPUIDTSCModeNeverEmulate, 2},
		{"XEN_CPUID_TSC_MODE_PVRDTSCP", XenCPUIDTSCModePVRDTSCP, 3},
		{"XEN_HVM_CPUID_APIC_ACCESS_VIRT", XenHVMCPUIDAPICAccessVirt, 0x1},
		{"XEN_HVM_CPUID_X2APIC_VIRT", XenHVMCPUIDX2APICVirt, 0x2},
		{"XEN_HVM_CPUID_IOMMU_MAPPINGS", XenHVMCPUIDIOMMUMappings, 0x4},
		{"XEN_HVM_CPUID_VCPU_ID_PRESENT", XenHVMCPUIDVCPUIDPresent, 0x8},
		{"XEN_HVM_CPUID_DOMID_PRESENT", XenHVMCPUIDDomIDPresent, 0x10},
		{"XEN_HVM_CPUID_EXT_DEST_ID", XenHVMCPUIDExtDestID, 0x20},
		{"XEN_HVM_CPUID_UPCALL_VECTOR", XenHVMCPUIDUpcallVector, 0x40},
		{"XEN_CPUID_MACHINE_ADDRESS_WIDTH_MASK", XenCPUIDMachineAddressWidthMask, 0xff},
		{"~hypercall page MSR (xen/arch/x86/msr.c)", XenHypercallMSR, 0x40000000},
		{"~hypercall page MSR with Viridian (msr.c)", XenHypercallMSRViridian, 0x40000200},
		{"~hypercall stub size (svm.c, vmx.c)", HypercallStubSize, 32},
		{"~PAGE_SIZE", HypercallPageSize, 4096},
		{"~HYPERVISOR_CALLBACK_VECTOR (Linux irq_vectors.h)", HypervisorCallbackVector, 0xf3},
		{"XEN_HVM_DEBUGCONS_IOPORT", XenHVMDebugconsIOPort, 0xe9},
	})
	var sig [12]byte
	binary.LittleEndian.PutUint32(sig[0:], XenCPUIDSignatureEBX)
	binary.LittleEndian.PutUint32(sig[4:], XenCPUIDSignatureECX)
	binary.LittleEndian.PutUint32(sig[8:], XenCPUIDSignatureEDX)
	if string(sig[:]) != XenCPUIDSignature {
		t.Errorf("signature registers spell %q, want %q", sig, XenCPUIDSignature)
	}
}

func TestFillHypercallPage(t *testing.T) {
	for _, c := range []struct {
		amd bool
		op  byte
	}{{true, 0xd9}, {false, 0xc1}} {
		insn := [3]byte{0x0f, 0x01, c.op}
		page := make([]byte, HypercallPageSize+1)
		page[HypercallPageSize] = 0x5a
		FillHypercallPage(page, insn)
		if page[HypercallPageSize] != 0x5a {
			t.Errorf("amd=%v: wrote past the page", c.amd)
		}
		// Stub 29 (sched_op) at 29*32 = 0x3a0.
		want := []byte{0xb8, 29, 0, 0, 0, 0x0f, 0x01, c.op, 0xc3}
		if got := page[0x3a0 : 0x3a0+9]; !bytes.Equal(got, want) {
			t.Errorf("amd=%v: stub 29 = %x, want %x", c.amd, got, want)
		}
		// Stub 127 is the last one.
		if got := page[127*32 : 127*32+9]; !bytes.Equal(got, []byte{0xb8, 127, 0, 0, 0, 0x0f, 0x01, c.op, 0xc3}) {
			t.Errorf("amd=%v: stub 127 = %x", c.amd, got)
		}
		// The iret slot is ud2 then int3 filler.
		iret := page[23*32 : 24*32]
		if iret[0] != 0x0f || iret[1] != 0x0b || !bytes.Equal(iret[2:], bytes.Repeat([]byte{0xcc}, 30)) {
			t.Errorf("amd=%v: iret slot = %x", c.amd, iret)
		}
		// The rest of each stub is int3.
		if !bytes.Equal(page[9:32], bytes.Repeat([]byte{0xcc}, 23)) {
			t.Errorf("amd=%v: stub 0 tail = %x", c.amd, page[9:32])
		}
	}
	defer func() {
		if recover() == nil {
			t.Errorf("FillHypercallPage on a short buffer did not panic")
		}
	}()
	FillHypercallPage(make([]byte, 100), [3]byte{0x0f, 0x01, 0xc1})
}

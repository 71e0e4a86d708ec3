package hv

import (
	"testing"

	"gozen/abi/xen"
	"gozen/hv/x86"
	"gozen/loader"
)

// A new domain finds its ACPI tables as a guest does: rsdp_paddr in the
// start info at ebx points at an RSDP inside a memory-map range of type
// ACPI, whose MADT lists one local APIC per vCPU.
func TestDomainGetsACPITables(t *testing.T) {
	h, be, _ := newTestHV(nil, nil)
	d, err := h.CreateDomain(DomainConfig{Name: "a", Mem: 4 << 20, VCPUs: 3, Kernel: pvhELF(insnHLT)})
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, xen.HVMStartInfoSize)
	if err := d.mem.ReadPhys(be.vcpus[0].regs[x86.RBX], buf); err != nil {
		t.Fatal(err)
	}
	var si xen.HVMStartInfo
	if err := si.Decode(buf); err != nil {
		t.Fatal(err)
	}
	if si.RsdpPaddr == 0 {
		t.Fatal("rsdp_paddr is 0")
	}
	inACPI := false
	mm := make([]byte, si.MemmapEntries*xen.HVMMemmapEntrySize)
	if err := d.mem.ReadPhys(si.MemmapPaddr, mm); err != nil {
		t.Fatal(err)
	}
	for i := range si.MemmapEntries {
		var e xen.HVMMemmapEntry
		if err := e.Decode(mm[i*xen.HVMMemmapEntrySize:]); err != nil {
			t.Fatal(err)
		}
		if e.Type == xen.MemmapTypeACPI && e.Addr <= si.RsdpPaddr && si.RsdpPaddr+36 <= e.Addr+e.Size {
			inACPI = true
		}
	}
	if !inACPI {
		t.Errorf("RSDP at %#x is not in an ACPI range of the memory map", si.RsdpPaddr)
	}
	want, _, err := loader.ACPITables(loader.ACPIBase, 3)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(want))
	if err := d.mem.ReadPhys(si.RsdpPaddr, got); err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) || string(got[:8]) != "RSD PTR " {
		t.Errorf("guest memory at rsdp_paddr does not hold the tables for 3 vCPUs")
	}
}

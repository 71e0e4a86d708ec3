package hv

import "testing"

// shared_info may be mapped at guest frame 0 like at any other RAM frame: hv
// must then keep using it (vcpu_info slots) and refuse to give it back.
func TestSharedInfoAtFrameZeroIsPinned(t *testing.T) {
	h, _, _ := newTestHV()
	d, err := h.CreateDomain(DomainConfig{Name: "t", Mem: 4 << 20, Kernel: pvhELF(insnHLT), Cmdline: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if e := h.mapSharedInfo(d, 0); e != 0 {
		t.Fatalf("add_to_physmap(shared_info) at gfn 0: errno %d", e)
	}
	if d.vcpus[0].vcpuInfo() == nil {
		t.Error("vCPU 0 has no vcpu_info slot in shared_info at gfn 0")
	}
	before := d.mem.Pages()
	if h.decreaseReservation(d, 0, 0) {
		t.Error("decrease_reservation gave back shared_info at gfn 0")
	}
	if d.mem.Pages() != before || !d.mem.IsRAM(0) {
		t.Errorf("pages %d (was %d), gfn 0 RAM %v", d.mem.Pages(), before, d.mem.IsRAM(0))
	}
	// An unused frame still goes.
	if !h.decreaseReservation(d, 0x3f0, 0) || d.mem.Pages() != before-1 {
		t.Errorf("decrease_reservation of an unused frame: pages %d, want %d", d.mem.Pages(), before-1)
	}
}

package hv

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"gozen/hv/x86"
)

// fakeIOMMU records what hv asks of the IOMMU.
type fakeIOMMU struct {
	calls   []string
	failMap bool
	pending []string // faults the next PollFaults reports
	polls   int
}

func (f *fakeIOMMU) MapDMA(gfn, mfn, n uint64, write bool) error {
	f.calls = append(f.calls, fmt.Sprintf("map %#x %#x %d %v", gfn, mfn, n, write))
	if f.failMap {
		return errors.New("no memory for an I/O page table")
	}
	return nil
}

func (f *fakeIOMMU) UnmapDMA(gfn, n uint64) error {
	f.calls = append(f.calls, fmt.Sprintf("unmap %#x %d", gfn, n))
	return nil
}

func (f *fakeIOMMU) PollFaults(log func(string)) int {
	f.polls++
	n := len(f.pending)
	for _, l := range f.pending {
		log(l)
	}
	f.pending = nil
	return n
}

func (f *fakeIOMMU) String() string { return "fake IOMMU" }

// fakePorts is the host's PCI configuration mechanism #1 for one present
// function space: CONFIG_ADDRESS latches, data reads return 0x12345678.
type fakePorts struct {
	addr uint32
	log  []string
}

func (p *fakePorts) In(port uint16, size int) uint32 {
	if port == 0xcf8 {
		return p.addr
	}
	p.log = append(p.log, fmt.Sprintf("in %#x/%d", port, size))
	return 0x12345678
}

func (p *fakePorts) Out(port uint16, size int, v uint32) {
	if port == 0xcf8 && size == 4 {
		p.addr = v
		return
	}
	p.log = append(p.log, fmt.Sprintf("out %#x/%d %#x", port, size, v))
}

func dom0WithIOMMU(t *testing.T, io IOMMU) (*Hypervisor, *Domain, *bytes.Buffer, *Dom0Config) {
	t.Helper()
	h, _, out := newTestHV()
	m := h.env.(*fakeEnv).m
	for pa := uint64(0); pa < 0x900000; pa += 4096 {
		m.frames[pa] = new([4096]byte)
	}
	c := &Dom0Config{RAM: []Range{{0, 0x9f000}, {0x100000, 0x900000}}, HostMap: qemuHostMap, IOMMU: io}
	d, err := h.CreateDomain(DomainConfig{Name: "dom0", Kernel: pvhELF(insnHLT), Dom0: c})
	if err != nil {
		t.Fatal(err)
	}
	return h, d, out, c
}

func TestDom0WithoutIOMMUWarnsOnce(t *testing.T) {
	_, _, out, _ := dom0WithIOMMU(t, nil)
	if n := strings.Count(out.String(), NoIOMMUWarning); n != 1 {
		t.Fatalf("the no-IOMMU warning appears %d times in:\n%s", n, out)
	}
	_, _, out, _ = dom0WithIOMMU(t, &fakeIOMMU{})
	if strings.Contains(out.String(), "no IOMMU") || !strings.Contains(out.String(), "device DMA translated by the fake IOMMU") {
		t.Fatalf("with an IOMMU the log says:\n%s", out)
	}
}

func TestDom0IOMMUFollowsGrantMaps(t *testing.T) {
	io := &fakeIOMMU{}
	_, d, _, _ := dom0WithIOMMU(t, io)
	const gfn, mfn = 0x40000, 0x123 // a scratch gfn above dom0's RAM
	if err := (grantMem{d}).MapForeign(gfn, mfn, true); err != nil {
		t.Fatal(err)
	}
	if err := (grantMem{d}).MapForeign(gfn+1, mfn+1, false); err != nil {
		t.Fatal(err)
	}
	if err := (grantMem{d}).UnmapForeign(gfn); err != nil {
		t.Fatal(err)
	}
	want := []string{"map 0x40000 0x123 1 false", "map 0x40001 0x124 1 true", "unmap 0x40000 1"}
	if fmt.Sprint(io.calls) != fmt.Sprint(want) {
		t.Fatalf("IOMMU calls %q, want %q", io.calls, want)
	}
	// When the IOMMU cannot follow, the grant map fails as a whole: the
	// CPU must not reach a page the devices cannot (or the reverse).
	io.failMap = true
	if err := (grantMem{d}).MapForeign(gfn+2, mfn+2, false); err == nil {
		t.Fatal("MapForeign succeeded though the IOMMU could not map")
	}
	if _, ok := d.mem.Translate((gfn + 2) * pageSize); ok {
		t.Fatal("the failed grant map stayed in dom0's p2m")
	}
}

func TestDom0IOMMUFollowsBallooning(t *testing.T) {
	io := &fakeIOMMU{}
	h, d, _, _ := dom0WithIOMMU(t, io)
	const gfn = 0x300 // dom0 RAM at 3 MiB
	if !h.decreaseReservation(d, gfn, 0) {
		t.Fatal("decrease_reservation failed")
	}
	if !h.populate(d, gfn, 0) {
		t.Fatal("populate_physmap failed")
	}
	hpa, _ := d.mem.Translate(gfn * pageSize)
	want := []string{"unmap 0x300 1", fmt.Sprintf("map 0x300 %#x 1 true", hpa/pageSize)}
	if fmt.Sprint(io.calls) != fmt.Sprint(want) {
		t.Fatalf("IOMMU calls %q, want %q", io.calls, want)
	}
}

func TestDomUGrantMapsLeaveIOMMUAlone(t *testing.T) {
	io := &fakeIOMMU{}
	h, _, _, _ := dom0WithIOMMU(t, io)
	u, err := h.CreateDomain(DomainConfig{Name: "u", Mem: 4 << 20, Kernel: pvhELF(insnHLT)})
	if err != nil {
		t.Fatal(err)
	}
	if err := (grantMem{u}).MapForeign(0x40000, 0x123, false); err != nil {
		t.Fatal(err)
	}
	if len(io.calls) != 0 {
		t.Fatalf("a domU's grant map reached the IOMMU: %q", io.calls)
	}
}

func TestPollIOMMULogsFaultsRateLimited(t *testing.T) {
	io := &fakeIOMMU{pending: []string{"IOMMU fault: device 00:1f.2 IO_PAGE_FAULT domain 0x1 address 0x1000000 (write)"}}
	h, _, out, _ := dom0WithIOMMU(t, io)
	h.pollIOMMU(1e9)
	if !strings.Contains(out.String(), "IOMMU fault: device 00:1f.2 IO_PAGE_FAULT domain 0x1 address 0x1000000") {
		t.Fatalf("fault not logged:\n%s", out)
	}
	h.pollIOMMU(1e9 + iommuPollInterval/2)
	if io.polls != 1 {
		t.Fatalf("polled %d times within one interval", io.polls)
	}
	h.pollIOMMU(1e9 + iommuPollInterval)
	if io.polls != 2 {
		t.Fatalf("polled %d times after the interval", io.polls)
	}
}

func TestDom0HiddenPCIFunction(t *testing.T) {
	h, _, _ := newTestHV()
	m := h.env.(*fakeEnv).m
	for pa := uint64(0); pa < 0x900000; pa += 4096 {
		m.frames[pa] = new([4096]byte)
	}
	ports := &fakePorts{}
	c := &Dom0Config{RAM: []Range{{0, 0x9f000}, {0x100000, 0x900000}}, HostMap: qemuHostMap,
		IOMMU: &fakeIOMMU{}, HidePCI: []PCIFunction{0x0018}, Ports: ports}
	d, err := h.CreateDomain(DomainConfig{Name: "dom0", Kernel: pvhELF(insnHLT), Dom0: c})
	if err != nil {
		t.Fatal(err)
	}
	if !d.dom0.portDenied(0xcfc) || !d.dom0.portDenied(0xcff) {
		t.Fatal("the configuration data ports do not exit")
	}
	v := d.vcpus[0]
	r := v.arch.Regs()
	cfgRead := func(bdf uint16, reg uint32, size int) uint64 {
		h.dom0IO(v, 0xcf8, false, 4, uint64(0x80000000|uint32(bdf)<<8|reg&^3))
		r[x86.RAX] = 0xdead_0000_0000_0000
		if !h.dom0IO(v, 0xcfc+uint16(reg&3), true, size, 0) {
			t.Fatal("configuration read not handled")
		}
		return r[x86.RAX]
	}
	if got := cfgRead(0x0018, 0, 4); got != 0xffffffff {
		t.Errorf("hidden function's vendor/device dword reads %#x", got)
	}
	if got := cfgRead(0x0018, 0xe, 1); got != 0xdead_0000_0000_00ff {
		t.Errorf("hidden function's header type byte reads %#x", got)
	}
	if len(ports.log) != 0 {
		t.Errorf("reads of the hidden function reached the hardware: %q", ports.log)
	}
	h.dom0IO(v, 0xcfc, false, 4, 0xffffffff) // a BAR sizing write: dropped
	if len(ports.log) != 0 {
		t.Errorf("a write to the hidden function reached the hardware: %q", ports.log)
	}
	if got := cfgRead(0x0010, 0, 4); got != 0x12345678 {
		t.Errorf("another function reads %#x, want the hardware's", got)
	}
	h.dom0IO(v, 0xcfc, false, 2, 0x7)
	if want := []string{"in 0xcfc/4", "out 0xcfc/2 0x7"}; fmt.Sprint(ports.log) != fmt.Sprint(want) {
		t.Errorf("hardware saw %q, want %q", ports.log, want)
	}
	// Without hidden functions the data ports do not exit at all.
	_, d0, _, _ := dom0WithIOMMU(t, &fakeIOMMU{})
	if d0.dom0.portDenied(0xcfc) {
		t.Error("0xCFC exits with nothing hidden")
	}
}

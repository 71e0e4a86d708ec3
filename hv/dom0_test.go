package hv

import (
	"strings"
	"testing"

	"gozen/abi/xen"
	"gozen/acpi"
	"gozen/hv/backend"
)

// qemuHostMap is QEMU pc's e820 with 2 GiB.
var qemuHostMap = []xen.E820Entry{
	{Addr: 0, Size: 0x9fc00, Type: xen.MemmapTypeRAM},
	{Addr: 0x9fc00, Size: 0x400, Type: xen.MemmapTypeReserved},
	{Addr: 0xf0000, Size: 0x10000, Type: xen.MemmapTypeReserved},
	{Addr: 0x100000, Size: 0x7fee0000, Type: xen.MemmapTypeRAM},
	{Addr: 0x7ffe0000, Size: 0x20000, Type: xen.MemmapTypeReserved},
	{Addr: 0xfffc0000, Size: 0x40000, Type: xen.MemmapTypeReserved},
}

func TestDom0MemoryMap(t *testing.T) {
	ram := []Range{{0, 0x9f000}, {0x1000000, 0x21000000}}
	got := Dom0MemoryMap(qemuHostMap, ram, []xen.E820Entry{
		{Addr: 0x1000, Size: 0x4000, Type: xen.MemmapTypeReserved},
		{Addr: 0x20ff0000, Size: 0x10000, Type: xen.MemmapTypeACPI},
	})
	want := []xen.E820Entry{
		{Addr: 0, Size: 0x1000, Type: xen.MemmapTypeRAM},
		{Addr: 0x1000, Size: 0x4000, Type: xen.MemmapTypeReserved},
		{Addr: 0x5000, Size: 0x9a000, Type: xen.MemmapTypeRAM},
		{Addr: 0x9f000, Size: 0xc00, Type: xen.MemmapTypeUnusable},
		{Addr: 0x9fc00, Size: 0x400, Type: xen.MemmapTypeReserved},
		{Addr: 0xf0000, Size: 0x10000, Type: xen.MemmapTypeReserved},
		{Addr: 0x100000, Size: 0xf00000, Type: xen.MemmapTypeUnusable},
		{Addr: 0x1000000, Size: 0x1fff0000, Type: xen.MemmapTypeRAM},
		{Addr: 0x20ff0000, Size: 0x10000, Type: xen.MemmapTypeACPI},
		{Addr: 0x21000000, Size: 0x7ffe0000 - 0x21000000, Type: xen.MemmapTypeUnusable},
		{Addr: 0x7ffe0000, Size: 0x20000, Type: xen.MemmapTypeReserved},
		{Addr: 0xfffc0000, Size: 0x40000, Type: xen.MemmapTypeReserved},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d entries: %+v", len(got), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestDom0Ports(t *testing.T) {
	denied := Dom0DeniedPorts([]backend.PortRange{{First: 0x3f8, N: 8}, {First: 0xf4, N: 4}, {First: 0x604, N: 2}, {First: 0x40, N: 2}})
	s := &dom0State{denied: denied}
	for _, c := range []struct {
		port uint16
		want bool
	}{{0x20, true}, {0x21, true}, {0x22, false}, {0x40, true}, {0x41, true}, {0x42, false}, {0x43, false}, {0x61, false}, {0xa1, true},
		{0xe9, true}, {0xf4, true}, {0xf7, true}, {0x3f8, true}, {0x3ff, true}, {0x400, false}, {0x604, true}, {0x605, true},
		{0x4d0, true}, {0xcf8, false}, {0xcf9, true}, {0xcfc, false}, {0x70, false}, {0xc000, false}} {
		if s.portDenied(c.port) != c.want {
			t.Errorf("port %#x denied = %v, want %v", c.port, !c.want, c.want)
		}
	}
	// The pass list is the exact complement.
	pass := passRanges(denied)
	covered := make([]int, 0x10000)
	for _, r := range pass {
		for p := int(r.First); p < int(r.First)+r.N; p++ {
			covered[p]++
		}
	}
	for p := 0; p < 0x10000; p++ {
		if (covered[p] == 1) == s.portDenied(uint16(p)) || covered[p] > 1 {
			t.Fatalf("port %#x: passed %d times, denied %v", p, covered[p], s.portDenied(uint16(p)))
		}
	}
	// What exits only because its span touches a kept port goes to the
	// hardware: the PCI address register; not the reset byte or hv's UART.
	for _, c := range []struct {
		port uint16
		size int
		want bool
	}{{0xcf8, 4, true}, {0xcf9, 1, false}, {0xcf8, 2, false}, {0xcfc, 4, true}, {0x3f6, 4, false}, {0x3f6, 2, true}, {0x20, 1, false}} {
		if s.forward(c.port, c.size) != c.want {
			t.Errorf("forward(%#x, %d) = %v", c.port, c.size, !c.want)
		}
	}
}

// dom0HV is a test hypervisor whose fake machine has frames for dom0's
// identity RAM: [0, 0x9f000) and [1 MiB, 9 MiB) (the test kernel loads at
// 1 MiB).
func dom0HV(t *testing.T) (*Hypervisor, *fakeBackend, *Dom0Config) {
	h, be, _ := newTestHV()
	m := h.env.(*fakeEnv).m
	for pa := uint64(0); pa < 0x900000; pa += 4096 {
		m.frames[pa] = new([4096]byte)
	}
	c := &Dom0Config{RAM: []Range{{0, 0x9f000}, {0x100000, 0x900000}}, HostMap: qemuHostMap,
		KeepPorts: []backend.PortRange{{First: 0x3f8, N: 8}}}
	return h, be, c
}

func TestCreateDom0(t *testing.T) {
	h, _, c := dom0HV(t)
	d, err := h.CreateDomain(DomainConfig{Name: "dom0", Kernel: pvhELF(insnHLT), Cmdline: "console=hvc0", Dom0: c})
	if err != nil {
		t.Fatal(err)
	}
	if !d.Privileged() || d.ev == nil || !d.ev.Privileged() {
		t.Error("dom0 not privileged")
	}
	var b [xen.HVMStartInfoSize]byte
	if err := d.mem.ReadPhys(0x1000, b[:]); err != nil {
		t.Fatal(err)
	}
	var si xen.HVMStartInfo
	si.Decode(b[:])
	if si.Flags != xen.SIFPrivileged|xen.SIFInitDomain {
		t.Errorf("start_info flags %#x", si.Flags)
	}
	if si.RsdpPaddr != 0 {
		t.Errorf("rsdp %#x without host ACPI", si.RsdpPaddr)
	}
	// Identity: guest-physical is machine.
	if hpa, ok := d.mem.Translate(0x123456); !ok || hpa != 0x123456 {
		t.Errorf("Translate = %#x, %v", hpa, ok)
	}
	g := (*guest)(d.vcpus[0])
	mm := g.MemoryMap()
	if len(mm) == 0 || mm[len(mm)-1].Type != xen.MemmapTypeReserved || !hasEntry(mm, xen.E820Entry{Addr: 0x900000, Size: 0x7ffe0000 - 0x900000, Type: xen.MemmapTypeUnusable}) {
		t.Errorf("memory map %+v", mm)
	}
	if g.Control() == nil {
		t.Error("dom0 has no Control")
	}
	fv := d.vcpus[0].arch.(*fakeVCPU)
	if len(fv.ports) == 0 || fv.ports[0] != (backend.PortRange{First: 0, N: 0x20}) {
		t.Errorf("passed ports %+v", fv.ports)
	}
	// A second dom0 is refused; a domU beside it is fine and has no
	// Control (its platform_op gets -EPERM, physdev_op -ENOSYS).
	if _, err := h.CreateDomain(DomainConfig{Name: "again", Kernel: pvhELF(insnHLT), Dom0: c}); err == nil || !strings.Contains(err.Error(), "at most one domain can be dom0") {
		t.Errorf("second dom0: %v", err)
	}
	u, err := h.CreateDomain(DomainConfig{Name: "u", Mem: 4 << 20, Kernel: pvhELF(insnHLT)})
	if err != nil {
		t.Fatal(err)
	}
	if u.Privileged() || (*guest)(u.vcpus[0]).Control() != nil {
		t.Error("domU is privileged")
	}
	// Console input goes to dom0's CONSOLEIO_read buffer.
	if n := h.consoleInput(d, []byte("ls\r")); n != 3 || string(d.dom0.input) != "ls\r" {
		t.Errorf("console input %d %q", n, d.dom0.input)
	}
	var p [8]byte
	if n := g.Control().ConsoleRead(p[:]); n != 3 || string(p[:3]) != "ls\r" {
		t.Errorf("ConsoleRead %d %q", n, p[:n])
	}
}

func TestCreateDom0WithACPI(t *testing.T) {
	h, _, c := dom0HV(t)
	c.ACPI = &acpi.Host{RSDP: acpi.RSDP{Revision: 2}, MADT: &acpi.MADT{IOAPICs: []acpi.IOAPIC{{ID: 0, Addr: 0xfec00000}}},
		FADT: &acpi.FADT{PM1aCnt: 0x604}}
	d, err := h.CreateDomain(DomainConfig{Name: "dom0", VCPUs: 2, Kernel: pvhELF(insnHLT), Dom0: c})
	if err != nil {
		t.Fatal(err)
	}
	var b [xen.HVMStartInfoSize]byte
	d.mem.ReadPhys(0x1000, b[:])
	var si xen.HVMStartInfo
	si.Decode(b[:])
	if si.RsdpPaddr != 0x900000-dom0ACPISize {
		t.Errorf("rsdp %#x", si.RsdpPaddr)
	}
	var r [8]byte
	d.mem.ReadPhys(si.RsdpPaddr, r[:])
	if string(r[:]) != "RSD PTR " {
		t.Errorf("no RSDP at %#x: %q", si.RsdpPaddr, r)
	}
	if !hasEntry((*guest)(d.vcpus[0]).MemoryMap(), xen.E820Entry{Addr: 0x900000 - dom0ACPISize, Size: dom0ACPISize, Type: xen.MemmapTypeACPI}) {
		t.Error("ACPI tables not marked ACPI")
	}
	if !d.dom0.portDenied(0x604) || d.dom0.ioapicAt(0xfec00010) == nil || !d.dom0.kept(0xfec00000, 4) || !d.dom0.kept(LAPICBase, 4) {
		t.Error("PM1 port, IO-APIC or LAPIC not kept")
	}
	// Device memory is identity-mapped on first touch, 2 MiB at a time
	// where nothing hv keeps is in the block; hv's pages are not.
	v := d.vcpus[0]
	if !h.dom0NPF(v, 0xfebc0010) {
		t.Fatal("device MMIO fault not handled")
	}
	if k, _ := d.mem.Lookup(0xfea00); k.String() != "direct MMIO" {
		t.Errorf("0xfea00000: %v", k)
	}
	if !h.dom0NPF(v, 0xfec01000) {
		t.Fatal("fault next to the IO-APIC not handled")
	}
	if k, _ := d.mem.Lookup(0xfec00); k.String() != "unbacked" {
		t.Errorf("the IO-APIC page was mapped: %v", k)
	}
	if h.dom0NPF(v, LAPICBase+0x20) || h.dom0NPF(v, 0xfec00000) {
		t.Error("a page hv keeps was mapped")
	}
	// Host RAM that is not dom0's: dom0 is crashed, not given it.
	if !h.dom0NPF(v, 0x20000000) || d.state != DomainCrashed {
		t.Errorf("touching host RAM: state %v", d.state)
	}
}

func TestDom0PowerOff(t *testing.T) {
	h, _, c := dom0HV(t)
	c.ACPI = &acpi.Host{RSDP: acpi.RSDP{Revision: 2}, FADT: &acpi.FADT{PM1aCnt: 0x604}}
	d, err := h.CreateDomain(DomainConfig{Name: "dom0", Kernel: pvhELF(insnHLT), Dom0: c})
	if err != nil {
		t.Fatal(err)
	}
	u, err := h.CreateDomain(DomainConfig{Name: "u", Mem: 4 << 20, Kernel: pvhELF(insnHLT)})
	if err != nil {
		t.Fatal(err)
	}
	if h.dom0IO(d.vcpus[0], 0x604, false, 2, 5<<10) || d.state != DomainRunning {
		t.Error("a PM1 write without SLP_EN powered off")
	}
	// dom0's ACPI power-off (SLP_EN) ends it and the domUs.
	if !h.dom0IO(d.vcpus[0], 0x604, false, 2, 1<<13|5<<10) || d.state != DomainShutdown || u.state != DomainShutdown {
		t.Errorf("power-off: states %v %v", d.state, u.state)
	}
}

func hasEntry(m []xen.E820Entry, e xen.E820Entry) bool {
	for _, x := range m {
		if x == e {
			return true
		}
	}
	return false
}

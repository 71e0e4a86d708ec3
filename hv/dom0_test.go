package hv

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

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

// powerHV builds dom0 (FADT with PM1a at 0x604 and the reset register at
// 0xcf9, \_S5 = 5/5) and two domUs: "pv", which announced PV control, and
// "bare", which did not.
func powerHV(t *testing.T) (h *Hypervisor, d0, pv, bare *Domain, out *bytes.Buffer) {
	h, _, c := dom0HV(t)
	out = h.con.out.w.(*bytes.Buffer)
	c.ACPI = &acpi.Host{RSDP: acpi.RSDP{Revision: 2}, FADT: &acpi.FADT{PM1aCnt: 0x604, ResetPort: 0xcf9, ResetValue: 0x0f}}
	c.S5 = &[2]uint8{5, 5}
	var err error
	if d0, err = h.CreateDomain(DomainConfig{Name: "dom0", Kernel: pvhELF(insnHLT), Dom0: c}); err != nil {
		t.Fatal(err)
	}
	if pv, err = h.CreateDomain(DomainConfig{Name: "pv", Mem: 4 << 20, Kernel: pvhELF(insnHLT)}); err != nil {
		t.Fatal(err)
	}
	if bare, err = h.CreateDomain(DomainConfig{Name: "bare", Mem: 4 << 20, Kernel: pvhELF(insnHLT)}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"feature-poweroff", "feature-reboot"} {
		if _, err := h.storeCall(xen.XSWrite, storeHome(pv)+"/control/"+f, "1"); err != nil {
			t.Fatal(err)
		}
	}
	return h, d0, pv, bare, out
}

func TestDom0PowerOff(t *testing.T) {
	h, d, pv, bare, out := powerHV(t)
	v := d.vcpus[0]
	if h.dom0IO(v, 0x604, false, 2, 5<<10) || d.state != DomainRunning || h.stopping != nil {
		t.Error("a PM1 write without SLP_EN powered off")
	}
	// S3 (SLP_TYP 1 here) is not supported: the write is dropped, nothing ends.
	if !h.dom0IO(v, 0x604, false, 2, 1<<13|1<<10) || d.state != DomainRunning || h.stopping != nil {
		t.Error("a sleep state other than S5 powered off")
	}
	// dom0's ACPI power-off (SLP_EN with S5's type): dom0 is paused, the
	// domU with PV control is asked to power off, the other destroyed.
	if !h.dom0IO(v, 0x604, false, 2, 1<<13|5<<10) {
		t.Fatal("SLP_EN not consumed")
	}
	if d.state != DomainPaused || pv.state != DomainRunning || h.byID(bare.id) != nil {
		t.Fatalf("after SLP_EN: dom0 %v, pv %v, bare listed %v", d.state, pv.state, h.byID(bare.id) != nil)
	}
	if got, _ := h.storeCall(xen.XSRead, storeHome(pv)+"/control/shutdown"); got != "poweroff" {
		t.Errorf("control/shutdown = %q", got)
	}
	// A second request while stopping changes nothing.
	h.machineRequest(d, MachineReboot, "again")
	if a, how := h.Machine(); a != MachinePowerOff || !strings.Contains(how, "PM1a control 0x604") {
		t.Errorf("Machine() = %v, %q", a, how)
	}
	// Still waiting for pv.
	h.checkMachineStop(h.env.Now())
	if d.state != DomainPaused {
		t.Fatal("dom0 ended before the domU did")
	}
	// pv powers off: the machine stop completes and dom0 shuts down.
	h.shutdownDomain(pv, xen.ShutdownPoweroff)
	h.checkMachineStop(h.env.Now())
	if d.state != DomainShutdown || d.shutdown != xen.ShutdownPoweroff || h.anyAlive() {
		t.Errorf("dom0 %v (%d), alive %v", d.state, d.shutdown, h.anyAlive())
	}
	for _, want := range []string{`"bare" cannot be asked to shut down`, `"pv": asked to poweroff`, "the machine will poweroff"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if _, ok := h.stopDeadline(); ok {
		t.Error("a deadline after the stop completed")
	}
}

func TestDom0PowerGrace(t *testing.T) {
	h, d, pv, _, out := powerHV(t)
	h.ShutdownGrace = 2 * time.Second
	// The keyboard controller's pulse-reset command: a reboot.
	if !h.dom0IO(d.vcpus[0], 0x64, false, 1, 0xfe) {
		t.Fatal("0x64 <- 0xfe not consumed")
	}
	// The domains are asked to power off for a machine reset too (as
	// xendomains does).
	if got, _ := h.storeCall(xen.XSRead, storeHome(pv)+"/control/shutdown"); got != "poweroff" {
		t.Errorf("control/shutdown = %q", got)
	}
	dl, ok := h.stopDeadline()
	if !ok {
		t.Fatal("no deadline")
	}
	env := h.env.(*fakeEnv)
	env.now = dl - 1e6
	h.checkMachineStop(env.now)
	if pv.state != DomainRunning || d.state != DomainPaused {
		t.Fatal("ended before the grace ran out")
	}
	// pv ignores the request: at the deadline it is destroyed, dom0 is
	// shut down with reboot, and nothing runs any more.
	env.now = dl
	h.checkMachineStop(env.now)
	if h.byID(pv.id) != nil || d.state != DomainShutdown || d.shutdown != xen.ShutdownReboot || h.anyAlive() {
		t.Errorf("after the grace: pv listed %v, dom0 %v (%d)", h.byID(pv.id) != nil, d.state, d.shutdown)
	}
	if !strings.Contains(out.String(), `"pv" did not shut down in time for the machine's reboot: destroyed`) {
		t.Errorf("log:\n%s", out)
	}
	if a, how := h.Machine(); a != MachineReboot || how != "keyboard controller: port 0x64 <- 0xfe (pulse reset)" {
		t.Errorf("Machine() = %v, %q", a, how)
	}
}

// dom0 shutting itself down ends the machine (Xen's hwdom_shutdown): a
// Linux PVH dom0's reboot is SCHEDOP_shutdown(reboot). A domU's shutdown
// ends the domU alone, and dom0's crash ends dom0 alone.
func TestDom0SchedShutdown(t *testing.T) {
	h, d, pv, bare, _ := powerHV(t)
	(*guest)(bare.vcpus[0]).Shutdown(xen.ShutdownReboot)
	if bare.state != DomainShutdown || h.stopping != nil {
		t.Fatalf("domU reboot: %v, stopping %v", bare.state, h.stopping != nil)
	}
	(*guest)(d.vcpus[0]).Shutdown(xen.ShutdownReboot)
	if a, how := h.Machine(); a != MachineReboot || how != "SCHEDOP_shutdown(reboot)" || d.state != DomainPaused {
		t.Fatalf("dom0 reboot: %v %q, dom0 %v", a, how, d.state)
	}
	h.shutdownDomain(pv, xen.ShutdownPoweroff)
	h.checkMachineStop(h.env.Now())
	if d.state != DomainShutdown || d.shutdown != xen.ShutdownReboot {
		t.Errorf("dom0 %v (%d)", d.state, d.shutdown)
	}

	h2, d2, pv2, _, _ := powerHV(t)
	(*guest)(d2.vcpus[0]).Shutdown(xen.ShutdownCrash)
	if h2.stopping != nil || d2.state != DomainShutdown || pv2.state != DomainRunning {
		t.Errorf("dom0 crash: stopping %v, dom0 %v, domU %v", h2.stopping != nil, d2.state, pv2.state)
	}
}

func TestDom0PowerWrites(t *testing.T) {
	s := &dom0State{pm1Cnt: [2]uint16{0x604, 0x608}, reset: 0xb2, resetValue: 0x0f, s5: [2]uint8{5, 7}, s5Known: true}
	for _, c := range []struct {
		port  uint16
		size  int
		val   uint64
		want  MachineAction
		sleep bool
	}{
		{0x604, 2, 1<<13 | 5<<10, MachinePowerOff, false},
		{0x604, 2, 5 << 10, MachineNone, false},      // SLP_TYP set first, no SLP_EN
		{0x604, 2, 1<<13 | 3<<10, MachineNone, true}, // S3
		{0x605, 1, 0x20 | 5<<2, MachinePowerOff, false},
		{0x604, 1, 0xff, MachineNone, false}, // the low byte holds neither bit
		{0x608, 2, 1<<13 | 7<<10, MachinePowerOff, false},
		{0x608, 2, 1<<13 | 5<<10, MachineNone, true}, // PM1b's S5 type is 7
		{0xcf9, 1, 0x02, MachineNone, false},         // SYS_RST alone resets nothing yet
		{0xcf9, 1, 0x06, MachineReboot, false},
		{0xcf9, 1, 0x0e, MachineReboot, false},
		{0xcf8, 4, 0x80000000 | 0x0e00, MachineNone, false}, // PCI CONFIG_ADDRESS
		{0xcf8, 2, 0x0600, MachineReboot, false},            // a word write covering 0xcf9
		{0x64, 1, 0xfe, MachineReboot, false},
		{0x64, 1, 0xf0, MachineReboot, false},
		{0x64, 1, 0xff, MachineNone, false}, // pulses nothing
		{0x64, 1, 0xd1, MachineNone, false}, // write output port: an ordinary command
		{0x64, 1, 0xa7, MachineNone, false},
		{0xb2, 1, 0x0f, MachineReboot, false},
		{0xb2, 1, 0x0e, MachineNone, false},
	} {
		a, how, sleep := s.powerWrite(c.port, c.size, c.val)
		if a != c.want || sleep != c.sleep || (a != MachineNone) != (how != "" && !sleep) && !sleep {
			t.Errorf("%#x <- %#x (%d bytes): %v %q sleep %v; want %v sleep %v", c.port, c.val, c.size, a, how, sleep, c.want, c.sleep)
		}
	}
	// Without a \_S5, any SLP_EN powers off.
	s.s5Known = false
	if a, how, _ := s.powerWrite(0x604, 2, 1<<13|3<<10); a != MachinePowerOff || !strings.Contains(how, "no \\_S5") {
		t.Errorf("no _S5: %v %q", a, how)
	}
}

func TestDom0WatchedPorts(t *testing.T) {
	h, _, c := dom0HV(t)
	c.ACPI = &acpi.Host{RSDP: acpi.RSDP{Revision: 2}, FADT: &acpi.FADT{PM1aCnt: 0x604, ResetPort: 0xb2, ResetValue: 1}}
	hp := &recordPorts{}
	c.Ports = hp
	d, err := h.CreateDomain(DomainConfig{Name: "dom0", Kernel: pvhELF(insnHLT), Dom0: c})
	if err != nil {
		t.Fatal(err)
	}
	s, v := d.dom0, d.vcpus[0]
	for _, p := range []uint16{0x604, 0x605, 0x64, 0xb2, 0xcf9} {
		if !s.portDenied(p) {
			t.Errorf("port %#x does not exit", p)
		}
	}
	// Reads and ordinary writes of watched ports reach the hardware; the
	// kept reset control register does not.
	h.dom0IO(v, 0x64, true, 1, 0)
	h.dom0IO(v, 0x64, false, 1, 0xd1)
	h.dom0IO(v, 0x604, false, 2, 1)
	h.dom0IO(v, 0xb2, false, 1, 0x42)
	h.dom0IO(v, 0xcf9, false, 1, 0x02)
	if got := strings.Join(hp.log, " "); got != "in 0x64/1 out 0x64/1=0xd1 out 0x604/2=0x1 out 0xb2/1=0x42" {
		t.Errorf("host port accesses: %s", got)
	}
	if h.stopping != nil {
		t.Error("an ordinary write stopped the machine")
	}
}

// recordPorts is a HostPorts that logs each access.
type recordPorts struct{ log []string }

func (r *recordPorts) In(port uint16, size int) uint32 {
	r.log = append(r.log, fmt.Sprintf("in %#x/%d", port, size))
	return 0
}

func (r *recordPorts) Out(port uint16, size int, v uint32) {
	r.log = append(r.log, fmt.Sprintf("out %#x/%d=%#x", port, size, v))
}

func hasEntry(m []xen.E820Entry, e xen.E820Entry) bool {
	for _, x := range m {
		if x == e {
			return true
		}
	}
	return false
}

package hv

// dom0: the privileged domain that owns the machine's devices (issue 9).
//
// What differs from a domU, each on the model of Xen's PVH dom0 builder
// (xen/arch/x86/hvm/dom0_build.c) unless said otherwise:
//
//   - Memory is an identity p2m: dom0's RAM is host RAM at its own
//     addresses (Dom0Config.RAM, set aside by the platform), so the bus
//     addresses its drivers give devices are right without an IOMMU
//     (dom0-toolstack.md §A.5). Xen backs dom0 with any frames and needs
//     an IOMMU for that reason.
//   - Its memory map is the host's, with RAM dom0 does not own marked
//     unusable (pvh_setup_e820), [0x1000, 0x5000) reserved as for a domU
//     (start_info, console and xenstore pages) and its new ACPI tables as
//     ACPI data.
//   - Everything that is not host RAM is identity-mapped when dom0 first
//     touches it (Xen 4.21's dom0=pf-fixup, applied to all of it), except
//     what hv keeps: the local APIC page (emulated), the IO-APICs (emulated,
//     and wired to the host's pins: dom0_irq.go), the HPET and the IOMMU.
//   - Its I/O ports reach the hardware except those hv keeps
//     (setup_io_bitmap): the PICs, 0xCF9 (reset), the
//     ACPI PM1 control ports (power-off), the debug console 0xE9 and the
//     platform's own ports (hv's UART, QEMU's debug exit). PM1 control,
//     the keyboard controller's command port and the ACPI reset port are
//     watched: they reach the hardware except for the writes that power
//     the machine off or reset it, which hv carries out (power.go).
//   - ACPI: a new RSDP/XSDT/MADT (package acpi), in dom0 RAM marked ACPI.
//   - start_info says SIF_PRIVILEGED|SIF_INITDOMAIN; its event channels
//     and grant table are privileged, and it gets the global VIRQs
//     (VIRQ_CONSOLE); platform_op, physdev_op and CONSOLEIO_read work for it
//     (hypercall.Control).

import (
	"fmt"
	"sort"

	"gozen/abi/xen"
	"gozen/acpi"
	"gozen/hv/backend"
	"gozen/hv/vioapic"
	"gozen/hv/x86"
	"gozen/hypercall"
	"gozen/loader"
	"gozen/mm/npt"
)

// Range is a physical address range [Start, End).
type Range struct{ Start, End uint64 }

// Dom0Config is what the platform tells hv about the machine for dom0.
type Dom0Config struct {
	// RAM is the host RAM dom0 owns, page aligned, sorted: dom0 sees it at
	// the same addresses. The range the kernel loads into (16 MiB up) must
	// be in it.
	RAM []Range
	// HostMap is the firmware's memory map (E820 types).
	HostMap []xen.E820Entry
	// ACPI is the host's ACPI tables (nil if none were found: dom0 then
	// gets none either).
	ACPI *acpi.Host
	// KeepMMIO are machine ranges hv keeps besides the local APIC, the
	// IO-APICs and the HPET (the IOMMU's registers).
	KeepMMIO []Range
	// KeepPorts are I/O ports the platform uses (hv's UART, a debug-exit
	// port): dom0 does not reach them.
	KeepPorts []backend.PortRange
	// IOMMU translates the DMA of the devices dom0 drives (nil: there is
	// none, and hv warns that DMA is unprotected). hv keeps it in step with
	// dom0's p2m (dom0_iommu.go).
	IOMMU IOMMU
	// HidePCI are PCI functions dom0 must not see (the IOMMU's): their
	// configuration space reads as all-ones through the 0xCF8/0xCFC ports.
	// (Their MMCONFIG pages go in KeepMMIO.)
	HidePCI []PCIFunction
	// Ports reaches the host's I/O ports, for dom0's accesses that exit only
	// because their span touches a port hv keeps, and for those to the ports
	// hv watches for power-off and reset (nil: such accesses read all-ones
	// and writes are dropped).
	Ports HostPorts
	// S5 is SLP_TYPa/b of the S5 (soft-off) sleep state, from the DSDT's
	// \_S5 (acpi.SleepType); nil if it was not found, and then any SLP_EN
	// write is taken as a power-off.
	S5 *[2]uint8
	// IRQs routes the host's device interrupts to dom0 (dom0_irq.go; nil:
	// dom0 programs its IO-APICs but no device interrupt reaches it).
	IRQs HostIRQs
	// ECAM are the host's MMCONFIG windows (the MCFG table's entries): hv
	// traps the configuration pages of functions with MSI or MSI-X there
	// (dom0_msi.go). ConfigMMIO reaches them for hv (nil: only the first
	// 256 bytes of such a page work, through the ports).
	ECAM       []acpi.MCFGEntry
	ConfigMMIO HostMMIO
}

// HostPorts performs port I/O on the host (size 1, 2 or 4).
type HostPorts interface {
	In(port uint16, size int) uint32
	Out(port uint16, size int, v uint32)
}

// dom0ACPISize is the RAM at the top of dom0's main range that holds its
// ACPI tables (marked ACPI in its memory map).
const dom0ACPISize = 64 << 10

// HPETBase is where the HPET sits when the host's tables do not say.
const HPETBase = 0xFED00000

// dom0State is what hv keeps about dom0 beyond a domU's.
type dom0State struct {
	cfg    *Dom0Config
	e820   []xen.E820Entry
	keep   []Range // MMIO hv keeps, sorted
	ioapic []dom0IOAPIC
	pm1Cnt [2]uint16 // ACPI PM1a/PM1b control ports (0: none)
	reset  uint16    // ACPI reset register port (0: none)
	// resetValue is what the FADT says to write to reset; s5 are S5's
	// SLP_TYP values when s5Known (power.go).
	resetValue uint8
	s5         [2]uint8
	s5Known    bool
	// watch are ports that exit so hv sees power-off and reset writes
	// (powerWrite); every other access to them reaches the hardware.
	watch  []backend.PortRange
	input  []byte // console input waiting for CONSOLEIO_read
	denied []backend.PortRange
	// foreign are the frames of other domains dom0 maps, by dom0 gfn
	// (toolstack.go).
	foreign map[uint64]foreignMap
	// pci traps dom0's PCI configuration accesses for its MSIs
	// (dom0_msi.go; nil: configuration passes through).
	pci *dom0PCI
}

// dom0IOAPIC is an emulated IO-APIC at a host IO-APIC's address, wired to
// the host's pins with the same GSIs (dom0_irq.go).
type dom0IOAPIC struct {
	base    uint64
	gsiBase uint32
	a       *vioapic.IOAPIC
	pins    []irqPin
}

// dom0IOAPICPins is the pin count of a dom0 IO-APIC when the platform does
// not say (the 82093AA's 24).
const dom0IOAPICPins = 24

// dom0Ports are the I/O ports hv keeps from dom0 on every machine: Xen's
// setup_io_bitmap list minus the vPCI ports (PCI configuration passes
// through: GoZen has no vPCI) and minus the PIT (0x40-0x43, 0x61).
//
// The PIT is dom0's: hv uses it only to calibrate the TSC at boot, before
// dom0 exists (Xen keeps it because it may use it as its own timer or
// broadcast source). Linux's check_timer (arch/x86/kernel/apic/io_apic.c)
// wants IRQ0 ticks through the IO-APIC (GSI 2 by the host's interrupt
// override) before it trusts the IO-APIC; with the real PIT and GSI 2
// routed like any other pin, the check passed in 3 of 4 boots under QEMU;
// once, on a heavily loaded host, no tick came in its window, so the
// scenarios still give dom0 no_timer_check. Once the Xen clockevent is installed, Linux stops the
// PIT. The PICs stay hv's (rt masked them; dom0 runs in IO-APIC mode).
var dom0Ports = []backend.PortRange{
	{First: 0x20, N: 2}, {First: 0xA0, N: 2}, // 8259A PICs
	{First: 0x4D0, N: 2}, // ELCR
	{First: 0xCF9, N: 1}, // reset control
	{First: DebugPort, N: 1},
}

// newDom0Memory builds dom0's identity p2m over cfg.Dom0.RAM.
func (h *Hypervisor) newDom0Memory(cfg DomainConfig) (*npt.Memory, error) {
	pages := p2mPoolPages(cfg) + dom0MMIOPoolPages
	mem, err := h.env.NewGuestMemory(pages)
	if err != nil {
		return nil, fmt.Errorf("no room for a %d KiB p2m pool: %w", pages*4, err)
	}
	if mem.Format() != h.be.PagingFormat() {
		mem.Release()
		return nil, fmt.Errorf("guest memory has %v tables, the %s backend needs %v", mem.Format(), h.be.Name(), h.be.PagingFormat())
	}
	mem.SetLimit(h.guestPhysLimit())
	for _, r := range cfg.Dom0.RAM {
		if err := mem.AddIdentityRAM(r.Start, r.End-r.Start); err != nil {
			mem.Release()
			return nil, fmt.Errorf("dom0 RAM [%#x, %#x): %w", r.Start, r.End, err)
		}
	}
	return mem, nil
}

// dom0MMIOPoolPages is what dom0's p2m pool holds beyond the default for
// the identity MMIO mappings: the non-RAM space below 4 GiB in 2 MiB pages
// needs a handful of tables, the 4 KiB pages around the pages hv keeps a
// few more; 2 MiB leaves room for devices above 4 GiB.
const dom0MMIOPoolPages = 512

// dom0Total is the RAM in ranges.
func dom0Total(rs []Range) uint64 {
	var n uint64
	for _, r := range rs {
		n += r.End - r.Start
	}
	return n
}

// dom0Main is the range the kernel, its ramdisk and dom0's ACPI tables go
// into: the largest (the platform gives the RAM below 640 KiB and one range
// from 16 MiB).
func dom0Main(rs []Range) Range {
	var m Range
	for _, r := range rs {
		if r.End-r.Start > m.End-m.Start {
			m = r
		}
	}
	return m
}

// checkDom0Image checks that every segment of img lies in one RAM range
// of dom0 (Image.Check's job for a domU's [0, mem)).
func checkDom0Image(img *loader.Image, rs []Range) error {
	for _, s := range img.Segments {
		end := s.Paddr + s.Memsz
		ok := false
		for _, r := range rs {
			if s.Paddr >= r.Start && end <= r.End && end >= s.Paddr {
				ok = true
			}
		}
		if !ok {
			return fmt.Errorf("segment [%#x, %#x) is not inside dom0's RAM %s (give dom0 more mem=)", s.Paddr, end, rangesString(rs))
		}
	}
	return nil
}

func rangesString(rs []Range) string {
	s := ""
	for i, r := range rs {
		if i > 0 {
			s += " "
		}
		s += fmt.Sprintf("[%#x, %#x)", r.Start, r.End)
	}
	return s
}

// Dom0MemoryMap builds dom0's E820 map: the host's, with host RAM outside
// ram marked unusable, ram as RAM, and the overlays on top (later ones
// win). Entries are sorted, merged where adjacent with the same type, and
// do not overlap.
func Dom0MemoryMap(host []xen.E820Entry, ram []Range, overlays []xen.E820Entry) []xen.E820Entry {
	type piece struct {
		s, e uint64
		typ  uint32
		prio int
	}
	var ps []piece
	for _, h := range host {
		t := h.Type
		if t == xen.MemmapTypeRAM {
			t = xen.MemmapTypeUnusable
		}
		// Where host entries overlap, the stricter (non-RAM) one wins.
		ps = append(ps, piece{h.Addr, h.Addr + h.Size, t, 1})
	}
	for _, r := range ram {
		ps = append(ps, piece{r.Start, r.End, xen.MemmapTypeRAM, 2})
	}
	for i, o := range overlays {
		ps = append(ps, piece{o.Addr, o.Addr + o.Size, o.Type, 3 + i})
	}
	var cuts []uint64
	for _, p := range ps {
		if p.e > p.s {
			cuts = append(cuts, p.s, p.e)
		}
	}
	sort.Slice(cuts, func(i, j int) bool { return cuts[i] < cuts[j] })
	var out []xen.E820Entry
	for i := 0; i+1 < len(cuts); i++ {
		s, e := cuts[i], cuts[i+1]
		if s == e {
			continue
		}
		best := piece{prio: -1}
		for _, p := range ps {
			if p.s <= s && e <= p.e && (p.prio > best.prio || p.prio == best.prio && p.prio == 1 && p.typ != xen.MemmapTypeUnusable && best.typ == xen.MemmapTypeUnusable) {
				best = p
			}
		}
		if best.prio < 0 {
			continue // a hole
		}
		if n := len(out); n > 0 && out[n-1].Type == best.typ && out[n-1].Addr+out[n-1].Size == s {
			out[n-1].Size += e - s
			continue
		}
		out = append(out, xen.E820Entry{Addr: s, Size: e - s, Type: best.typ})
	}
	return out
}

// Dom0DeniedPorts is the sorted, merged list of ports dom0 does not reach.
func Dom0DeniedPorts(extra []backend.PortRange) []backend.PortRange {
	all := append(append([]backend.PortRange(nil), dom0Ports...), extra...)
	sort.Slice(all, func(i, j int) bool { return all[i].First < all[j].First })
	var out []backend.PortRange
	for _, r := range all {
		if r.N <= 0 {
			continue
		}
		end := min(int(r.First)+r.N, 0x10000)
		if n := len(out); n > 0 && int(out[n-1].First)+out[n-1].N >= int(r.First) {
			out[n-1].N = max(out[n-1].N, end-int(out[n-1].First))
			continue
		}
		out = append(out, backend.PortRange{First: r.First, N: end - int(r.First)})
	}
	return out
}

// passRanges is the complement of denied (sorted, merged) in the port space.
func passRanges(denied []backend.PortRange) []backend.PortRange {
	var out []backend.PortRange
	next := 0
	for _, d := range denied {
		if int(d.First) > next {
			out = append(out, backend.PortRange{First: uint16(next), N: int(d.First) - next})
		}
		next = max(next, int(d.First)+d.N)
	}
	if next < 0x10000 {
		out = append(out, backend.PortRange{First: uint16(next), N: 0x10000 - next})
	}
	return out
}

// forward reports whether dom0's size-byte access at port goes to the
// hardware even though it exited: the permission map intercepts an access
// when any port of its span is intercepted, so the 32-bit PCI
// CONFIG_ADDRESS register at 0xCF8 exits because 0xCF9 (reset control) is
// kept. An access none of whose ports hv keeps, or the dword at 0xCF8 (a
// different register from the byte at 0xCF9), is dom0's.
func (s *dom0State) forward(port uint16, size int) bool {
	if port == 0xCF8 && size == 4 {
		return true
	}
	for i := 0; i < size; i++ {
		if p := port + uint16(i); s.portDenied(p) && !inPorts(s.watch, p) {
			return false
		}
	}
	return true
}

func inPorts(rs []backend.PortRange, port uint16) bool {
	for _, r := range rs {
		if port >= r.First && int(port) < int(r.First)+r.N {
			return true
		}
	}
	return false
}

// portDenied reports whether dom0's access to port exits to hv.
func (s *dom0State) portDenied(port uint16) bool {
	for _, d := range s.denied {
		if port >= d.First && int(port) < int(d.First)+d.N {
			return true
		}
	}
	return false
}

// setupDom0 builds what dom0 has beyond a domU once its kernel and ramdisk
// are loaded: its state, ACPI tables, memory map and start_info flags.
// It returns the memory map and the RSDP's address.
func (h *Hypervisor) setupDom0(d *Domain, cfg DomainConfig) ([]xen.HVMMemmapEntry, uint64, error) {
	c := cfg.Dom0
	s := &dom0State{cfg: c}
	d.dom0 = s
	d.privileged = true
	main := dom0Main(c.RAM)
	acpiBase := main.End - dom0ACPISize
	overlays := []xen.E820Entry{{Addr: loader.BootInfoBase, Size: 0x4000, Type: xen.MemmapTypeReserved}}
	var rsdp uint64
	// The HPET's page: at HPETBase on PCs and QEMU (the HPET table, which
	// dom0 does not get, has the address; reading it is for later).
	s.keep = append(s.keep, Range{LAPICBase, LAPICBase + pageSize}, Range{HPETBase, HPETBase + 0x1000})
	if a := c.ACPI; a != nil {
		ids := make([]uint32, cfg.VCPUs)
		for i := range ids {
			ids[i] = uint32(i) // hv's vLAPIC IDs (lapic.reset)
		}
		t, err := acpi.BuildDom0(a, acpiBase, ids, func(r acpi.TableRef) bool { return inFirmware(c.HostMap, r.Addr, uint64(r.Header.Length)) })
		if err != nil {
			return nil, 0, fmt.Errorf("ACPI tables: %w", err)
		}
		if uint64(len(t.Bytes)) > dom0ACPISize {
			return nil, 0, fmt.Errorf("ACPI tables of %d bytes", len(t.Bytes))
		}
		if err := d.mem.WritePhys(acpiBase, t.Bytes); err != nil {
			return nil, 0, fmt.Errorf("ACPI tables: %w", err)
		}
		overlays = append(overlays, xen.E820Entry{Addr: acpiBase, Size: dom0ACPISize, Type: xen.MemmapTypeACPI})
		rsdp = t.RSDP
		h.logf("domain %d %q: ACPI RSDP at %#x, XSDT lists %v", d.id, d.name, rsdp, t.Passed)
		if a.MADT != nil {
			for i, io := range a.MADT.IOAPICs {
				pins := dom0IOAPICPins
				if c.IRQs != nil {
					if n := c.IRQs.IOAPICPins(uint64(io.Addr)); n > 0 && n <= vioapic.MaxPins {
						pins = n
					}
				}
				v, err := vioapic.New(io.ID, vioapic.Version20, pins, ioapicHost{h: h, d: d, idx: i})
				if err != nil {
					return nil, 0, err
				}
				s.ioapic = append(s.ioapic, dom0IOAPIC{base: uint64(io.Addr), gsiBase: io.GSIBase, a: v, pins: make([]irqPin, pins)})
				s.keep = append(s.keep, Range{uint64(io.Addr), uint64(io.Addr) + 0x1000})
			}
		}
		if f := a.FADT; f != nil && f.Flags&acpi.FADTHWReduced == 0 {
			s.pm1Cnt = [2]uint16{f.PM1aCnt, f.PM1bCnt}
			s.reset, s.resetValue = f.ResetPort, f.ResetValue
		}
		if c.S5 != nil {
			s.s5, s.s5Known = *c.S5, true
		}
	} else {
		h.logf("domain %d %q: no host ACPI tables found; dom0 gets none", d.id, d.name)
	}
	if c.IRQs != nil && h.irq == nil {
		h.irq = &dom0IRQ{d: d, host: c.IRQs}
		for _, v := range d.vcpus {
			v.lapic.OnEOI = s.dom0EOI
		}
		h.startIRQWait(c.IRQs)
	}
	if h.irq != nil && h.irq.d == d && c.Ports != nil {
		s.pci = &dom0PCI{ports: c.Ports, msi: c.IRQs, devs: map[uint32]*pciDev{}, mmio: c.ConfigMMIO}
		for _, e := range c.ECAM {
			end := e.Base + (uint64(e.EndBus)-uint64(e.StartBus)+1)<<20
			if e.Segment != 0 {
				// The ports do not reach it, so hv cannot see its
				// capabilities: dom0 does not get it.
				h.logf("dom0: MMCONFIG [%#x, %#x) of PCI segment %d is kept from dom0 (hv traps MSI on segment 0 only)", e.Base, end, e.Segment)
				s.keep = append(s.keep, Range{e.Base, end})
				continue
			}
			s.pci.ecam = append(s.pci.ecam, e)
			h.logf("dom0: MSI capabilities trapped through ports 0xCFC-0xCFF and MMCONFIG [%#x, %#x), buses %d-%d", e.Base, end, e.StartBus, e.EndBus)
		}
	}
	s.keep = append(s.keep, c.KeepMMIO...)
	sort.Slice(s.keep, func(i, j int) bool { return s.keep[i].Start < s.keep[j].Start })
	h.setupDom0IOMMU(d, s)
	h.iommu = c.IOMMU
	extra := append([]backend.PortRange(nil), c.KeepPorts...)
	// Watched, not kept: PM1 control (SLP_EN), the keyboard controller's
	// command port (pulse reset) and the ACPI reset port (unless it is
	// 0xCF9, which hv keeps outright) work for dom0 except for those
	// writes.
	extra = append(extra, pciHidePorts(c.HidePCI)...)
	if s.pci != nil {
		extra = append(extra, backend.PortRange{First: pciConfData, N: 4})
	}
	for _, p := range s.pm1Cnt {
		if p != 0 {
			s.watch = append(s.watch, backend.PortRange{First: p, N: 2})
		}
	}
	s.watch = append(s.watch, backend.PortRange{First: kbcCommand, N: 1})
	if s.reset != 0 && s.reset != 0xCF9 {
		s.watch = append(s.watch, backend.PortRange{First: s.reset, N: 1})
	}
	extra = append(extra, s.watch...)
	s.denied = Dom0DeniedPorts(extra)
	pass := passRanges(s.denied)
	for _, v := range d.vcpus {
		if err := v.arch.PassIOPorts(pass); err != nil {
			return nil, 0, err
		}
	}
	s.e820 = Dom0MemoryMap(c.HostMap, c.RAM, overlays)
	mm := make([]xen.HVMMemmapEntry, len(s.e820))
	for i, e := range s.e820 {
		mm[i] = xen.HVMMemmapEntry{Addr: e.Addr, Size: e.Size, Type: e.Type}
	}
	return mm, rsdp, nil
}

// inFirmware reports whether [pa, pa+n) lies in firmware memory of the
// host map (ACPI, NVS or reserved): Xen passes no table from elsewhere
// (acpi_memory_banned).
func inFirmware(m []xen.E820Entry, pa, n uint64) bool {
	for _, e := range m {
		if (e.Type == xen.MemmapTypeACPI || e.Type == xen.MemmapTypeNVS || e.Type == xen.MemmapTypeReserved) &&
			pa >= e.Addr && pa+n <= e.Addr+e.Size && pa+n >= pa {
			return true
		}
	}
	return false
}

// kept reports whether [pa, pa+n) touches MMIO hv keeps from dom0.
func (s *dom0State) kept(pa, n uint64) bool {
	for _, k := range s.keep {
		if pa < k.End && k.Start < pa+n {
			return true
		}
	}
	return false
}

// hostRAM reports whether [pa, pa+n) touches host RAM at or above 1 MiB
// (hv never uses memory below 1 MiB; dom0 may have all of it).
func (s *dom0State) hostRAM(pa, n uint64) bool {
	for _, e := range s.cfg.HostMap {
		if e.Type == xen.MemmapTypeRAM && pa < e.Addr+e.Size && e.Addr < pa+n && pa+n > 1<<20 {
			return true
		}
	}
	return false
}

// dom0NPF handles a nested page fault of dom0. It reports false when the
// fault is not dom0's special case (the caller goes on with a domU's
// handling: MMIO emulation or a crash).
func (h *Hypervisor) dom0NPF(v *VCPU, gpa uint64) bool {
	s := v.dom.dom0
	page := gpa &^ (pageSize - 1)
	if s.kept(page, pageSize) {
		return false
	}
	if s.hostRAM(page, pageSize) {
		if v.dom.mem.IsRAM(page / pageSize) {
			return false
		}
		h.crashDomain(v, fmt.Sprintf("dom0 touched host RAM at %#x that is not its own (rip %#x)", gpa, v.arch.RIP()))
		return true
	}
	// A trapped function's MMCONFIG page stays unmapped: its accesses are
	// emulated (dom0_msi.go); the others are mapped page by page.
	ecam := s.pci != nil && s.pci.inECAM(page, pageSize)
	if ecam && s.pci.ecamTrapped(page) {
		return false
	}
	// Identity-map the 2 MiB block around it when all of it may be, else
	// the page (Xen's pf-fixup).
	big := gpa &^ (2<<20 - 1)
	var err error
	if !ecam && !s.kept(big, 2<<20) && !s.hostRAM(big, 2<<20) && !(s.pci != nil && s.pci.inECAM(big, 2<<20)) && !v.dom.mem.IsRAM(big/pageSize) && v.dom.mem.MapIdentity(big, 2<<20) == nil {
		return true
	}
	if err = v.dom.mem.MapIdentity(page, pageSize); err != nil {
		h.crashDomain(v, fmt.Sprintf("dom0: cannot map device memory at %#x: %v", gpa, err))
	}
	return true
}

// dom0MMIO emulates dom0's access to an emulated IO-APIC; false if gpa is
// not in one.
func (s *dom0State) ioapicAt(gpa uint64) *vioapic.IOAPIC {
	for _, io := range s.ioapic {
		if gpa >= io.base && gpa < io.base+0x1000 {
			return io.a
		}
	}
	return nil
}

// dom0IO handles dom0's exits on the ports hv keeps. It reports whether it
// consumed the access (false: the common handling: 0xE9, all-ones).
func (h *Hypervisor) dom0IO(v *VCPU, port uint16, in bool, size int, val uint64) bool {
	s := v.dom.dom0
	if !in {
		switch a, how, sleep := s.powerWrite(port, size, val); {
		case sleep:
			h.logf("dom0 asked for an ACPI sleep state (%s): hv supports none but S5; the write is dropped", how)
			return true
		case a != MachineNone:
			h.machineRequest(v.dom, a, how)
			return true
		}
	}
	fwd := s.forward(port, size)
	if cfg, hidden := s.pciConfigHidden(port, size); hidden {
		if in {
			r := v.arch.Regs()
			mask := uint64(1)<<(8*size) - 1
			if size == 4 {
				r[x86.RAX] = mask // 32-bit results zero the upper half
			} else {
				r[x86.RAX] |= mask
			}
		}
		return true
	} else if cfg {
		fwd = true
	}
	if s.pci != nil {
		if port == pciConfAddr && size == 4 && !in {
			s.pci.addr = uint32(val) // and on to the hardware below
		}
		if port >= pciConfData && port < pciConfData+4 {
			x := h.dom0Config(s, port, in, size, uint32(val))
			if in {
				setIn(v, size, x)
			}
			return true
		}
	}
	if fwd {
		if s.cfg.Ports == nil {
			return false
		}
		if in {
			setIn(v, size, s.cfg.Ports.In(port, size))
		} else {
			s.cfg.Ports.Out(port, size, uint32(val))
		}
		return true
	}
	return false // kept: reads give all-ones, writes are dropped
}

// dom0ConsoleInput queues keystrokes for dom0's CONSOLEIO_read and raises
// VIRQ_CONSOLE, as Xen's serial_rx does for the hardware domain.
func (h *Hypervisor) dom0ConsoleInput(d *Domain, in []byte) int {
	s := d.dom0
	room := maxDom0Input - len(s.input)
	n := min(room, len(in))
	s.input = append(s.input, in[:n]...)
	if n > 0 {
		h.events.RaiseGlobalVIRQ(xen.VIRQConsole)
	}
	return n
}

// maxDom0Input bounds console input waiting for dom0 (Xen's SERIAL_RX_SIZE
// is 128; a pasted line should fit).
const maxDom0Input = 4096

// setWallclock is XENPF_settime: the wall-clock time is secs.nsecs at
// system time sys; every domain's shared_info gets it.
func (h *Hypervisor) setWallclock(secs uint64, nsecs uint32, sys uint64) {
	h.wallBoot = int64(secs)*1e9 + int64(nsecs) - int64(sys)
	h.wallSet = true
	for _, d := range h.domains {
		if d.xen.sharedInfoSet {
			if p := d.page(d.xen.sharedInfo); p != nil {
				h.writeWallclock(d, p)
			}
		}
	}
}

// dom0Control is hypercall.Control for dom0.
type dom0Control struct{ g *guest }

func (c dom0Control) SetWallclock(secs uint64, nsecs uint32, sys uint64) {
	c.g.h().setWallclock(secs, nsecs, sys)
}

func (c dom0Control) ConsoleRead(p []byte) int {
	s := c.g.dom.dom0
	n := copy(p, s.input)
	s.input = s.input[n:]
	return n
}

func (c dom0Control) PCIDeviceAdd(a xen.PhysdevPCIDeviceAdd) {
	h := c.g.h()
	if h.Debug {
		h.logf("dom0 reports PCI device %04x:%02x:%02x.%d", a.Seg, a.Bus, a.Devfn>>3, a.Devfn&7)
	}
}

func (c dom0Control) MMCFGReserved(r xen.PhysdevPCIMmcfgReserved) {
	c.g.h().logf("dom0 reports MMCONFIG at %#x, segment %d, buses %d-%d", r.Address, r.Segment, r.StartBus, r.EndBus)
}

// dom0ioapic is the emulated IO-APIC at gpa (nil for a domU, or none).
func (d *Domain) dom0ioapic(gpa uint64) *vioapic.IOAPIC {
	if d.dom0 == nil {
		return nil
	}
	return d.dom0.ioapicAt(gpa)
}

// Control implements hypercall.Guest: dom0's privileged operations.
func (g *guest) Control() hypercall.Control {
	if g.dom.dom0 == nil {
		return nil
	}
	return dom0Control{g}
}

// setIn puts the result of a size-byte IN into v's RAX.
func setIn(v *VCPU, size int, x32 uint32) {
	r := v.arch.Regs()
	x := uint64(x32)
	mask := uint64(1)<<(8*size) - 1
	if size == 4 {
		r[x86.RAX] = x // 32-bit results zero the upper half
	} else {
		r[x86.RAX] = r[x86.RAX]&^mask | x&mask
	}
}

// hasTable reports whether the host's root table lists sig.
func hasTable(a *acpi.Host, sig string) bool {
	if a == nil {
		return false
	}
	for _, t := range a.Tables {
		if t.Header.Sig() == sig {
			return true
		}
	}
	return false
}

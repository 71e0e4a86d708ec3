package main

import (
	"fmt"
	"unsafe"

	"gozen/abi/xen"
	"gozen/acpi"
	"gozen/arch/amd64"
	"gozen/dev/uart"
	"gozen/hv"
	"gozen/hv/backend"
	"gozen/rt"
)

// firmware reads host memory for package acpi (rt.ReadFirmware maps the
// firmware ranges the direct map lacks).
type firmware struct{}

func (firmware) ReadAt(pa uint64, p []byte) bool { return rt.ReadFirmware(pa, p) }

// dom0Config describes the machine to hv for dom0: the RAM rt set aside,
// the firmware's memory map, its ACPI tables and the ports hv's platform
// code uses.
func dom0Config() *hv.Dom0Config {
	c := &hv.Dom0Config{
		Ports: hostPorts{},
		KeepPorts: []backend.PortRange{
			{First: uart.COM1, N: 8},        // hv's console
			{First: rt.DebugExitPort, N: 4}, // QEMU's isa-debug-exit (iosize 4)
		},
	}
	for _, r := range rt.Dom0RAM() {
		c.RAM = append(c.RAM, hv.Range{Start: r.Start, End: r.End})
	}
	for _, r := range rt.MemoryMap() {
		c.HostMap = append(c.HostMap, xen.E820Entry{Addr: r.Base, Size: r.Len, Type: r.Type})
	}
	rsdp, where := rt.RSDP(), "multiboot2 ACPI tag"
	if rsdp == 0 {
		var err error
		rsdp, err = acpi.FindRSDP(firmware{})
		where = "BIOS area"
		if err != nil {
			fmt.Println("hv: dom0: no ACPI RSDP (multiboot2 tag or BIOS area): dom0 gets no ACPI tables")
			return c
		}
	}
	h, err := acpi.ParseHost(firmware{}, rsdp)
	if err != nil {
		fmt.Printf("hv: dom0: host ACPI tables unusable (%v): dom0 gets none\n", err)
		return c
	}
	for _, w := range h.Warnings {
		fmt.Println("hv: host ACPI:", w)
	}
	var sigs []string
	for _, t := range h.Tables {
		sigs = append(sigs, t.Header.Sig())
	}
	fmt.Printf("hv: host ACPI: RSDP rev %d at %#x (%s), tables %v\n", h.RSDP.Revision, rsdp, where, sigs)
	c.ACPI = h
	c.S5 = readMachinePower(h)
	if t, ok := h.Find("MCFG"); ok {
		mb, err := acpi.ReadTable(firmware{}, t)
		if err == nil {
			c.ECAM, err = acpi.ParseMCFG(mb)
		}
		if err != nil {
			fmt.Printf("hv: host ACPI: MCFG unusable (%v): dom0 reaches MMCONFIG untrapped\n", err)
		}
		c.ConfigMMIO = ecamMMIO{}
	}
	takeIOMMUs(h, c)
	if h.MADT != nil && len(h.MADT.IOAPICs) > 0 {
		irqs := hostIRQs{pins: map[uint64]int{}}
		for _, io := range h.MADT.IOAPICs {
			n, err := rt.AddIOAPIC(uint64(io.Addr), io.GSIBase)
			if err != nil {
				fmt.Printf("hv: dom0: IO-APIC %d at %#x: %v; its interrupts do not reach dom0\n", io.ID, io.Addr, err)
				continue
			}
			irqs.pins[uint64(io.Addr)] = n
			fmt.Printf("hv: IO-APIC %d at %#x: GSIs %d-%d, all masked until dom0 unmasks them\n", io.ID, io.Addr, io.GSIBase, io.GSIBase+uint32(n)-1)
		}
		c.IRQs = irqs
	}
	return c
}

// readMachinePower fills machinePower from the host's FADT and DSDT and
// returns S5's SLP_TYP values (nil if the DSDT has no \_S5).
func readMachinePower(h *acpi.Host) *[2]uint8 {
	f := h.FADT
	if f == nil || f.Flags&acpi.FADTHWReduced != 0 {
		return nil
	}
	if f.ResetPort != 0 {
		machinePower.reset = &rt.ResetRegister{Port: f.ResetPort, Value: f.ResetValue}
	}
	s5, ok := readS5(f.DSDT)
	if !ok {
		fmt.Println("hv: host ACPI: no \\_S5 package in the DSDT: hv cannot power the machine off through ACPI itself")
		return nil
	}
	for i, p := range []uint16{f.PM1aCnt, f.PM1bCnt} {
		if p != 0 {
			machinePower.pm1 = append(machinePower.pm1, rt.SleepControl{Port: p, SlpTyp: s5[i]})
		}
	}
	return &s5
}

// hostACPI finds and parses the host's ACPI tables (nil if there are none
// usable), for the testhooks' power tests.
func hostACPI() *acpi.Host {
	rsdp := rt.RSDP()
	if rsdp == 0 {
		var err error
		if rsdp, err = acpi.FindRSDP(firmware{}); err != nil {
			return nil
		}
	}
	h, err := acpi.ParseHost(firmware{}, rsdp)
	if err != nil {
		return nil
	}
	return h
}

// machinePower is how the platform powers the machine off or resets it
// when dom0 asks (hv.Machine): the PM1 control ports with S5's SLP_TYP,
// and the FADT's reset register, from the host's ACPI tables.
var machinePower struct {
	pm1   []rt.SleepControl
	reset *rt.ResetRegister
}

// readS5 finds S5's SLP_TYPa/b in the host's DSDT.
func readS5(dsdt uint64) ([2]uint8, bool) {
	var hdr [36]byte
	if dsdt == 0 || !rt.ReadFirmware(dsdt, hdr[:]) {
		return [2]uint8{}, false
	}
	n := uint64(hdr[4]) | uint64(hdr[5])<<8 | uint64(hdr[6])<<16 | uint64(hdr[7])<<24
	if string(hdr[:4]) != "DSDT" || n <= 36 || n > 4<<20 {
		return [2]uint8{}, false
	}
	aml := make([]byte, n-36)
	if !rt.ReadFirmware(dsdt+36, aml) {
		return [2]uint8{}, false
	}
	a, b, ok := acpi.SleepType(aml, "_S5_")
	return [2]uint8{a, b}, ok
}

// hostIRQs is hv.HostIRQs over rt's IO-APICs and device vectors.
type hostIRQs struct{ pins map[uint64]int }

func (i hostIRQs) IOAPICPins(addr uint64) int { return i.pins[addr] }
func (hostIRQs) RouteGSI(gsi uint32, level, activeLow bool) (uint8, error) {
	return rt.RouteGSI(gsi, level, activeLow)
}
func (hostIRQs) MaskGSI(gsi uint32)                             { rt.MaskGSI(gsi) }
func (hostIRQs) UnmaskGSI(gsi uint32)                           { rt.UnmaskGSI(gsi) }
func (hostIRQs) Take(p *[4]uint64) bool                         { return rt.TakeIRQs(p) }
func (hostIRQs) Pending() bool                                  { return rt.IRQPending() }
func (hostIRQs) Wait(seq uint32) uint32                         { return rt.WaitIRQ(seq) }
func (hostIRQs) AllocMSIVector() (uint8, uint64, uint32, error) { return rt.AllocMSIVector() }

// moduleImages returns each boot module's bytes. Modules that overlap
// dom0's RAM (QEMU and GRUB load them right above hv, where dom0's kernel
// must go) are first copied to frames of the guest pool, since loading dom0
// overwrites them; release gives those frames back once every domain is
// built.
func moduleImages() (images [][]byte, release func(), err error) {
	mods := rt.Modules()
	dom0 := rt.Dom0RAM()
	var frees []func()
	release = func() {
		for _, f := range frees {
			f()
		}
	}
	for i := range mods {
		m := &mods[i]
		b := unsafe.Slice((*byte)(unsafe.Pointer(uintptr(m.Start))), m.End-m.Start)
		over := false
		for _, r := range dom0 {
			if m.Start < r.End && r.Start < m.End {
				over = true
			}
		}
		if over && len(b) > 0 {
			buf, free := (platform{}).Scratch(uint64(len(b)))
			if buf == nil {
				release()
				return nil, nil, fmt.Errorf("module %d (%d bytes) lies in dom0's RAM and the guest pool has no room to move it", i, len(b))
			}
			copy(buf, b)
			frees = append(frees, free)
			b = buf
		}
		images = append(images, b)
	}
	return images, release, nil
}

// hostPorts is hv.HostPorts over the CPU's IN/OUT instructions.
type hostPorts struct{}

func (hostPorts) In(port uint16, size int) uint32 {
	switch size {
	case 1:
		return uint32(amd64.Inb(port))
	case 2:
		return uint32(amd64.Inw(port))
	}
	return amd64.Inl(port)
}

func (hostPorts) Out(port uint16, size int, v uint32) {
	switch size {
	case 1:
		amd64.Outb(port, uint8(v))
	case 2:
		amd64.Outw(port, uint16(v))
	default:
		amd64.Outl(port, v)
	}
}

// ecamMMIO is hv.HostMMIO over MMCONFIG: each page is mapped uncached at
// its own address (rt.MapMMIO) the first time hv touches it. The accessors
// are not inlined, so each is one load or store of its size.
type ecamMMIO struct{}

func (ecamMMIO) Read(pa uint64, size int) uint32 {
	if !rt.MapMMIO(pa&^0xfff, 4096) {
		return ^uint32(0)
	}
	return mmioRead(uintptr(pa), size)
}

func (ecamMMIO) Write(pa uint64, size int, v uint32) {
	if rt.MapMMIO(pa&^0xfff, 4096) {
		mmioWrite(uintptr(pa), size, v)
	}
}

//go:noinline
func mmioRead(a uintptr, size int) uint32 {
	switch size {
	case 1:
		return uint32(*(*uint8)(unsafe.Pointer(a)))
	case 2:
		return uint32(*(*uint16)(unsafe.Pointer(a)))
	}
	return *(*uint32)(unsafe.Pointer(a))
}

//go:noinline
func mmioWrite(a uintptr, size int, v uint32) {
	switch size {
	case 1:
		*(*uint8)(unsafe.Pointer(a)) = uint8(v)
	case 2:
		*(*uint16)(unsafe.Pointer(a)) = uint16(v)
	default:
		*(*uint32)(unsafe.Pointer(a)) = v
	}
}

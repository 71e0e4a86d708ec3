package hv

import (
	"testing"

	"gozen/acpi"
	"gozen/hv/backend"
	"gozen/hv/vlapic"
	"gozen/hv/x86"
	"gozen/mm/npt"
)

// fakePCI is configuration mechanism #1 over a few devices' configuration
// spaces (every byte writable).
type fakePCI struct {
	addr uint32
	cfg  map[uint32]*[256]byte
	// mmioOps counts accesses through MMCONFIG (HostMMIO).
	mmioOps int
}

func (f *fakePCI) space() (*[256]byte, uint8) {
	if f.addr&(1<<31) == 0 {
		return nil, 0
	}
	return f.cfg[f.addr>>8&0xffff], uint8(f.addr) &^ 3
}

func (f *fakePCI) In(port uint16, size int) uint32 {
	if port == 0xcf8 {
		return f.addr
	}
	c, reg := f.space()
	var v uint32
	for i := 0; i < size; i++ {
		b := byte(0xff)
		if c != nil {
			b = c[reg+uint8(port-0xcfc)+uint8(i)]
		}
		v |= uint32(b) << (8 * i)
	}
	return v
}

func (f *fakePCI) Out(port uint16, size int, v uint32) {
	if port == 0xcf8 && size == 4 {
		f.addr = v
		return
	}
	if c, reg := f.space(); c != nil && port >= 0xcfc {
		for i := 0; i < size; i++ {
			c[reg+uint8(port-0xcfc)+uint8(i)] = byte(v >> (8 * i))
		}
	}
}

func (f *fakePCI) dword(bdf uint32, reg uint8) uint32 {
	c := f.cfg[bdf]
	return uint32(c[reg]) | uint32(c[reg+1])<<8 | uint32(c[reg+2])<<16 | uint32(c[reg+3])<<24
}

// ahciLike is a device at 00:04.0 with a 64-bit MSI capability for 16
// vectors at 0x50, MSI-X at 0x60 and power management at 0x70.
func ahciLike() *fakePCI {
	var c [256]byte
	c[0], c[1], c[2], c[3] = 0x86, 0x80, 0x22, 0x29
	c[6] = 1 << 4 // capability list
	c[0x34] = 0x50
	c[0x50], c[0x51], c[0x52] = 0x05, 0x60, 0x80|4<<1 // MSI, 64-bit, 16 vectors
	c[0x60], c[0x61] = 0x11, 0x70
	c[0x70], c[0x71] = 0x01, 0x00
	return &fakePCI{cfg: map[uint32]*[256]byte{4 << 3: &c}}
}

// cfg is dom0 accessing configuration register reg of 00:04.0 through the
// ports, as Linux's pci_conf1_read/write do.
func cfg(h *Hypervisor, v *VCPU, reg uint8, size int, write bool, val uint32) uint32 {
	h.dom0IO(v, 0xcf8, false, 4, uint64(1<<31|4<<11|uint32(reg&^3)))
	port := 0xcfc + uint16(reg&3)
	if write {
		h.dom0IO(v, port, false, size, uint64(val))
		return 0
	}
	h.dom0IO(v, port, true, size, 0)
	return uint32(v.arch.Regs()[x86.RAX] & (1<<(8*size) - 1))
}

func TestDom0MSITranslated(t *testing.T) {
	pci := ahciLike()
	h, d, f, _ := dom0WithIRQsPorts(t, pci)
	v0, v1 := d.vcpus[0], d.vcpus[1]
	if !d.dom0.portDenied(0xcfc) || !d.dom0.portDenied(0xcff) {
		t.Fatal("CONFIG_DATA not intercepted")
	}
	// dom0 walks the capabilities: MSI with one vector, then (MSI-X
	// hidden) power management.
	if p := cfg(h, v0, 0x34, 1, false, 0); p != 0x50 {
		t.Fatalf("capability pointer %#x", p)
	}
	if next := cfg(h, v0, 0x51, 1, false, 0); next != 0x70 {
		t.Errorf("MSI's next capability %#x, want 0x70 (MSI-X hidden)", next)
	}
	if ctrl := cfg(h, v0, 0x52, 2, false, 0); ctrl != 0x80 {
		t.Errorf("message control %#x, want 0x80 (64-bit, one vector)", ctrl)
	}
	if id := cfg(h, v0, 0x00, 4, false, 0); id != 0x29228086 {
		t.Errorf("ID %#x", id)
	}
	// dom0 programs its message (APIC 1, vector 0x45) and enables MSI.
	cfg(h, v0, 0x54, 4, true, 0xfee01000)
	cfg(h, v0, 0x58, 4, true, 0)
	cfg(h, v0, 0x5c, 2, true, 0x45)
	cfg(h, v0, 0x52, 2, true, 0x80|4<<4|1) // asks for 16 vectors
	if a := pci.dword(4<<3, 0x54); a != 0xfee00000 {
		t.Errorf("device's message address %#x, want hv's 0xfee00000", a)
	}
	if dt := pci.dword(4<<3, 0x5c); dt != 0x90 {
		t.Errorf("device's message data %#x, want host vector 0x90", dt)
	}
	if ctrl := pci.dword(4<<3, 0x50) >> 16; ctrl&1 == 0 || ctrl&(7<<4) != 0 {
		t.Errorf("device's message control %#x: want enabled, one vector", ctrl)
	}
	if a, dt := cfg(h, v0, 0x54, 4, false, 0), cfg(h, v0, 0x5c, 2, false, 0); a != 0xfee01000 || dt != 0x45 {
		t.Errorf("dom0 reads back %#x/%#x", a, dt)
	}
	// The device's MSI arrives: dom0's vector at APIC 1.
	f.pending[0x90/64] |= 1 << (0x90 % 64)
	h.pollIRQs(nil)
	if !v1.lapic.InRequest(0x45) || v0.lapic.InRequest(0x45) {
		t.Error("MSI not delivered to APIC 1 with vector 0x45")
	}
	// dom0 retargets it while enabled: no new host vector, the next one
	// follows.
	cfg(h, v0, 0x54, 4, true, 0xfee00000)
	cfg(h, v0, 0x5c, 2, true, 0x46)
	f.pending[0x90/64] |= 1 << (0x90 % 64)
	h.pollIRQs(nil)
	if !v0.lapic.InRequest(0x46) || f.msis != 1 {
		t.Errorf("retargeted MSI: APIC 0 has 0x46 %v, %d host vectors", v0.lapic.InRequest(0x46), f.msis)
	}
	// dom0 disables MSI: the device is disabled too.
	cfg(h, v0, 0x52, 2, true, 0x80)
	if ctrl := pci.dword(4<<3, 0x50) >> 16; ctrl&1 != 0 {
		t.Errorf("device's MSI still enabled: %#x", ctrl)
	}
	// Other registers pass through, and dom0's CONFIG_ADDRESS survives
	// hv's own accesses.
	cfg(h, v0, 0x70, 4, true, 0x12340001)
	if pci.dword(4<<3, 0x70) != 0x12340001 {
		t.Error("write to another capability did not reach the device")
	}
	if pci.addr != 1<<31|4<<11|0x70 {
		t.Errorf("CONFIG_ADDRESS %#x after hv's accesses", pci.addr)
	}
}

// ecamBase is the fake host's MMCONFIG window (bus 0 only), as QEMU q35's.
const ecamBase = 0xb0000000

// Read and Write make fakePCI a HostMMIO over its MMCONFIG window; the
// extended space (offsets 0x100 up) is ext.
func (f *fakePCI) Read(pa uint64, size int) uint32 {
	c, off := f.cfg[uint32(pa-ecamBase)>>12], pa&0xfff
	var v uint32
	for i := 0; i < size; i++ {
		b := byte(0xff)
		if c != nil && off+uint64(i) < 256 {
			b = c[off+uint64(i)]
		} else if c != nil {
			b = byte(off + uint64(i)) // the extended space: a pattern
		}
		v |= uint32(b) << (8 * i)
	}
	f.mmioOps++
	return v
}

func (f *fakePCI) Write(pa uint64, size int, v uint32) {
	c, off := f.cfg[uint32(pa-ecamBase)>>12], pa&0xfff
	for i := 0; i < size && c != nil && off+uint64(i) < 256; i++ {
		c[off+uint64(i)] = byte(v >> (8 * i))
	}
	f.mmioOps++
}

// ecamAccess is dom0 running a MOV at MMCONFIG offset reg of function bdf:
// a load (mov eax, [ebx], with 0x66 for a word) or a store (mov [ebx], eax).
func ecamAccess(t *testing.T, h *Hypervisor, v *VCPU, bdf uint32, reg uint32, size int, write bool, val uint32) uint32 {
	t.Helper()
	f := v.arch.(*fakeVCPU)
	insn := []byte{0x8b, 0x03}
	if write {
		insn[0] = 0x89
	}
	if size == 2 {
		insn = append([]byte{0x66}, insn...)
	}
	mmioAt(t, v, f, insn)
	f.mode = x86.Mode32
	gpa := uint64(ecamBase + bdf<<12 + reg)
	f.regs[x86.RBX], f.regs[x86.RAX] = gpa, uint64(val)
	h.handleExit(v, &backend.Exit{Reason: backend.ExitNPF, GPA: gpa, Write: write})
	if v.dom.State() != DomainRunning || f.rip != 0x100100+uint64(len(insn)) {
		t.Fatalf("access at %#x: domain %s, rip %#x", gpa, v.dom.StateString(), f.rip)
	}
	return uint32(f.regs[x86.RAX])
}

// On a host with MMCONFIG, a function with an MSI capability has its
// configuration page trapped and emulated like the ports; the others are
// identity-mapped for dom0.
func TestDom0MSIThroughECAM(t *testing.T) {
	pci := ahciLike()
	var plain [256]byte
	plain[0], plain[1] = 0xf4, 0x1a // no capabilities
	pci.cfg[5<<3] = &plain
	h, _, c := dom0HV(t)
	f := newFakeIRQs()
	c.IRQs, c.Ports, c.ConfigMMIO = f, pci, pci
	c.ECAM = []acpi.MCFGEntry{{Base: ecamBase, StartBus: 0, EndBus: 0}}
	c.ACPI = &acpi.Host{RSDP: acpi.RSDP{Revision: 2}, MADT: &acpi.MADT{IOAPICs: []acpi.IOAPIC{{ID: 0, Addr: 0xfec00000}}}}
	d, err := h.CreateDomain(DomainConfig{Name: "dom0", VCPUs: 2, Kernel: pvhELF(insnHLT), Dom0: c})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range d.vcpus {
		v.lapic.Write(vlapic.RegSVR, 0x1ff, 0)
		v.state = VCPURunning
	}
	v0, v1 := d.vcpus[0], d.vcpus[1]
	const ahci = 4 << 3
	// The plain function's page is dom0's own after the first access (which
	// runs again, now on the device); the neighbours stay unmapped.
	h.handleExit(v0, &backend.Exit{Reason: backend.ExitNPF, GPA: ecamBase + 5<<12})
	if f0 := v0.arch.(*fakeVCPU); v0.dom.State() != DomainRunning || f0.rip == 0x100102 {
		t.Fatalf("plain function's page: domain %s, rip %#x", v0.dom.StateString(), f0.rip)
	}
	if kind, _ := d.mem.Lookup((ecamBase + 5<<12) / pageSize); kind == npt.Unbacked {
		t.Error("plain function's MMCONFIG page not mapped for dom0")
	}
	for _, bdf := range []uint32{4 << 3, 6 << 3} {
		if kind, _ := d.mem.Lookup((ecamBase + uint64(bdf)<<12) / pageSize); kind != npt.Unbacked {
			t.Errorf("page of %#x mapped (%v)", bdf, kind)
		}
	}
	// dom0 reads the MSI capability: one vector, MSI-X hidden.
	if hdr := ecamAccess(t, h, v0, ahci, 0x50, 4, false, 0); hdr != 0x00807005 {
		t.Errorf("MSI header %#x, want 0x00807005", hdr)
	}
	// It programs APIC 1, vector 0x45, and enables MSI with a dword store
	// over the header (whose ID and next pointer are read-only).
	ecamAccess(t, h, v0, ahci, 0x54, 4, true, 0xfee01000)
	ecamAccess(t, h, v0, ahci, 0x58, 4, true, 0)
	ecamAccess(t, h, v0, ahci, 0x5c, 2, true, 0x45)
	ecamAccess(t, h, v0, ahci, 0x50, 4, true, (0x80|4<<4|1)<<16|0xffff)
	if a, dt := pci.dword(ahci, 0x54), pci.dword(ahci, 0x5c); a != 0xfee00000 || dt != 0x90 {
		t.Errorf("device's message %#x/%#x, want hv's 0xfee00000/0x90", a, dt)
	}
	if hdr := pci.dword(ahci, 0x50); hdr>>16&1 == 0 || hdr>>16&(7<<4) != 0 || hdr&0xffff != 0x6005 {
		t.Errorf("device's MSI header %#x: want enabled, one vector, ID and link untouched", hdr)
	}
	if ctrl := ecamAccess(t, h, v0, ahci, 0x52, 2, false, 0); ctrl != 0x81 {
		t.Errorf("dom0 reads message control %#x, want 0x81", ctrl)
	}
	if a := ecamAccess(t, h, v0, ahci, 0x54, 4, false, 0); a != 0xfee01000 {
		t.Errorf("dom0 reads message address %#x", a)
	}
	f.pending[0x90/64] |= 1 << (0x90 % 64)
	h.pollIRQs(nil)
	if !v1.lapic.InRequest(0x45) || v0.lapic.InRequest(0x45) {
		t.Error("MSI not delivered to APIC 1 with vector 0x45")
	}
	// Other registers, the extended space included, reach the device
	// through MMCONFIG.
	ops := pci.mmioOps
	ecamAccess(t, h, v0, ahci, 0x70, 4, true, 0x12340001)
	if pci.dword(ahci, 0x70) != 0x12340001 {
		t.Error("write to another capability did not reach the device")
	}
	if x := ecamAccess(t, h, v0, ahci, 0x100, 4, false, 0); x != 0x03020100 {
		t.Errorf("extended space reads %#x", x)
	}
	if pci.mmioOps != ops+2 {
		t.Errorf("%d MMCONFIG accesses by hv, want 2", pci.mmioOps-ops)
	}
	if kind, _ := d.mem.Lookup((ecamBase + ahci<<12) / pageSize); kind != npt.Unbacked {
		t.Error("trapped page got mapped")
	}
}

// A window of another PCI segment, which the ports do not reach, is kept
// from dom0: it reads all-ones.
func TestDom0ECAMOtherSegmentKept(t *testing.T) {
	h, _, c := dom0HV(t)
	c.IRQs, c.Ports = newFakeIRQs(), ahciLike()
	c.ECAM = []acpi.MCFGEntry{{Base: 0xc0000000, Segment: 1, StartBus: 0, EndBus: 3}}
	d, err := h.CreateDomain(DomainConfig{Name: "dom0", Kernel: pvhELF(insnHLT), Dom0: c})
	if err != nil {
		t.Fatal(err)
	}
	if !d.dom0.kept(0xc0000000, 1) || !d.dom0.kept(0xc03ff000, 1) || d.dom0.kept(0xc0400000, 1) {
		t.Error("segment 1's window not kept exactly")
	}
}

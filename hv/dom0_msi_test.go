package hv

import (
	"testing"

	"gozen/hv/x86"
)

// fakePCI is configuration mechanism #1 over a few devices' configuration
// spaces (every byte writable).
type fakePCI struct {
	addr uint32
	cfg  map[uint32]*[256]byte
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

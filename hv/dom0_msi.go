package hv

// dom0's MSIs (issue 9 item 5): a small vPCI that traps the MSI capability
// in PCI configuration space, as Xen's vPCI does (xen/drivers/vpci/msi.c),
// without PIRQs.
//
// Configuration mechanism #1 goes through ports 0xCF8 (CONFIG_ADDRESS,
// which dom0's dword accesses set on the hardware as before) and
// 0xCFC-0xCFF (CONFIG_DATA), which hv now intercepts. An access to a
// device's MSI capability is emulated: dom0's message address and data (its
// APIC ID and vector) stay in hv, and the device gets an address and data
// that send a host vector to hv's CPU; message control reaches the device
// with one vector allowed (hv reports a single-message capability, so
// Linux asks for one). Every other register, the per-vector mask bits
// included, is the device's. When the host vector arrives, hv delivers
// dom0's vector to dom0's APICs as dom0's message says (SDM 11.11: the
// destination ID in address bits 19:12, the destination mode in bit 2,
// the redirection hint in bit 3; vector and delivery mode in the data).
//
// MSI-X (virtio) is not translated: hv hides the capability from dom0 by
// skipping it in the capability list, so those drivers use INTx.
//
// MMCONFIG (the MCFG table's memory-mapped configuration space, ECAM) is
// trapped too, at page granularity: the 4 KiB configuration page of a
// function with an MSI or MSI-X capability is left out of dom0's p2m, so
// dom0's loads and stores there exit as nested page faults; hv decodes the
// instruction (x86.DecodeMMIO: SVM without decode assists gives no
// instruction bytes) and runs the access through the same register logic
// as a port access. Every other function's page is identity-mapped the
// first time dom0 touches it, as any MMIO. Linux itself uses the ports for
// the first 256 bytes of segment 0 (raw_pci_read) and ECAM only beyond, but
// nothing obliges a dom0 to: without this trap a dom0 could aim a device's
// MSIs at any vector of hv's CPU. Windows of segments other than 0, which
// the ports do not reach, are kept from dom0 (their functions read as
// absent).

import (
	"gozen/acpi"
	"gozen/hv/vlapic"
	"gozen/hv/x86"
)

// PCI configuration registers and capability IDs (PCI Local Bus 3.0 §6).
const (
	pciStatus       = 0x06
	pciStatusCapLst = 1 << 4
	pciCapPtr       = 0x34
	pciCapMSI       = 0x05
	pciCapMSIX      = 0x11
	msiCtrlEnable   = 1 << 0
	msiCtrlMMC      = 7 << 1 // multiple message capable
	msiCtrlMME      = 7 << 4 // multiple message enable
	msiCtrl64       = 1 << 7
	pciConfAddr     = 0xCF8
	pciConfData     = 0xCFC
)

// dom0PCI is hv's view of dom0's configuration accesses.
type dom0PCI struct {
	ports HostPorts
	msi   HostIRQs
	addr  uint32 // dom0's CONFIG_ADDRESS
	devs  map[uint32]*pciDev
	// ecam are the host's MMCONFIG windows of segment 0, and mmio reaches
	// them for hv (nil: the part of a trapped page beyond the first 256
	// bytes reads all-ones and takes no writes).
	ecam []acpi.MCFGEntry
	mmio HostMMIO
}

// HostMMIO performs hv's accesses to host device memory (size 1, 2 or 4).
type HostMMIO interface {
	Read(pa uint64, size int) uint32
	Write(pa uint64, size int, v uint32)
}

// pciDev is what hv keeps of one PCI function (nil in devs: absent).
type pciDev struct {
	bdf uint32 // bus << 8 | device << 3 | function
	// msi is the MSI capability's offset (0: none).
	msi  uint8
	is64 bool
	// msixLink is the configuration byte that points at the MSI-X
	// capability (0: none), and msixNext what dom0 reads there instead.
	msixLink, msixNext uint8
	// dom0's view of the MSI registers.
	ctrl           uint16
	addrLo, addrHi uint32
	data           uint16
	// The host vector the device sends (once allocated).
	hostVec uint8
	routed  bool
}

// cfgAddr is CONFIG_ADDRESS for a dword register of bdf.
func cfgAddr(bdf uint32, reg uint8) uint32 { return 1<<31 | bdf<<8 | uint32(reg&0xfc) }

// hwRead and hwWrite access a dword of configuration space for hv, then
// put dom0's CONFIG_ADDRESS back.
func (p *dom0PCI) hwRead(bdf uint32, reg uint8) uint32 {
	p.ports.Out(pciConfAddr, 4, cfgAddr(bdf, reg))
	v := p.ports.In(pciConfData, 4)
	p.ports.Out(pciConfAddr, 4, p.addr)
	return v
}

func (p *dom0PCI) hwWrite(bdf uint32, reg uint8, v uint32) {
	p.ports.Out(pciConfAddr, 4, cfgAddr(bdf, reg))
	p.ports.Out(pciConfData, 4, v)
	p.ports.Out(pciConfAddr, 4, p.addr)
}

// dev finds (the first time: reads) the capabilities of bdf.
func (p *dom0PCI) dev(bdf uint32) *pciDev {
	if d, ok := p.devs[bdf]; ok {
		return d
	}
	var d *pciDev
	if p.hwRead(bdf, 0)&0xffff != 0xffff {
		d = &pciDev{bdf: bdf}
		if p.hwRead(bdf, pciStatus&^3)>>16&pciStatusCapLst != 0 {
			link := uint8(pciCapPtr)
			ptr := uint8(p.hwRead(bdf, pciCapPtr)) &^ 3
			for n := 0; ptr >= 0x40 && n < 48; n++ {
				h := p.hwRead(bdf, ptr)
				next := uint8(h>>8) &^ 3
				switch uint8(h) {
				case pciCapMSI:
					if d.msi == 0 {
						d.msi = ptr
						d.is64 = uint16(h>>16)&msiCtrl64 != 0
						d.ctrl = uint16(h>>16) &^ (msiCtrlMMC | msiCtrlMME | msiCtrlEnable)
					}
				case pciCapMSIX:
					if d.msixLink == 0 {
						d.msixLink, d.msixNext = link, next
					}
				}
				link, ptr = ptr+1, next
			}
		}
	}
	p.devs[bdf] = d
	return d
}

// msiData is the offset of the data register in d's MSI capability.
func (d *pciDev) msiData() uint8 {
	if d.is64 {
		return d.msi + 0xC
	}
	return d.msi + 8
}

// view overlays dom0's view of the dword at reg (aligned) on the device's.
func (d *pciDev) view(reg uint8, hw uint32) uint32 {
	v := hw
	if d.msixLink != 0 && d.msixLink&^3 == reg {
		sh := 8 * uint32(d.msixLink&3)
		v = v&^(0xff<<sh) | uint32(d.msixNext)<<sh
	}
	if d.msi == 0 {
		return v
	}
	switch reg {
	case d.msi:
		hwCtrl := uint16(hw >> 16)
		ctrl := hwCtrl&^(msiCtrlMMC|msiCtrlMME|msiCtrlEnable) | d.ctrl&(msiCtrlMME|msiCtrlEnable)
		v = v&0xffff | uint32(ctrl)<<16
	case d.msi + 4:
		v = d.addrLo
	case d.msiData():
		v = uint32(d.data)
	}
	if d.is64 && reg == d.msi+8 {
		v = d.addrHi
	}
	return v
}

// dom0Config handles dom0's access to CONFIG_DATA (port 0xCFC-0xCFF).
func (h *Hypervisor) dom0Config(s *dom0State, port uint16, in bool, size int, val uint32) uint32 {
	p := s.pci
	off := uint8(port - pciConfData)
	if p.addr&(1<<31) == 0 || int(off)+size > 4 {
		// Not a configuration cycle (or one spilling past the data
		// register): the hardware's business.
		if in {
			return p.ports.In(port, size)
		}
		p.ports.Out(port, size, val)
		return 0
	}
	bdf := p.addr >> 8 & 0xffff
	reg := uint8(p.addr) & 0xfc
	if d := p.dev(bdf); d.intercepted(reg) {
		return h.cfgIntercepted(s, d, reg, off, size, in, val)
	}
	if in {
		return p.ports.In(port, size)
	}
	p.ports.Out(port, size, val)
	return 0
}

// intercepted reports whether hv emulates the dword at reg of d.
func (d *pciDev) intercepted(reg uint8) bool {
	return d != nil && (d.msi != 0 && reg >= d.msi && reg <= d.msiData() || d.msixLink != 0 && reg == d.msixLink&^3)
}

// trapped reports whether hv traps d's MMCONFIG page.
func (d *pciDev) trapped() bool { return d != nil && (d.msi != 0 || d.msixLink != 0) }

// cfgIntercepted is dom0's size-byte access at byte off of the intercepted
// dword reg of d.
func (h *Hypervisor) cfgIntercepted(s *dom0State, d *pciDev, reg, off uint8, size int, in bool, val uint32) uint32 {
	p := s.pci
	mask := uint32(1)<<(8*size) - 1
	if size == 4 {
		mask = ^uint32(0)
	}
	sh := 8 * uint32(off)
	cur := d.view(reg, p.hwRead(d.bdf, reg))
	if in {
		return cur >> sh & mask
	}
	nv := cur&^(mask<<sh) | (val&mask)<<sh
	if d.msi == 0 || reg < d.msi || reg > d.msiData() {
		p.hwWrite(d.bdf, reg, nv) // the MSI-X link byte is read-only
		return 0
	}
	h.msiWrite(s, d, reg, nv, mask<<sh)
	return 0
}

// ecamFunc is the function whose MMCONFIG page holds pa, if one of the
// windows hv traps does.
func (p *dom0PCI) ecamFunc(pa uint64) (bdf uint32, ok bool) {
	for _, e := range p.ecam {
		end := e.Base + (uint64(e.EndBus)-uint64(e.StartBus)+1)<<20
		if pa >= e.Base && pa < end {
			return uint32(e.StartBus)<<8 + uint32((pa-e.Base)>>12), true
		}
	}
	return 0, false
}

// inECAM reports whether [pa, pa+n) touches a window hv traps.
func (p *dom0PCI) inECAM(pa, n uint64) bool {
	for _, e := range p.ecam {
		end := e.Base + (uint64(e.EndBus)-uint64(e.StartBus)+1)<<20
		if pa < end && e.Base < pa+n {
			return true
		}
	}
	return false
}

// ecamTrapped reports whether the page of pa is a trapped function's
// configuration page (whose accesses hv emulates: dom0ECAM).
func (p *dom0PCI) ecamTrapped(pa uint64) bool {
	bdf, ok := p.ecamFunc(pa)
	return ok && p.dev(bdf).trapped()
}

// dom0ECAM emulates dom0's decoded access op to byte off of function bdf's
// MMCONFIG page, in pieces that each stay inside one dword (an 8-byte MOV
// is two dword accesses, as on PCI Express).
func (h *Hypervisor) dom0ECAM(s *dom0State, pa uint64, op *x86.MMIO) uint64 {
	bdf, _ := s.pci.ecamFunc(pa)
	off := uint32(pa & 0xfff)
	var out uint64
	for done := 0; done < op.Size; {
		o := off + uint32(done)
		n := min(op.Size-done, 4-int(o&3))
		if n == 3 {
			n = 1 // a byte, then an aligned word
		}
		x := h.ecamPiece(s, bdf, o, n, op.Write, uint32(op.Value>>(8*done)))
		out |= uint64(x) << (8 * done)
		done += n
	}
	return out
}

// ecamPiece is one access (size 1, 2 or 4, inside a dword) at offset off
// of bdf's configuration space through MMCONFIG.
func (h *Hypervisor) ecamPiece(s *dom0State, bdf, off uint32, size int, write bool, val uint32) uint32 {
	p := s.pci
	if off < 0x100 {
		if d := p.dev(bdf); d.intercepted(uint8(off) &^ 3) {
			return h.cfgIntercepted(s, d, uint8(off)&^3, uint8(off&3), size, !write, val)
		}
	}
	if p.mmio != nil {
		pa, ok := acpi.ConfigPage(p.ecam, 0, uint16(bdf))
		if ok {
			if write {
				p.mmio.Write(pa+uint64(off), size, val)
				return 0
			}
			return p.mmio.Read(pa+uint64(off), size)
		}
	}
	if off >= 0x100 {
		if write {
			return 0
		}
		return ^uint32(0)
	}
	// The first 256 bytes through the ports.
	p.ports.Out(pciConfAddr, 4, cfgAddr(bdf, uint8(off)))
	var x uint32
	if write {
		p.ports.Out(pciConfData+uint16(off&3), size, val)
	} else {
		x = p.ports.In(pciConfData+uint16(off&3), size)
	}
	p.ports.Out(pciConfAddr, 4, p.addr)
	return x
}

// msiWrite takes dom0's write of dword nv (bytes in wmask written) to its
// MSI capability at reg.
func (h *Hypervisor) msiWrite(s *dom0State, d *pciDev, reg uint8, nv, wmask uint32) {
	p := s.pci
	switch {
	case reg == d.msi:
		if wmask>>16 == 0 {
			return // the ID and next pointer are read-only
		}
		ctrl := uint16(nv >> 16)
		d.ctrl = d.ctrl&^(msiCtrlEnable|msiCtrlMME) | ctrl&msiCtrlEnable // one vector: MME stays 0
	case reg == d.msi+4:
		d.addrLo = nv &^ 3
	case d.is64 && reg == d.msi+8:
		d.addrHi = nv
	case reg == d.msiData():
		d.data = uint16(nv)
	default:
		return
	}
	h.msiProgram(p, d)
}

// msiProgram puts the device's MSI registers in line with dom0's: a host
// vector with hv's message while dom0 has MSI enabled, and enable as dom0
// has it.
func (h *Hypervisor) msiProgram(p *dom0PCI, d *pciDev) {
	hw := p.hwRead(d.bdf, d.msi)
	hwCtrl := uint16(hw >> 16)
	if d.ctrl&msiCtrlEnable == 0 {
		if hwCtrl&msiCtrlEnable != 0 {
			p.hwWrite(d.bdf, d.msi, hw&0xffff|uint32(hwCtrl&^(msiCtrlEnable|msiCtrlMME))<<16)
		}
		return
	}
	if !d.routed {
		vec, addr, data, err := p.msi.AllocMSIVector()
		if err != nil {
			h.logf("dom0: PCI %02x:%02x.%d: no MSI vector: %v; its MSIs are lost", d.bdf>>8, d.bdf>>3&0x1f, d.bdf&7, err)
			return
		}
		p.hwWrite(d.bdf, d.msi+4, uint32(addr))
		if d.is64 {
			p.hwWrite(d.bdf, d.msi+8, uint32(addr>>32))
		}
		// The data register is 16 bits; the upper half of its dword is
		// reserved (extended message data, off).
		p.hwWrite(d.bdf, d.msiData(), data&0xffff)
		d.hostVec, d.routed = vec, true
		if irq := h.irq; irq != nil {
			irq.byVector[vec] = irqSource{ok: true, msi: d}
		}
		ipi := d.msiIPI()
		h.logf("dom0: PCI %02x:%02x.%d: MSI on host vector %#x, dom0's vector %#x to %s destination %#x", d.bdf>>8, d.bdf>>3&0x1f, d.bdf&7, vec, ipi.Vector, physLogical(ipi.Logical), ipi.Dest)
	}
	if hwCtrl&msiCtrlEnable == 0 || hwCtrl&msiCtrlMME != 0 {
		p.hwWrite(d.bdf, d.msi, hw&0xffff|uint32(hwCtrl&^msiCtrlMME|msiCtrlEnable)<<16)
	}
}

// msiIPI is the interrupt dom0's message for d asks for.
func (d *pciDev) msiIPI() vlapic.IPI {
	mode := uint8(d.data>>8) & 7
	logical := d.addrLo&(1<<2) != 0
	if d.addrLo&(1<<3) != 0 && logical && mode == vlapic.ModeFixed {
		mode = vlapic.ModeLowest // redirection hint: lowest priority among the destinations
	}
	return vlapic.IPI{Vector: uint8(d.data), Mode: mode, Logical: logical, Dest: uint8(d.addrLo >> 12)}
}

func physLogical(logical bool) string {
	if logical {
		return "logical"
	}
	return "physical"
}

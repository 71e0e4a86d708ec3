package hv

// dom0 and the IOMMU (issue 9, item 7). The platform takes the IOMMU
// before dom0 starts (cmd/hv/iommu.go: every device's DMA goes through I/O
// page tables mapping dom0's RAM at its own addresses) and hands hv an
// IOMMU in Dom0Config. hv then:
//
//   - keeps those tables in step with dom0's p2m where it changes after
//     boot: grant maps and unmaps at dom0 gfns (Xen's iommu_legacy_map from
//     the grant code), and ballooning (populate_physmap,
//     decrease_reservation), so a device dom0 drives can DMA into a page
//     another domain granted it, and into nothing else;
//   - polls the IOMMU's event log from the run loop and logs each fault
//     with the device and address (Xen's iommu_check_event_log, which runs
//     from the IOMMU's interrupt; hv polls instead);
//   - hides the IOMMU's PCI function from dom0: reads of its configuration
//     space through ports 0xCF8/0xCFC return all-ones and writes are
//     dropped (its MMCONFIG page and its register window the platform
//     lists in KeepMMIO, which hv emulates as "no device"); its ACPI IVRS
//     is not in dom0's XSDT (acpi.Dom0Allowed).
//
// Without an IOMMU dom0 still boots (its p2m is identity, so its own DMA
// lands right) with one warning that device DMA is unprotected.

import (
	"fmt"

	"gozen/hv/backend"
)

// IOMMU is the platform's DMA remapping for the devices dom0 drives. Frame
// numbers are 4 KiB frames. hv calls it on the run loop only.
type IOMMU interface {
	// MapDMA makes device DMA to dom0 frames [gfn, gfn+n) reach machine
	// frames [mfn, mfn+n), read-only unless write, replacing whatever was
	// mapped there.
	MapDMA(gfn, mfn, n uint64, write bool) error
	// UnmapDMA removes DMA to dom0 frames [gfn, gfn+n); when it returns,
	// the IOMMU has dropped its cached translations, so the frames may go
	// to someone else.
	UnmapDMA(gfn, n uint64) error
	// PollFaults hands each fault (or other event) the IOMMU logged since
	// the last call to log, one line each, naming the device (bus:dev.fn)
	// and the address; it returns how many.
	PollFaults(log func(string)) int
	// String describes the IOMMU for hv's log.
	String() string
}

// PCIFunction is a PCI function on segment 0: bus<<8 | dev<<3 | fn (the
// IOMMU's device ID numbering).
type PCIFunction uint16

func (f PCIFunction) String() string {
	return fmt.Sprintf("%02x:%02x.%x", uint16(f)>>8, uint16(f)>>3&0x1f, uint16(f)&7)
}

// iommuPollInterval is how often the run loop looks at the event log: one
// MMIO read of the tail register and one of the entry at the head when
// nothing happened.
const iommuPollInterval = 100e6 // ns

// NoIOMMUWarning is the line hv logs when dom0 runs without an IOMMU.
const NoIOMMUWarning = "WARNING: no IOMMU: DMA by the devices dom0 drives is unprotected (any device can write hv's and every domain's memory)"

// setupDom0IOMMU logs what protects DMA when dom0 is built, and arranges
// for the PCI configuration ports to exit when a function is hidden.
func (h *Hypervisor) setupDom0IOMMU(d *Domain, s *dom0State) {
	if s.cfg.IOMMU == nil {
		h.logf("%s", NoIOMMUWarning)
	} else {
		h.logf("domain %d %q: device DMA translated by the %v; dom0 cannot see it", d.id, d.name, s.cfg.IOMMU)
	}
	for _, f := range s.cfg.HidePCI {
		h.logf("domain %d %q: PCI function %v hidden (configuration reads return all-ones)", d.id, d.name, f)
	}
}

// pciHidePorts are the ports that must exit for HidePCI: the data window
// (CONFIG_ADDRESS at 0xCF8 exits already for 32-bit accesses: see forward).
func pciHidePorts(hide []PCIFunction) []backend.PortRange {
	if len(hide) == 0 {
		return nil
	}
	return []backend.PortRange{{First: 0xCFC, N: 4}}
}

// pciConfigHidden handles dom0's access to the configuration data ports
// 0xCFC-0xCFF when functions are hidden: the address dom0 latched in
// CONFIG_ADDRESS (read back from the hardware, where dom0's 0xCF8 writes
// went) says which function it reaches. A hidden one reads all-ones and
// ignores writes, as an empty slot; anything else goes to the hardware.
// It reports whether the access was such a data-port access.
func (s *dom0State) pciConfigHidden(port uint16, size int) (handled, hidden bool) {
	if len(s.cfg.HidePCI) == 0 || port < 0xCFC || port > 0xCFF || s.cfg.Ports == nil {
		return false, false
	}
	addr := s.cfg.Ports.In(0xCF8, 4)
	if addr&(1<<31) == 0 {
		return true, false // not a configuration cycle: pass the I/O through
	}
	f := PCIFunction(addr >> 8 & 0xffff)
	for _, x := range s.cfg.HidePCI {
		if x == f {
			return true, true
		}
	}
	return true, false
}

// dom0DMAMap mirrors a dom0 p2m change into the IOMMU: frames
// [gfn, gfn+n) now reach machine frames from mfn.
func (h *Hypervisor) dom0DMAMap(d *Domain, gfn, mfn, n uint64, write bool) error {
	if d.dom0 == nil || d.dom0.cfg.IOMMU == nil {
		return nil
	}
	if err := d.dom0.cfg.IOMMU.MapDMA(gfn, mfn, n, write); err != nil {
		h.logf("domain %d %q: IOMMU: cannot map DMA to gfn %#x (+%d) -> mfn %#x: %v", d.id, d.name, gfn, n, mfn, err)
		return err
	}
	return nil
}

// dom0DMAUnmap mirrors a dom0 p2m removal into the IOMMU.
func (h *Hypervisor) dom0DMAUnmap(d *Domain, gfn, n uint64) error {
	if d.dom0 == nil || d.dom0.cfg.IOMMU == nil {
		return nil
	}
	if err := d.dom0.cfg.IOMMU.UnmapDMA(gfn, n); err != nil {
		h.logf("domain %d %q: IOMMU: cannot unmap DMA to gfn %#x (+%d): %v", d.id, d.name, gfn, n, err)
		return err
	}
	return nil
}

// dom0DMAPopulated maps frames dom0 just got back with populate_physmap
// (backed by guest-pool frames, not identity) for DMA.
func (h *Hypervisor) dom0DMAPopulated(d *Domain, gfn, n uint64) {
	if d.dom0 == nil || d.dom0.cfg.IOMMU == nil {
		return
	}
	for g := gfn; g < gfn+n; g++ {
		if hpa, ok := d.mem.Translate(g * pageSize); ok {
			h.dom0DMAMap(d, g, hpa/pageSize, 1, true)
		}
	}
}

// pollIOMMU logs the faults the IOMMU recorded, at most every
// iommuPollInterval.
func (h *Hypervisor) pollIOMMU(now int64) {
	if h.iommu == nil || now < h.iommuNext {
		return
	}
	h.iommuNext = now + iommuPollInterval
	h.iommu.PollFaults(func(line string) { h.logf("%s", line) })
}

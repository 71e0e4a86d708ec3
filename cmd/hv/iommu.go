package main

import (
	"fmt"
	"strings"
	"unsafe"

	"gozen/acpi"
	"gozen/hv"
	"gozen/iommu/amdvi"
	"gozen/rt"
)

// The machine's IOMMUs, taken for dom0 before it starts (issue 9, item 7):
// found through the host's ACPI IVRS, brought up by package amdvi with I/O
// page tables mapping dom0's RAM at its own addresses, and kept from dom0
// (their register windows and MMCONFIG pages in KeepMMIO, their PCI
// functions in HidePCI; hv drops IVRS from dom0's XSDT). Without an IVRS,
// hv logs that DMA is unprotected (hv.NoIOMMUWarning).

// iommuRegs is an IOMMU's register window, mapped uncached at its own
// address by rt.MapMMIO. The accessors are not inlined, so every call is
// one load or store the compiler cannot merge or hoist out of a poll loop.
type iommuRegs uintptr

//go:noinline
func (r iommuRegs) Read64(off uint32) uint64 {
	return *(*uint64)(unsafe.Pointer(uintptr(r) + uintptr(off)))
}

//go:noinline
func (r iommuRegs) Write64(off uint32, v uint64) {
	*(*uint64)(unsafe.Pointer(uintptr(r) + uintptr(off))) = v
}

// iommuMem gives the IOMMU's tables frames of hv's pool (dom0 cannot reach
// them: they are not its RAM). After boot, page tables grow only as dom0
// grant-maps pages, which is guest-driven: like grant-table frames
// (platform.AllocPage), they may not eat into the pool's reserve.
type iommuMem struct{}

func (iommuMem) AllocTable() (uint64, bool) {
	if !hvPoolAboveReserve(1) {
		return 0, false
	}
	return rt.AllocHVFrames(1, 1)
}
func (iommuMem) FreeTable(pa uint64) { rt.FreeHVFrames(pa, 1) }
func (iommuMem) Table(pa uint64) *[512]uint64 {
	return (*[512]uint64)(unsafe.Pointer(uintptr(pa)))
}

// iommus is hv.IOMMU over every IOMMU taken: dom0's p2m changes go to
// each (a device sits behind exactly one, which one does not matter here).
type iommus []*amdvi.Unit

func (u iommus) MapDMA(gfn, mfn, n uint64, write bool) error {
	for _, x := range u {
		if err := x.Map(gfn, mfn, n, write); err != nil {
			return err
		}
	}
	return nil
}

func (u iommus) UnmapDMA(gfn, n uint64) error {
	for _, x := range u {
		if err := x.Unmap(gfn, n); err != nil {
			return err
		}
	}
	return nil
}

func (u iommus) PollFaults(log func(string)) int {
	n := 0
	for _, x := range u {
		n += x.Poll(log)
	}
	return n
}

func (u iommus) String() string {
	var s []string
	for _, x := range u {
		s = append(s, x.String())
	}
	return strings.Join(s, "; ")
}

// takeIOMMUs takes every IOMMU the host's IVRS describes for dom0, whose
// RAM is ram, and fills in c's IOMMU, KeepMMIO and HidePCI. With no IVRS,
// or when an IOMMU cannot be taken, c.IOMMU stays nil (hv then warns).
func takeIOMMUs(h *acpi.Host, c *hv.Dom0Config) {
	ref, ok := h.Find("IVRS")
	if !ok {
		return
	}
	b, err := acpi.ReadTable(firmware{}, ref)
	var ivrs *amdvi.IVRS
	if err == nil {
		ivrs, err = amdvi.ParseIVRS(b)
	}
	if err != nil {
		fmt.Printf("hv: iommu: IVRS unusable (%v): IOMMU not taken\n", err)
		return
	}
	mcfg := c.ECAM
	var ram []amdvi.Range
	for _, r := range c.RAM {
		ram = append(ram, amdvi.Range{Start: r.Start, End: r.End})
	}
	var units iommus
	for _, ivhd := range ivrs.IOMMUs() {
		// Whether or not it can be taken, dom0 must not reach it.
		c.KeepMMIO = append(c.KeepMMIO, hv.Range{Start: ivhd.Base, End: ivhd.Base + amdvi.MMIOSize})
		if ivhd.Segment == 0 {
			c.HidePCI = append(c.HidePCI, hv.PCIFunction(ivhd.DeviceID))
		}
		if pa, ok := acpi.ConfigPage(mcfg, ivhd.Segment, ivhd.DeviceID); ok {
			c.KeepMMIO = append(c.KeepMMIO, hv.Range{Start: pa, End: pa + 4096})
		}
		if !rt.MapMMIO(ivhd.Base, amdvi.MMIOSize) {
			fmt.Printf("hv: iommu: cannot map the registers at %#x: IOMMU %v not taken\n", ivhd.Base, amdvi.BDF(ivhd.DeviceID))
			return
		}
		u, err := amdvi.TakeIOMMU(iommuRegs(ivhd.Base), iommuMem{}, amdvi.TakeConfig{
			IVHD: ivhd, Unity: ivrs.Memory, RAM: ram, DenyDMA: iommuDenyDMA,
			AllocContig: func(pages int) (uint64, bool) { return rt.AllocHVFrames(uint64(pages), 1) },
		})
		if err != nil {
			fmt.Printf("hv: iommu: IOMMU %v at %#x not taken: %v\n", amdvi.BDF(ivhd.DeviceID), ivhd.Base, err)
			for _, x := range units {
				amdvi.Disable(iommuRegs(x.IVHD.Base)) // all or none: hv's warning must be true
			}
			return
		}
		fmt.Printf("hv: iommu: %v (EFR %#x)\n", u, u.EFR)
		units = append(units, u)
	}
	if len(units) > 0 {
		c.IOMMU = units
	}
}

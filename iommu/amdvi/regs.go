package amdvi

import "fmt"

// MMIO is the IOMMU's register window (16 KiB at the IVHD's base address).
// Every register the package touches is 64 bits wide and 8-byte aligned;
// on bare metal an implementation does one MOVQ to an uncached mapping.
// Offsets are from the start of the window.
type MMIO interface {
	Read64(off uint32) uint64
	Write64(off uint32, v uint64)
}

// MMIO register offsets (spec chapter 3, "IOMMU MMIO Registers").
const (
	RegDevTableBase   = 0x0000 // Device Table Base Address Register
	RegCmdBufBase     = 0x0008 // Command Buffer Base Address Register
	RegEventLogBase   = 0x0010 // Event Log Base Address Register
	RegControl        = 0x0018 // IOMMU Control Register
	RegExclusionBase  = 0x0020 // IOMMU Exclusion Base Register
	RegExclusionLimit = 0x0028 // IOMMU Exclusion Range Limit Register
	RegExtFeature     = 0x0030 // IOMMU Extended Feature Register
	RegCmdBufHead     = 0x2000 // Command Buffer Head Pointer Register
	RegCmdBufTail     = 0x2008 // Command Buffer Tail Pointer Register
	RegEventLogHead   = 0x2010 // Event Log Head Pointer Register
	RegEventLogTail   = 0x2018 // Event Log Tail Pointer Register
	RegStatus         = 0x2020 // IOMMU Status Register

	// MMIOSize is the size of the register window hv must map (and keep
	// out of dom0's p2m).
	MMIOSize = 0x4000
)

// IOMMU Control Register bits (MMIO 0x18).
const (
	CtlIommuEn      uint64 = 1 << 0  // translation and remapping on
	CtlHtTunEn      uint64 = 1 << 1  // HyperTransport tunnel translation
	CtlEventLogEn   uint64 = 1 << 2  // event logging
	CtlEventIntEn   uint64 = 1 << 3  // interrupt on new event
	CtlComWaitIntEn uint64 = 1 << 4  // interrupt on COMPLETION_WAIT with I=1
	CtlInvTimeout   uint64 = 7 << 5  // InvTimeOut field: IOTLB invalidation timeout
	CtlPassPW       uint64 = 1 << 8  // pass posted writes
	CtlResPassPW    uint64 = 1 << 9  // reset PassPW on responses
	CtlCoherent     uint64 = 1 << 10 // device table walks are snooped
	CtlIsoc         uint64 = 1 << 11 // isochronous walks
	CtlCmdBufEn     uint64 = 1 << 12 // command buffer processing
	CtlPPRLogEn     uint64 = 1 << 13 // peripheral page request log
	CtlPPRIntEn     uint64 = 1 << 14
	CtlPPREn        uint64 = 1 << 15
	CtlGTEn         uint64 = 1 << 16 // guest translation
	CtlGAEn         uint64 = 1 << 17 // guest virtual APIC
	CtlXTEn         uint64 = 1 << 50 // x2APIC interrupt remapping
)

// InvTimeout1ms is the InvTimeOut encoding for a 1 ms IOTLB invalidation
// timeout (field value 2; 0 means none, 1 = 1 µs, 3 = 10 ms, ...).
const InvTimeout1ms uint64 = 2 << 5

// IOMMU Status Register bits (MMIO 0x2020). The first three are
// write-1-to-clear; the Run bits are read-only.
const (
	StEventOverflow uint64 = 1 << 0
	StEventLogInt   uint64 = 1 << 1
	StComWaitInt    uint64 = 1 << 2
	StEventLogRun   uint64 = 1 << 3
	StCmdBufRun     uint64 = 1 << 4
)

// Extended Feature Register bits (MMIO 0x30), also imaged in IVHD types
// 11h/40h.
const (
	EFRPrefSup uint64 = 1 << 0 // PREFETCH_IOMMU_PAGES
	EFRPPRSup  uint64 = 1 << 1
	EFRXTSup   uint64 = 1 << 2
	EFRNXSup   uint64 = 1 << 3
	EFRGTSup   uint64 = 1 << 4
	EFRIASup   uint64 = 1 << 6 // INVALIDATE_IOMMU_ALL
	EFRGASup   uint64 = 1 << 7
	EFRHESup   uint64 = 1 << 8
	EFRPCSup   uint64 = 1 << 9
)

// HATS returns the host address translation size from an EFR value: the
// largest page-table depth the IOMMU walks (4, 5 or 6 levels).
func HATS(efr uint64) int {
	switch (efr >> 10) & 3 {
	case 0:
		return 4
	case 1:
		return 5
	case 2:
		return 6
	}
	return 0 // reserved encoding
}

// Base register fields.
const (
	baseAddrMask uint64 = 0x000f_ffff_ffff_f000 // bits 51:12
	lenShift            = 56                    // ComLen / EventLen, bits 59:56
	headTailMask uint64 = 0x7fff0               // bits 18:4 of head/tail pointers
)

// Ring sizes in entries: the command buffer and the event log hold 2^n
// 16-byte entries, n in 8..15 (4 KiB .. 512 KiB).
const (
	MinRingEntries = 256
	MaxRingEntries = 32768
)

// Config is what Enable programs. Every base is a physical address of
// zeroed, contiguous, 4 KiB-aligned memory the caller owns and keeps for as
// long as the IOMMU is enabled.
type Config struct {
	DevTable        uint64 // device table base
	DevTableEntries int    // entries (device IDs 0..n-1); see DeviceTableEntries
	CmdBuf          uint64 // command buffer base
	CmdEntries      int    // power of two, MinRingEntries..MaxRingEntries
	EventLog        uint64 // event log base
	EventEntries    int    // power of two, MinRingEntries..MaxRingEntries
	// ExtraControl is ORed into the control register with the enables, for
	// example CtlCoherent|InvTimeout1ms. Bits Enable owns are ignored.
	ExtraControl uint64
}

func ringLog2(n int) (uint64, bool) {
	if n < MinRingEntries || n > MaxRingEntries || n&(n-1) != 0 {
		return 0, false
	}
	l := uint64(0)
	for 1<<l < n {
		l++
	}
	return l, true
}

func checkBase(what string, pa uint64) error {
	if pa&^baseAddrMask != 0 {
		return fmt.Errorf("amdvi: %s base %#x is not a 4 KiB-aligned address below 2^52", what, pa)
	}
	return nil
}

// Registers returns the values Enable writes to the three base registers,
// after checking c.
func (c Config) Registers() (devTab, cmdBuf, evtLog uint64, err error) {
	if err = checkBase("device table", c.DevTable); err != nil {
		return
	}
	if err = checkBase("command buffer", c.CmdBuf); err != nil {
		return
	}
	if err = checkBase("event log", c.EventLog); err != nil {
		return
	}
	size, ok := devTableSizeField(c.DevTableEntries)
	if !ok {
		err = fmt.Errorf("amdvi: device table of %d entries (want 1..65536)", c.DevTableEntries)
		return
	}
	cl, ok := ringLog2(c.CmdEntries)
	if !ok {
		err = fmt.Errorf("amdvi: command buffer of %d entries (want a power of two in 256..32768)", c.CmdEntries)
		return
	}
	el, ok := ringLog2(c.EventEntries)
	if !ok {
		err = fmt.Errorf("amdvi: event log of %d entries (want a power of two in 256..32768)", c.EventEntries)
		return
	}
	return c.DevTable | size, c.CmdBuf | cl<<lenShift, c.EventLog | el<<lenShift, nil
}

// enableOwned are the control bits Enable sets or clears itself.
const enableOwned = CtlIommuEn | CtlEventLogEn | CtlEventIntEn | CtlComWaitIntEn | CtlCmdBufEn |
	CtlPPRLogEn | CtlPPRIntEn | CtlPPREn | CtlGTEn | CtlGAEn | CtlXTEn | CtlHtTunEn

// Enable brings the IOMMU up (in the order Linux's
// early_enable_iommu and Xen's enable_iommu use):
//
//  1. turn translation, the command buffer and the event log off;
//  2. program the device table, command buffer and event log bases and
//     sizes, zero the four head/tail pointers and the exclusion range, and
//     clear the status register's write-1-to-clear bits;
//  3. enable the command buffer, then the event log (with ExtraControl);
//  4. enable the IOMMU.
//
// The device table must already hold a valid entry for every device ID it
// covers (BlockedDTE for devices no one owns): from step 4 on the IOMMU
// translates, and a DTE with V=0 lets a device DMA anywhere. After Enable,
// the caller invalidates every cache (CommandQueue.InvalidateAll) before it
// relies on the tables. Interrupts from the IOMMU are left off: hv polls
// the event log.
//
// Read the EFR (RegExtFeature) before Enable if you need it.
func Enable(m MMIO, c Config) error {
	dt, cb, el, err := c.Registers()
	if err != nil {
		return err
	}
	ctl := m.Read64(RegControl) &^ enableOwned
	m.Write64(RegControl, ctl)
	m.Write64(RegDevTableBase, dt)
	m.Write64(RegCmdBufBase, cb)
	m.Write64(RegCmdBufHead, 0)
	m.Write64(RegCmdBufTail, 0)
	m.Write64(RegEventLogBase, el)
	m.Write64(RegEventLogHead, 0)
	m.Write64(RegEventLogTail, 0)
	m.Write64(RegExclusionBase, 0)
	m.Write64(RegExclusionLimit, 0)
	m.Write64(RegStatus, StEventOverflow|StEventLogInt|StComWaitInt)
	ctl |= c.ExtraControl &^ enableOwned
	ctl |= CtlCmdBufEn
	m.Write64(RegControl, ctl)
	ctl |= CtlEventLogEn
	m.Write64(RegControl, ctl)
	ctl |= CtlIommuEn
	m.Write64(RegControl, ctl)
	return nil
}

// Disable turns translation, the command buffer and the event log off.
// Devices then DMA untranslated again: hv calls it only on its way down.
func Disable(m MMIO) {
	m.Write64(RegControl, m.Read64(RegControl)&^enableOwned)
}

package amdvi

import "fmt"

// Memory supplies and reaches the 4 KiB frames the IOMMU reads: page-table
// pages, and the pages of the device table, command buffer, event log and
// completion-wait word. It has the method set of pgtable.Memory, so hv's
// frame allocator serves both. Table must return a non-nil pointer for any
// pa the package is given (a base passed in, or a frame from AllocTable);
// pa is 4 KiB-aligned.
type Memory interface {
	// AllocTable returns the physical address of a zeroed 4 KiB frame below
	// 2^52, or ok == false.
	AllocTable() (pa uint64, ok bool)
	// FreeTable releases a frame from AllocTable.
	FreeTable(pa uint64)
	// Table returns the frame at pa as 512 quadwords.
	Table(pa uint64) *[512]uint64
}

// DTESize is the size of one device table entry.
const DTESize = 32

// dtesPerPage is how many entries one 4 KiB page of the table holds.
const dtesPerPage = 4096 / DTESize

// MaxDevTableEntries covers every 16-bit device ID (a 2 MiB table).
const MaxDevTableEntries = 1 << 16

// DeviceTableEntries returns the entries a device table needs to cover
// device IDs 0..maxID, rounded up to whole pages: with 16-bit IDs
// (bus<<8 | dev<<3 | fn) the last bus in use decides, so a machine whose
// devices sit on bus 0 needs one 8 KiB table of 256 entries, not 2 MiB.
func DeviceTableEntries(maxID uint16) int {
	n := int(maxID) + 1
	return (n + dtesPerPage - 1) / dtesPerPage * dtesPerPage
}

// devTableSizeField is the Size field (bits 8:0) of the device table base
// register: the table's length in 4 KiB pages, minus one.
func devTableSizeField(entries int) (uint64, bool) {
	if entries < 1 || entries > MaxDevTableEntries {
		return 0, false
	}
	pages := (entries + dtesPerPage - 1) / dtesPerPage
	return uint64(pages - 1), true
}

// DTE bits (spec "Device Table Entry Format"). Quadword 0:
const (
	DTEValid   uint64 = 1 << 0  // V: the entry is valid; V=0 lets DMA through untranslated
	DTETransV  uint64 = 1 << 1  // TV: Mode, root pointer, IR and IW are valid
	dteModeSh         = 9       // Mode, bits 11:9: page-table levels (0 = no translation)
	DTERead    uint64 = 1 << 61 // IR: DMA reads allowed
	DTEWrite   uint64 = 1 << 62 // IW: DMA writes allowed
	dteRootMsk        = baseAddrMask
)

// Quadword 1 (bits 127:64):
const (
	dteDomainMask        = 0xffff  // DomainID, bits 79:64
	DTESuppressEv uint64 = 1 << 33 // SE (bit 97): suppress IO_PAGE_FAULT events for this device
	DTESuppressAl uint64 = 1 << 34 // SA (bit 98): suppress all events
)

// Quadword 2 (bits 191:128) holds interrupt remapping: IV (bit 128),
// IntTabLen, IG, the interrupt table root, the Init/EInt/NMI pass bits,
// IntCtl and Lint0/Lint1 pass. The package leaves it zero: IV=0 makes the
// IOMMU forward a device's interrupts (MSI writes to 0xFEEx_xxxx and
// IO-APIC messages) unremapped, so dom0's own MSI/IO-APIC programming,
// trapped and rewritten by hv's vIO-APIC and MSI emulation, reaches the
// local APICs as hv wrote it. Interrupt remapping would also stop a device
// forging interrupt messages; it is left for later (the interrupt table
// would need one IRTE per vector hv hands out).
const DTEIntValid uint64 = 1 << 0 // IV, in quadword 2

// DTE is one device table entry: four little-endian quadwords.
type DTE [4]uint64

// TranslatedDTE returns the entry for a device whose DMA is translated by
// the I/O page table at root (levels deep, 1..6) in IOMMU domain domainID,
// with the given DMA permissions at the top level (each PTE narrows them).
//
// QEMU 7.2 rejects a DTE whose quadword 1 has bit 8 set
// (AMDVI_DTE_MIDDLE_QUAD_RESERVED, really DomainID bit 8) as an
// ILLEGAL_DEV_TABLE_ENTRY, so use domain IDs below 256 there.
func TranslatedDTE(root uint64, levels int, domainID uint16, perm Perm) (DTE, error) {
	if root&^dteRootMsk != 0 {
		return DTE{}, fmt.Errorf("amdvi: page-table root %#x is not a 4 KiB-aligned address below 2^52", root)
	}
	if levels < 1 || levels > 6 {
		return DTE{}, fmt.Errorf("amdvi: %d page-table levels (want 1..6)", levels)
	}
	q0 := DTEValid | DTETransV | uint64(levels)<<dteModeSh | root
	if perm&PermRead != 0 {
		q0 |= DTERead
	}
	if perm&PermWrite != 0 {
		q0 |= DTEWrite
	}
	return DTE{q0, uint64(domainID)}, nil
}

// BlockedDTE is the entry for a device that may not DMA at all: valid,
// translation valid, Mode 0, IR=IW=0, so every request is aborted. (Linux's
// init_device_table_dma gives every entry this value before it assigns
// devices; a zero entry, V=0, would let the device through untranslated.)
func BlockedDTE() DTE { return DTE{DTEValid | DTETransV} }

// Valid reports V.
func (d DTE) Valid() bool { return d[0]&DTEValid != 0 }

// Levels returns Mode: the page-table depth (0: untranslated).
func (d DTE) Levels() int { return int(d[0]>>dteModeSh) & 7 }

// Root returns the page-table root pointer.
func (d DTE) Root() uint64 { return d[0] & dteRootMsk }

// DomainID returns the IOMMU domain the device's TLB entries are tagged with.
func (d DTE) DomainID() uint16 { return uint16(d[1] & dteDomainMask) }

// Perm returns the DTE's IR/IW permissions.
func (d DTE) Perm() Perm {
	var p Perm
	if d[0]&DTERead != 0 {
		p |= PermRead
	}
	if d[0]&DTEWrite != 0 {
		p |= PermWrite
	}
	return p
}

// DeviceTable is the device table in memory: Entries consecutive DTEs from
// the 4 KiB-aligned physical address Base.
type DeviceTable struct {
	Base    uint64
	Entries int
	Mem     Memory
}

func (t *DeviceTable) slot(id uint16) (*[512]uint64, int, error) {
	if t == nil || t.Mem == nil || int(id) >= t.Entries {
		return nil, 0, fmt.Errorf("amdvi: device %s outside the device table", BDF(id))
	}
	off := uint64(id) * DTESize
	p := t.Mem.Table(t.Base + off&^0xfff)
	if p == nil {
		return nil, 0, fmt.Errorf("amdvi: device table page %#x not reachable", t.Base+off&^0xfff)
	}
	return p, int(off&0xfff) / 8, nil
}

// Set writes device id's entry. Quadword 0, which holds V, TV, Mode and the
// root, is written last, so the IOMMU never reads a valid entry with stale
// upper quadwords. The IOMMU may have cached the old entry: the caller
// follows with INVALIDATE_DEVTAB_ENTRY (and, if the domain changed, an
// INVALIDATE_IOMMU_PAGES for the old domain) and a completion wait.
func (t *DeviceTable) Set(id uint16, d DTE) error {
	p, i, err := t.slot(id)
	if err != nil {
		return err
	}
	p[i+3], p[i+2], p[i+1] = d[3], d[2], d[1]
	p[i] = d[0]
	return nil
}

// Get reads device id's entry.
func (t *DeviceTable) Get(id uint16) (DTE, error) {
	p, i, err := t.slot(id)
	if err != nil {
		return DTE{}, err
	}
	return DTE{p[i], p[i+1], p[i+2], p[i+3]}, nil
}

// Fill writes d to every entry (BlockedDTE before the IOMMU is enabled).
func (t *DeviceTable) Fill(d DTE) error {
	for id := 0; id < t.Entries; id++ {
		if err := t.Set(uint16(id), d); err != nil {
			return err
		}
	}
	return nil
}

// BDF formats a 16-bit device ID as bus:device.function.
type BDF uint16

func (b BDF) String() string {
	return fmt.Sprintf("%02x:%02x.%x", uint16(b)>>8, uint16(b)>>3&0x1f, uint16(b)&7)
}

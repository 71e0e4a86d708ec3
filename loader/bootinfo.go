package loader

import (
	"fmt"
	"math"
	"strings"

	"gozen/abi/xen"
)

// Guest-physical layout of the low memory GoZen gives a PVH domain; see
// GuestMemoryMap.
const (
	// BootInfoBase is where the boot information blob (BuildStartInfo)
	// goes: the second page of guest memory.
	BootInfoBase = 0x1000
	// BootInfoLimit is the most bytes the boot information may take: the two
	// pages [0x1000, 0x3000) that GuestMemoryMap marks reserved.
	BootInfoLimit = 0x2000
	// LowLoadLimit is the lowest address for kernel segments and modules
	// (pass it to Image.Check). Below it are the boot information, the free
	// low RAM Linux needs for its real-mode trampoline, and the legacy
	// VGA/BIOS hole.
	LowLoadLimit = 0x100000
	// ConsoleGFN and StoreGFN are the guest frames of the console ring and
	// the xenstore ring (HVM_PARAM_CONSOLE_PFN, HVM_PARAM_STORE_PFN), right
	// after the boot information and reserved with it.
	ConsoleGFN = (BootInfoBase + BootInfoLimit) / pageSize
	StoreGFN   = ConsoleGFN + 1
	// specialEnd ends the reserved special pages.
	specialEnd = (StoreGFN + 1) * pageSize

	legacyHoleStart = 0xA0000 // legacy VGA and BIOS area, reserved up to LowLoadLimit
	pageSize        = 0x1000
)

// GuestMemoryMap returns the E820-style memory map of a domain with memSize
// bytes of RAM from address 0:
//
//	[0,        0x1000)   RAM
//	[0x1000,   0x5000)   reserved: the boot information pages, the console
//	                     ring (0x3000) and the xenstore ring (0x4000)
//	[0x5000,   0x6000)   ACPI: the ACPI tables (ACPITables)
//	[0x6000,   0xA0000)  RAM (Linux needs some here for its real-mode trampoline)
//	[0xA0000,  0x100000) reserved: legacy VGA and BIOS
//	[0x100000, memSize)  RAM
//
// Entries are clipped to memSize, and empty ones are left out, so a domain
// smaller than 1 MiB gets a shorter map. The map is sorted and its entries
// do not overlap.
func GuestMemoryMap(memSize uint64) []xen.HVMMemmapEntry {
	layout := []struct {
		start, end uint64
		typ        uint32
	}{
		{0, BootInfoBase, xen.MemmapTypeRAM},
		{BootInfoBase, specialEnd, xen.MemmapTypeReserved},
		{ACPIBase, acpiEnd, xen.MemmapTypeACPI},
		{acpiEnd, legacyHoleStart, xen.MemmapTypeRAM},
		{legacyHoleStart, LowLoadLimit, xen.MemmapTypeReserved},
		{LowLoadLimit, memSize, xen.MemmapTypeRAM},
	}
	var m []xen.HVMMemmapEntry
	for _, r := range layout {
		end := min(r.end, memSize)
		if end > r.start {
			m = append(m, xen.HVMMemmapEntry{Addr: r.start, Size: end - r.start, Type: r.typ})
		}
	}
	return m
}

// Module is a boot module (such as an initrd) before placement.
type Module struct {
	Data    []byte
	Cmdline string
}

// ModulePlacement says where a module's contents are in guest memory, for the
// hvm_start_info module list.
type ModulePlacement struct {
	Paddr, Size uint64
	Cmdline     string
}

// BootInfo is the boot information blob BuildStartInfo builds. The caller
// copies Bytes to guest-physical address Paddr and starts the kernel with
// ebx = StartInfo.
type BootInfo struct {
	Paddr     uint64 // guest-physical address of Bytes[0]
	Bytes     []byte // the blob: start info, memory map, module list, command lines
	StartInfo uint64 // guest-physical address of the hvm_start_info (Paddr today)
}

// PlaceModules chooses where the modules' contents go: one after another,
// each page-aligned, starting at the first page above the image. It fails if
// they do not fit below memSize. Module 0 is the one Linux uses as its
// initrd. The caller copies mods[i].Data to the returned Paddr.
func (im *Image) PlaceModules(memSize uint64, mods []Module) ([]ModulePlacement, error) {
	at := alignUp(max(im.End(), LowLoadLimit), pageSize)
	if at < im.End() {
		return nil, fmt.Errorf("the image ends at %#x, leaving no room for modules", im.End())
	}
	out := make([]ModulePlacement, 0, len(mods))
	for i, m := range mods {
		size := uint64(len(m.Data))
		end := at + size
		if end < at || end > memSize {
			return nil, fmt.Errorf("module %d (%s) does not fit: it would end at %#x, beyond the domain's %s of memory",
				i, sizeString(size), end, sizeString(memSize))
		}
		out = append(out, ModulePlacement{Paddr: at, Size: size, Cmdline: m.Cmdline})
		at = alignUp(end, pageSize)
		if at < end {
			at = end // only reachable at the top of the address space; the next module fails above
		}
	}
	return out, nil
}

// BuildStartInfo lays out the PVH boot information as one blob to be placed
// at guest-physical address base (page aligned, non-zero) and at most limit
// bytes long:
//
//	+0  hvm_start_info, version 1, with magic, flags, rsdp_paddr = rsdp (the
//	    ACPI tables' RSDP, placed by the caller; 0 for none) and the
//	    pointers below
//	    the memory map: len(memmap) hvm_memmap_table_entry values
//	    the module list: len(mods) hvm_modlist_entry values (8-byte aligned)
//	    the kernel command line, NUL-terminated
//	    each module's command line, NUL-terminated
//
// An empty memory map, module list or command line gets a zero address
// (Xen's "not present") instead of a pointer. Module contents are not part of
// the blob: the caller has placed them (see Image.PlaceModules) and passes
// their addresses in mods. The whole blob lies below 4 GiB, where the 32-bit
// entry code can read it.
func BuildStartInfo(base, limit uint64, memmap []xen.HVMMemmapEntry, cmdline string,
	mods []ModulePlacement, flags uint32, rsdp uint64) (BootInfo, error) {
	if base == 0 || base%pageSize != 0 {
		return BootInfo{}, fmt.Errorf("boot information address %#x is not a non-zero multiple of the page size", base)
	}
	if err := checkString("the command line", cmdline); err != nil {
		return BootInfo{}, err
	}
	if uint64(len(memmap)) > math.MaxUint32 || uint64(len(mods)) > math.MaxUint32 {
		return BootInfo{}, fmt.Errorf("too many memory map entries (%d) or modules (%d) for hvm_start_info", len(memmap), len(mods))
	}
	for i, e := range memmap {
		if e.Addr+e.Size < e.Addr {
			return BootInfo{}, fmt.Errorf("memory map entry %d at %#x with size %#x wraps around the address space", i, e.Addr, e.Size)
		}
	}
	for i, m := range mods {
		if m.Paddr == 0 {
			return BootInfo{}, fmt.Errorf("module %d has address 0, which hvm_start_info reads as \"no module\"", i)
		}
		if m.Paddr+m.Size < m.Paddr {
			return BootInfo{}, fmt.Errorf("module %d at %#x with size %#x wraps around the address space", i, m.Paddr, m.Size)
		}
		if err := checkString(fmt.Sprintf("module %d's command line", i), m.Cmdline); err != nil {
			return BootInfo{}, err
		}
	}

	// Offsets inside the blob. Lengths of in-memory slices and strings are
	// far below 2^58, so these sums cannot overflow.
	memmapOff := uint64(xen.HVMStartInfoSize)
	modlistOff := alignUp(memmapOff+uint64(len(memmap))*xen.HVMMemmapEntrySize, 8)
	cmdlineOff := modlistOff + uint64(len(mods))*xen.HVMModlistEntrySize
	size := cmdlineOff
	if cmdline != "" {
		size += uint64(len(cmdline)) + 1
	}
	for _, m := range mods {
		if m.Cmdline != "" {
			size += uint64(len(m.Cmdline)) + 1
		}
	}
	if size > limit {
		return BootInfo{}, fmt.Errorf("boot information needs %d bytes (%d memory map entries, %d modules, %d-byte command line) but only %d fit at %#x",
			size, len(memmap), len(mods), len(cmdline), limit, base)
	}
	if base > 1<<32-size {
		return BootInfo{}, fmt.Errorf("boot information [%#x-%#x) must lie below 4 GiB, where the 32-bit entry code can reach it",
			base, base+size)
	}
	end := base + size
	for i, m := range mods {
		if m.Paddr < end && base < m.Paddr+m.Size {
			return BootInfo{}, fmt.Errorf("module %d [%#x-%#x) overlaps the boot information [%#x-%#x)",
				i, m.Paddr, m.Paddr+m.Size, base, end)
		}
	}

	blob := make([]byte, size)
	si := xen.HVMStartInfo{
		Magic:     xen.HVMStartInfoMagic,
		Version:   xen.HVMStartInfoVersion,
		Flags:     flags,
		RsdpPaddr: rsdp,
	}
	if len(memmap) > 0 {
		si.MemmapPaddr = base + memmapOff
		si.MemmapEntries = uint32(len(memmap))
		for i := range memmap {
			memmap[i].Encode(blob[memmapOff+uint64(i)*xen.HVMMemmapEntrySize:])
		}
	}
	str := cmdlineOff // where the next string goes
	putString := func(s string) uint64 {
		if s == "" {
			return 0
		}
		gpa := base + str
		copy(blob[str:], s) // the NUL is already there: blob starts zeroed
		str += uint64(len(s)) + 1
		return gpa
	}
	si.CmdlinePaddr = putString(cmdline)
	if len(mods) > 0 {
		si.NrModules = uint32(len(mods))
		si.ModlistPaddr = base + modlistOff
		for i, m := range mods {
			e := xen.HVMModlistEntry{Paddr: m.Paddr, Size: m.Size, CmdlinePaddr: putString(m.Cmdline)}
			e.Encode(blob[modlistOff+uint64(i)*xen.HVMModlistEntrySize:])
		}
	}
	si.Encode(blob)
	return BootInfo{Paddr: base, Bytes: blob, StartInfo: base}, nil
}

// checkString rejects strings the guest could not read back whole.
func checkString(what, s string) error {
	if i := strings.IndexByte(s, 0); i >= 0 {
		return fmt.Errorf("%s contains a NUL byte at offset %d", what, i)
	}
	return nil
}

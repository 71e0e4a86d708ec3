package rt

import (
	"unsafe"

	"gozen/arch/amd64"
	"gozen/boot/multiboot"
	"gozen/mm"
	"gozen/mm/pgtable"
)

// Dom0RAM returns the host RAM set aside for dom0 (empty without a dom0=
// option): the usable RAM below 640 KiB, which rt leaves alone (Linux needs
// some there for its real-mode trampoline), and [Dom0Base, Dom0Base+mem),
// which memInit kept out of both pools. dom0 gets these frames at their
// own addresses.
func Dom0RAM() []mm.Range {
	if dom0RAM.Empty() {
		return nil
	}
	var out []mm.Range
	info := &BootInfo
	for i := 0; i < info.NRegions; i++ {
		r := info.Regions[i]
		if r.Type != multiboot.RegionUsable || r.Base >= lowMemEnd {
			continue
		}
		s, e := (r.Base+0xfff)&^0xfff, min(r.Base+r.Len, lowMemEnd)&^0xfff
		if s < e {
			out = append(out, mm.Range{Start: s, End: subtractReserved(mm.Range{Start: s, End: e}).End})
		}
	}
	return append(out, dom0RAM)
}

// MemoryMap returns the firmware's memory map as the boot loader gave it.
func MemoryMap() []multiboot.Region { return BootInfo.Regions[:BootInfo.NRegions] }

// RSDP returns the physical address of the copy of the ACPI RSDP in the
// multiboot2 information (0 for multiboot1, or when the loader gave none).
// The copy may be overwritten once dom0 runs: read it before.
func RSDP() uint64 { return BootInfo.RSDP }

// ReadFirmware copies physical memory at pa into p: firmware tables (ACPI,
// the BIOS area) that the direct map, which covers RAM only, may not map.
// Missing pages are mapped read-only, uncached and non-executable, and stay
// mapped. Page 0 is refused (it stays unmapped so nil dereferences fault),
// as is anything at or above 512 GiB. It reports false if it could not read
// all of p.
func ReadFirmware(pa uint64, p []byte) bool {
	n := uint64(len(p))
	if n == 0 {
		return true
	}
	if pa < pageSize || pa+n < pa || pa+n > directMapLimit {
		return false
	}
	amd64.DisableInterrupts()
	mapped := false
	ok := true
	for a := pa &^ 0xfff; a < pa+n; a += pageSize {
		if _, _, _, present := kpt.Lookup(a); present {
			continue
		}
		if err := kpt.Map(a, a, pgtable.Size4K, pgtable.Present|pgtable.NoExec|pgtable.CacheDisable); err != nil {
			ok = false
			break
		}
		mapped = true
	}
	if mapped {
		amd64.WriteCR3(kpt.Root)
	}
	amd64.EnableInterrupts()
	if !ok {
		return false
	}
	copy(p, unsafe.Slice((*byte)(unsafe.Pointer(uintptr(pa))), n))
	return true
}

// DebugExitPort is the I/O port hv's stop code goes to (QEMU's
// isa-debug-exit, iosize 4 in GoZen's scenarios).
const DebugExitPort = 0xF4

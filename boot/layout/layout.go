// Package layout describes where the pieces of the hv image sit in physical
// memory. tools/mkimage computes it from the linked ELF and writes it into
// the image (into rt's copy of Layout); the runtime layer reads it at boot to
// build page tables and keep the frame allocator off the image.
//
// It is a leaf shared by the image builder (host) and hv (bare metal).
package layout

// Magic values of Layout.Magic: Unpatched in the binary as linked, Patched
// once mkimage has filled the fields in.
const (
	Unpatched = 0x474f5a454e2d4c30 // "GOZEN-L0"
	Patched   = 0x474f5a454e2d4c31 // "GOZEN-L1"
)

// Layout is the physical memory map of the hv image. Addresses are physical
// and, because hv runs identity-mapped, also virtual. All fields are uint64
// so the encoding is eight bytes per field in declaration order.
type Layout struct {
	Magic        uint64
	ImageStart   uint64 // first byte: the page holding the multiboot headers and boot stub
	TextEnd      uint64 // end of executable code
	RodataStart  uint64 // read-only data
	RodataEnd    uint64
	DataStart    uint64 // writable data, then bss
	BssEnd       uint64
	StubTables   uint64 // page tables the 32-bit stub builds (identity map of 4 GiB)
	ImageEnd     uint64 // end of everything a loader must leave alone
	RuntimeEntry uint64 // the Go runtime's ELF entry point (_rt0_amd64_linux)
	StubEntry    uint64 // 32-bit entry point
}

// NumFields is the number of uint64 fields in Layout.
const NumFields = 11

// Boot stub constants shared by the image builder and the runtime.
const (
	StubTablePages = 6 // PML4, PDPT and four page directories of 2 MiB pages
	StubMapLimit   = 4 << 30
)

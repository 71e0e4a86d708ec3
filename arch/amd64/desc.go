package amd64

import "encoding/binary"

// Segment selectors of GoZen's GDT. The layout is fixed: the boot stub's
// temporary GDT uses the same kernel selectors, and SYSCALL loads CS/SS from
// MSR_STAR.
const (
	SelKernelCode = 0x08
	SelKernelData = 0x10
	SelUserCode32 = 0x18
	SelUserData   = 0x20
	SelUserCode64 = 0x28
	SelTSS        = 0x30
	GDTEntries    = 8 // null, 5 segments, TSS (two slots)
)

// Flat 64-bit code and 4 GiB data descriptors (Intel SDM vol. 3 §3.4.5).
const (
	DescKernelCode64 = 0x00AF9A000000FFFF // P, DPL0, code exec/read, L=1, G=1
	DescKernelData   = 0x00CF92000000FFFF // P, DPL0, data read/write, D/B=1, G=1
	DescUserCode32   = 0x00CFFA000000FFFF
	DescUserData     = 0x00CFF2000000FFFF
	DescUserCode64   = 0x00AFFA000000FFFF
)

// TSSDescriptor encodes an available 64-bit TSS descriptor (type 9) for a TSS
// at base with the given limit, as the two GDT slots it occupies.
func TSSDescriptor(base uint64, limit uint32) (lo, hi uint64) {
	lo = uint64(limit&0xffff) |
		(base&0xffffff)<<16 |
		uint64(0x89)<<40 | // P=1, DPL=0, type=9
		uint64((limit>>16)&0xf)<<48 |
		((base>>24)&0xff)<<56
	hi = base >> 32
	return
}

// Gate types for IDTGate.
const (
	GateInterrupt = 0x8E // present, DPL0, 64-bit interrupt gate (clears IF)
	GateTrap      = 0x8F // present, DPL0, 64-bit trap gate
)

// IDTGate encodes a 16-byte IDT gate descriptor pointing at handler through
// code selector sel, switching to interrupt stack table entry ist (0 = none).
func IDTGate(handler uint64, sel uint16, ist uint8, typ uint8) (lo, hi uint64) {
	lo = handler&0xffff |
		uint64(sel)<<16 |
		uint64(ist&7)<<32 |
		uint64(typ)<<40 |
		((handler>>16)&0xffff)<<48
	hi = handler >> 32
	return
}

// TSSSize is the size of a 64-bit task-state segment.
const TSSSize = 104

// TSS is a 64-bit task-state segment (Intel SDM vol. 3 §8.7). Its 64-bit
// fields sit at 4-byte offsets, so it is kept as bytes.
type TSS [TSSSize]byte

// Offsets of TSS fields.
const (
	TSSOffRSP0  = 4
	TSSOffIST1  = 36
	TSSOffIOMap = 102
)

// SetIST sets interrupt stack table entry n (1..7) to the stack top sp.
func (t *TSS) SetIST(n int, sp uint64) {
	if n < 1 || n > 7 {
		return
	}
	binary.LittleEndian.PutUint64(t[TSSOffIST1+8*(n-1):], sp)
}

// IST returns interrupt stack table entry n.
func (t *TSS) IST(n int) uint64 {
	if n < 1 || n > 7 {
		return 0
	}
	return binary.LittleEndian.Uint64(t[TSSOffIST1+8*(n-1):])
}

// SetRSP0 sets the stack used on a privilege change to ring 0.
func (t *TSS) SetRSP0(sp uint64) { binary.LittleEndian.PutUint64(t[TSSOffRSP0:], sp) }

// DisableIOMap puts the I/O permission bitmap beyond the segment limit, so
// ring 3 has no port access.
func (t *TSS) DisableIOMap() { binary.LittleEndian.PutUint16(t[TSSOffIOMap:], TSSSize) }

// DescriptorPointer is the 10-byte operand of LGDT/LIDT.
type DescriptorPointer struct {
	Limit uint16
	Base  uint64
}

// Encode writes the pointer in the packed layout LGDT/LIDT read.
func (p DescriptorPointer) Encode(b *[10]byte) {
	binary.LittleEndian.PutUint16(b[0:], p.Limit)
	binary.LittleEndian.PutUint64(b[2:], p.Base)
}

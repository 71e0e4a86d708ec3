// Package image turns the linked hv ELF (a static GOOS=linux Go program) into
// a bootable multiboot image.
//
// The result is a flat binary loaded at the ELF's base address (tools/mkimage links hv at 0xA00000):
//
//	+0x000  multiboot1 header with address fields (QEMU -kernel, GRUB multiboot)
//	+0x020  multiboot2 header with address, entry and module-alignment tags (GRUB multiboot2)
//	+0x080  temporary GDT (null, 64-bit code 0x08, data 0x10) and its pointer
//	+0x0A8  slots where the stub saves the loader's EAX (magic) and EBX (info)
//	+0x0C0  error messages the stub prints when the CPU cannot run hv
//	+0x200  32-bit boot stub: checks long mode and NX, identity-maps 4 GiB
//	        with 2 MiB pages, enables PAE/LME/NXE/SCE and SSE, jumps to rt.entry64
//	+0x1000 Go .text, then .rodata, .data, .bss as the Go linker laid them out
//	ImageEnd-6 pages: the stub's page tables (zeroed by the loader as bss)
//
// The first page of the ELF holds only the ELF and program headers and Go's
// build-id notes, which nothing reads at run time, so the stub takes their place.
package image

import (
	"encoding/binary"
	"errors"
	"fmt"

	"gozen/boot/layout"
)

// Offsets inside the first page.
const (
	OffMB1       = 0x000
	OffMB2       = 0x020
	OffGDT       = 0x080
	OffGDTR      = 0x0A0
	OffMagicSlot = 0x0A8
	OffInfoSlot  = 0x0AC
	OffMessages  = 0x0C0
	OffStub      = 0x200
	StubLimit    = 0x1000
	pageSize     = 0x1000
)

// MaxImageSize bounds the loaded image (text, data, bss and boot tables).
const MaxImageSize = 16 << 20

// Multiboot constants.
const (
	MB1HeaderMagic = 0x1BADB002
	MB1Flags       = 1<<0 | 1<<1 | 1<<16 // page-align modules, want memory info, address fields valid
	MB2HeaderMagic = 0xE85250D6
	MB1LoaderMagic = 0x2BADB002
	MB2LoaderMagic = 0x36D76289
)

// Segment is one loadable piece of the program.
type Segment struct {
	Vaddr uint64
	Data  []byte // file contents
	Memsz uint64
	Exec  bool
	Write bool
}

// Program is what Build needs from the linked ELF.
type Program struct {
	Segments  []Segment // in address order
	Entry     uint64    // the Go runtime entry (_rt0_amd64_linux)
	Entry64   uint64    // address of rt.entry64
	LayoutSym uint64    // address of rt's layout variable
	TextStart uint64    // address of the first instruction of .text
}

// Build lays the program out as a flat image and installs the headers and stub.
func Build(p Program) ([]byte, layout.Layout, error) {
	var l layout.Layout
	if len(p.Segments) != 3 || !p.Segments[0].Exec || p.Segments[1].Exec || p.Segments[1].Write || !p.Segments[2].Write {
		return nil, l, errors.New("image: want three segments: text (RX), rodata (R), data+bss (RW)")
	}
	base := p.Segments[0].Vaddr
	if base%pageSize != 0 || base >= 1<<32 {
		return nil, l, fmt.Errorf("image: base %#x not page aligned below 4 GiB", base)
	}
	if p.TextStart < base+StubLimit {
		return nil, l, fmt.Errorf("image: .text at %#x leaves no room for the stub page at %#x", p.TextStart, base)
	}
	// .text and rt.entry64 must lie in the text segment's contents: the
	// stub page is overwritten and the rest of TextEnd's page is padding.
	textEnd := base + p.Segments[0].Memsz
	if p.TextStart >= textEnd {
		return nil, l, fmt.Errorf("image: .text at %#x is outside the text segment [%#x, %#x)", p.TextStart, base, textEnd)
	}
	if p.Entry64 < p.TextStart || p.Entry64 >= textEnd {
		return nil, l, fmt.Errorf("image: rt.entry64 at %#x is outside .text [%#x, %#x)", p.Entry64, p.TextStart, textEnd)
	}
	var fileEnd uint64
	for i, s := range p.Segments {
		if s.Vaddr%pageSize != 0 || uint64(len(s.Data)) > s.Memsz {
			return nil, l, fmt.Errorf("image: segment %d malformed", i)
		}
		if i > 0 && s.Vaddr < p.Segments[i-1].Vaddr+p.Segments[i-1].Memsz {
			return nil, l, fmt.Errorf("image: segment %d overlaps its predecessor", i)
		}
		if i < len(p.Segments)-1 && uint64(len(s.Data)) != s.Memsz {
			return nil, l, fmt.Errorf("image: segment %d has bss but is not last", i)
		}
		fileEnd = s.Vaddr + uint64(len(s.Data))
	}
	img := make([]byte, fileEnd-base)
	for _, s := range p.Segments {
		copy(img[s.Vaddr-base:], s.Data)
	}
	data := p.Segments[2]
	l = layout.Layout{
		Magic:        layout.Patched,
		ImageStart:   base,
		TextEnd:      alignUp(p.Segments[0].Vaddr+p.Segments[0].Memsz, pageSize),
		RodataStart:  p.Segments[1].Vaddr,
		RodataEnd:    alignUp(p.Segments[1].Vaddr+p.Segments[1].Memsz, pageSize),
		DataStart:    data.Vaddr,
		BssEnd:       data.Vaddr + data.Memsz,
		RuntimeEntry: p.Entry,
		StubEntry:    base + OffStub,
	}
	l.StubTables = alignUp(l.BssEnd, pageSize)
	l.ImageEnd = l.StubTables + layout.StubTablePages*pageSize
	if l.ImageEnd > layout.StubMapLimit {
		return nil, l, errors.New("image: image must end below 4 GiB")
	}
	if l.ImageEnd-l.ImageStart > MaxImageSize {
		return nil, l, fmt.Errorf("image: hv takes %d MiB with its bss (limit %d MiB): a dependency brought a large static array "+
			"(go tool nm -size -sort size out/hv.elf shows which); hv must fit in small machines to report too little RAM",
			(l.ImageEnd-l.ImageStart)>>20, MaxImageSize>>20)
	}
	for i := range img[:StubLimit] {
		img[i] = 0
	}
	putMB1(img, l, fileEnd)
	putMB2(img, l, fileEnd)
	putGDT(img, base)
	stub, err := buildStub(l, p.Entry64)
	if err != nil {
		return nil, l, err
	}
	if OffStub+len(stub) > StubLimit {
		return nil, l, fmt.Errorf("image: stub is %d bytes, too big", len(stub))
	}
	copy(img[OffStub:], stub)
	copy(img[OffMessages:OffStub], messages)
	if err := patchLayout(img, base, p.LayoutSym, l); err != nil {
		return nil, l, err
	}
	return img, l, nil
}

// checksum returns the value that makes the header words sum to 0 mod 2^32.
func checksum(words ...uint32) uint32 {
	var s uint32
	for _, w := range words {
		s += w
	}
	return -s
}

func alignUp(v, a uint64) uint64 { return (v + a - 1) &^ (a - 1) }

var le = binary.LittleEndian

func putMB1(img []byte, l layout.Layout, fileEnd uint64) {
	h := img[OffMB1:]
	le.PutUint32(h[0:], MB1HeaderMagic)
	le.PutUint32(h[4:], MB1Flags)
	le.PutUint32(h[8:], checksum(MB1HeaderMagic, MB1Flags))
	le.PutUint32(h[12:], uint32(l.ImageStart+OffMB1)) // header_addr
	le.PutUint32(h[16:], uint32(l.ImageStart))        // load_addr
	le.PutUint32(h[20:], uint32(fileEnd))             // load_end_addr
	le.PutUint32(h[24:], uint32(l.ImageEnd))          // bss_end_addr: bss and the stub's tables are zeroed by the loader
	le.PutUint32(h[28:], uint32(l.StubEntry))         // entry_addr
}

// MB2HeaderLen is the length of the multiboot2 header putMB2 writes.
const MB2HeaderLen = 16 + 24 + 16 + 8 + 8

func putMB2(img []byte, l layout.Layout, fileEnd uint64) {
	h := img[OffMB2:]
	le.PutUint32(h[0:], MB2HeaderMagic)
	le.PutUint32(h[4:], 0) // architecture: i386 protected mode
	le.PutUint32(h[8:], MB2HeaderLen)
	le.PutUint32(h[12:], checksum(MB2HeaderMagic, 0, MB2HeaderLen))
	t := h[16:]
	// Address tag (type 2).
	le.PutUint16(t[0:], 2)
	le.PutUint16(t[2:], 0)
	le.PutUint32(t[4:], 24)
	le.PutUint32(t[8:], uint32(l.ImageStart+OffMB2))
	le.PutUint32(t[12:], uint32(l.ImageStart))
	le.PutUint32(t[16:], uint32(fileEnd))
	le.PutUint32(t[20:], uint32(l.ImageEnd))
	// Entry address tag (type 3), padded to 8 bytes.
	t = t[24:]
	le.PutUint16(t[0:], 3)
	le.PutUint32(t[4:], 12)
	le.PutUint32(t[8:], uint32(l.StubEntry))
	// Module alignment tag (type 6): page-align modules.
	t = t[16:]
	le.PutUint16(t[0:], 6)
	le.PutUint32(t[4:], 8)
	// End tag.
	t = t[8:]
	le.PutUint16(t[0:], 0)
	le.PutUint32(t[4:], 8)
}

func putGDT(img []byte, base uint64) {
	le.PutUint64(img[OffGDT+0:], 0)
	le.PutUint64(img[OffGDT+8:], 0x00AF9A000000FFFF)  // 0x08: 64-bit code
	le.PutUint64(img[OffGDT+16:], 0x00CF92000000FFFF) // 0x10: data
	le.PutUint16(img[OffGDTR:], 3*8-1)
	le.PutUint32(img[OffGDTR+2:], uint32(base+OffGDT))
}

const (
	msgNoLM = "\r\nhv: boot error: this CPU has no long mode (x86-64); GoZen needs a 64-bit CPU\r\n\x00"
	msgNoNX = "\r\nhv: boot error: this CPU has no NX (no-execute) support\r\n\x00"
)

var messages = []byte(msgNoLM + msgNoNX)

// ExitBadBoot is the isa-debug-exit code the stub writes on a CPU it cannot use.
const ExitBadBoot = 2

// buildStub assembles the 32-bit entry. On entry (multiboot): protected mode,
// paging off, flat segments, EAX = loader magic, EBX = info address.
func buildStub(l layout.Layout, entry64 uint64) ([]byte, error) {
	if entry64 < l.ImageStart || entry64 >= l.TextEnd {
		return nil, fmt.Errorf("image: rt.entry64 at %#x is outside .text", entry64)
	}
	base := uint32(l.ImageStart)
	pt := uint32(l.StubTables)
	a := newAsm32(base + OffStub)
	a.cli()
	a.cld()
	a.movMemReg(base+OffMagicSlot, eax)
	a.movMemReg(base+OffInfoSlot, ebx)
	// Long mode and NX are required; say so instead of faulting.
	a.movRegImm(eax, 0x80000000)
	a.cpuid()
	a.cmpRegImm(eax, 0x80000001)
	a.jcc(ccB, "nolm")
	a.movRegImm(eax, 0x80000001)
	a.cpuid()
	a.testRegImm(edx, 1<<29)
	a.jcc(ccZ, "nolm")
	a.testRegImm(edx, 1<<20)
	a.jcc(ccZ, "nonx")
	// Zero the six table pages (the loader should have, as bss; be sure).
	a.movRegImm(edi, pt)
	a.movRegImm(ecx, layout.StubTablePages*pageSize/4)
	a.xorRegReg(eax, eax)
	a.repStosd()
	// PML4[0] -> PDPT; PDPT[0..3] -> PD0..PD3.
	a.movMemImm(pt, pt+0x1000+3)
	for i := uint32(0); i < 4; i++ {
		a.movMemImm(pt+0x1000+8*i, pt+0x2000+0x1000*i+3)
	}
	// PD entries: 2048 x 2 MiB pages, present|writable|huge, covering 4 GiB.
	a.movRegImm(edi, pt+0x2000)
	a.movRegImm(eax, 0x83)
	a.movRegImm(ecx, 2048)
	a.label("fill")
	a.movIndReg(edi, eax)
	a.addRegImm(eax, 0x200000)
	a.addRegImm(edi, 8)
	a.decReg(ecx)
	a.jcc(ccNZ, "fill")
	// CR4: PAE | OSFXSR | OSXMMEXCPT (SSE is needed by Go code).
	a.movRegImm(eax, 1<<5|1<<9|1<<10)
	a.movCR(4, eax)
	a.movRegImm(eax, pt)
	a.movCR(3, eax)
	// EFER: SCE | LME | NXE.
	a.movRegImm(ecx, 0xC0000080)
	a.rdmsr()
	a.orRegImm(eax, 1<<0|1<<8|1<<11)
	a.wrmsr()
	a.lgdt(base + OffGDTR)
	// CR0: clear EM, TS, NW, CD; set PE, MP, NE, PG. Long mode is now active.
	a.movFromCR(eax, 0)
	a.andRegImm(eax, ^uint32(1<<2|1<<3|1<<29|1<<30))
	a.orRegImm(eax, 1<<0|1<<1|1<<5|1<<31)
	a.movCR(0, eax)
	// rt.entry64 takes the magic in EDI and the info address in ESI.
	a.movRegMem(edi, base+OffMagicSlot)
	a.movRegMem(esi, base+OffInfoSlot)
	a.ljmp(0x08, uint32(entry64))

	a.label("nolm")
	a.movRegImm(esi, base+OffMessages)
	a.jmp("fail")
	a.label("nonx")
	a.movRegImm(esi, base+OffMessages+uint32(len(msgNoLM)))
	// fail: print the NUL-terminated string at ESI on COM1, exit QEMU through
	// isa-debug-exit if present, and halt.
	a.label("fail")
	a.movzxRegMem8(ebx, esi)
	a.testRegReg(ebx, ebx)
	a.jcc(ccZ, "stop")
	a.movRegImm(ecx, 100000)
	a.label("wait")
	a.movDxImm(0x3F8 + 5)
	a.inAlDx()
	a.testAlImm(0x20)
	a.jcc(ccNZ, "ready")
	a.decReg(ecx)
	a.jcc(ccNZ, "wait")
	a.label("ready")
	a.movRegReg(eax, ebx)
	a.movDxImm(0x3F8)
	a.outDxAl()
	a.incReg(esi)
	a.jmp("fail")
	a.label("stop")
	a.movDxImm(0xF4)
	a.movAlImm(ExitBadBoot)
	a.outDxAl()
	a.label("halt")
	a.cli()
	a.hlt()
	a.jmp("halt")
	return a.finish()
}

// patchLayout writes l into the image at the address of rt's layout variable,
// after checking that the variable holds the unpatched magic.
func patchLayout(img []byte, base, sym uint64, l layout.Layout) error {
	if sym < base || sym+8*layout.NumFields > base+uint64(len(img)) {
		return fmt.Errorf("image: layout variable at %#x is not in the file-backed image", sym)
	}
	off := sym - base
	if le.Uint64(img[off:]) != layout.Unpatched {
		return fmt.Errorf("image: layout variable at %#x does not hold the expected magic", sym)
	}
	f := []uint64{l.Magic, l.ImageStart, l.TextEnd, l.RodataStart, l.RodataEnd, l.DataStart,
		l.BssEnd, l.StubTables, l.ImageEnd, l.RuntimeEntry, l.StubEntry}
	if len(f) != layout.NumFields {
		return errors.New("image: layout field count mismatch")
	}
	for i, v := range f {
		le.PutUint64(img[off+8*uint64(i):], v)
	}
	return nil
}

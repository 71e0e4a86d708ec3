package loader

import (
	"encoding/binary"

	"gozen/abi/xen"
)

// This file builds small ELF files for the tests, field by field from the
// System V gABI layouts, so that every test input is explicit.

// tseg is one PT_LOAD segment of a test file.
type tseg struct {
	paddr uint64
	data  []byte
	memsz uint64
}

// tnotes is the content of one PT_NOTE segment or SHT_NOTE section.
type tnotes struct {
	data  []byte
	align uint64
}

// telf describes a test ELF file.
type telf struct {
	class   int    // 32 or 64
	machine uint16 // 0 means EM_X86_64
	typ     uint16 // 0 means ET_EXEC
	segs    []tseg
	notes   []tnotes // PT_NOTE segments
	sects   []tnotes // SHT_NOTE sections, not covered by any PT_NOTE
}

func (e telf) sizes() (ehdr, phdr, shdr int) {
	if e.class == 32 {
		return 52, 32, 40
	}
	return 64, 56, 64
}

// phdrOff returns the file offset of program header i (they follow the ELF
// header).
func (e telf) phdrOff(i int) int {
	eh, ph, _ := e.sizes()
	return eh + i*ph
}

// build lays out: ELF header, program headers (segments, then notes), the
// contents of each segment, note segment and note section (8-byte aligned),
// then the section headers (a null one, then one per sects entry).
func (e telf) build() []byte {
	ehdrSize, phdrSize, shdrSize := e.sizes()
	machine, typ := e.machine, e.typ
	if machine == 0 {
		machine = emX8664
	}
	if typ == 0 {
		typ = etExec
	}
	nph := len(e.segs) + len(e.notes)
	b := make([]byte, ehdrSize+nph*phdrSize)
	pad8 := func() {
		for len(b)%8 != 0 {
			b = append(b, 0)
		}
	}
	type ph struct {
		typ                              uint32
		off, paddr, filesz, memsz, align uint64
	}
	var phs []ph
	for _, s := range e.segs {
		pad8()
		phs = append(phs, ph{ptLoad, uint64(len(b)), s.paddr, uint64(len(s.data)), s.memsz, 0x1000})
		b = append(b, s.data...)
	}
	for _, n := range e.notes {
		pad8()
		phs = append(phs, ph{ptNote, uint64(len(b)), 0, uint64(len(n.data)), uint64(len(n.data)), n.align})
		b = append(b, n.data...)
	}
	var sectOffs []uint64
	for _, n := range e.sects {
		pad8()
		sectOffs = append(sectOffs, uint64(len(b)))
		b = append(b, n.data...)
	}
	pad8()
	shoff := uint64(len(b))
	shnum := 0
	if len(e.sects) > 0 {
		shnum = 1 + len(e.sects)
		b = append(b, make([]byte, shnum*shdrSize)...)
	}

	le := binary.LittleEndian
	copy(b, "\x7fELF")
	b[5], b[6] = elfData2LSB, evCurrent
	le.PutUint16(b[16:], typ)
	le.PutUint16(b[18:], machine)
	le.PutUint32(b[20:], 1)
	if e.class == 32 {
		b[4] = elfClass32
		le.PutUint32(b[24:], 0x100000) // e_entry: unused by PVH
		le.PutUint32(b[28:], uint32(ehdrSize))
		le.PutUint32(b[32:], uint32(shoff))
		le.PutUint16(b[40:], uint16(ehdrSize))
		le.PutUint16(b[42:], uint16(phdrSize))
		le.PutUint16(b[44:], uint16(nph))
		le.PutUint16(b[46:], uint16(shdrSize))
		le.PutUint16(b[48:], uint16(shnum))
	} else {
		b[4] = elfClass64
		le.PutUint64(b[24:], 0xffffffff81000000)
		le.PutUint64(b[32:], uint64(ehdrSize))
		le.PutUint64(b[40:], shoff)
		le.PutUint16(b[52:], uint16(ehdrSize))
		le.PutUint16(b[54:], uint16(phdrSize))
		le.PutUint16(b[56:], uint16(nph))
		le.PutUint16(b[58:], uint16(shdrSize))
		le.PutUint16(b[60:], uint16(shnum))
	}
	if shnum == 0 {
		if e.class == 32 {
			le.PutUint32(b[32:], 0)
		} else {
			le.PutUint64(b[40:], 0)
		}
	}
	for i, p := range phs {
		h := b[e.phdrOff(i):]
		if e.class == 32 {
			le.PutUint32(h[0:], p.typ)
			le.PutUint32(h[4:], uint32(p.off))
			le.PutUint32(h[8:], uint32(p.paddr)) // vaddr = paddr in 32-bit kernels
			le.PutUint32(h[12:], uint32(p.paddr))
			le.PutUint32(h[16:], uint32(p.filesz))
			le.PutUint32(h[20:], uint32(p.memsz))
			le.PutUint32(h[24:], 5)
			le.PutUint32(h[28:], uint32(p.align))
		} else {
			le.PutUint32(h[0:], p.typ)
			le.PutUint32(h[4:], 5)
			le.PutUint64(h[8:], p.off)
			le.PutUint64(h[16:], p.paddr+0xffffffff80000000) // like vmlinux: vaddr != paddr
			le.PutUint64(h[24:], p.paddr)
			le.PutUint64(h[32:], p.filesz)
			le.PutUint64(h[40:], p.memsz)
			le.PutUint64(h[48:], p.align)
		}
	}
	for i, n := range e.sects {
		h := b[shoff+uint64((i+1)*shdrSize):]
		if e.class == 32 {
			le.PutUint32(h[4:], shtNote)
			le.PutUint32(h[16:], uint32(sectOffs[i]))
			le.PutUint32(h[20:], uint32(len(n.data)))
			le.PutUint32(h[32:], uint32(n.align))
		} else {
			le.PutUint32(h[4:], shtNote)
			le.PutUint64(h[24:], sectOffs[i])
			le.PutUint64(h[32:], uint64(len(n.data)))
			le.PutUint64(h[48:], n.align)
		}
	}
	return b
}

// note encodes one ELF note with the given name, type and payload, starting
// the payload and the next note at multiples of pad bytes.
func note(name string, typ uint32, desc []byte, pad int) []byte {
	var b []byte
	namesz := 0
	if name != "" {
		namesz = len(name) + 1
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(namesz))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(desc)))
	b = binary.LittleEndian.AppendUint32(b, typ)
	if name != "" {
		b = append(b, name...)
		b = append(b, 0)
	}
	for len(b)%pad != 0 {
		b = append(b, 0)
	}
	b = append(b, desc...)
	for len(b)%pad != 0 {
		b = append(b, 0)
	}
	return b
}

// pvhNote8 and pvhNote4 are Xen PHYS32_ENTRY notes with 8- and 4-byte payloads.
func pvhNote8(entry uint64) []byte {
	return note("Xen", xen.XenElfnotePhys32Entry, binary.LittleEndian.AppendUint64(nil, entry), 4)
}

func pvhNote4(entry uint32) []byte {
	return note("Xen", xen.XenElfnotePhys32Entry, binary.LittleEndian.AppendUint32(nil, entry), 4)
}

func cat(bs ...[]byte) []byte {
	var out []byte
	for _, b := range bs {
		out = append(out, b...)
	}
	return out
}

// Test kernel layout: text at 16 MiB like Linux, entry inside it, a data
// segment with bss after it.
const (
	testText  = 0x1000000
	testEntry = 0x1000040
	testData  = 0x1200000
)

func testCode() []byte {
	c := make([]byte, 0x300)
	for i := range c {
		c[i] = byte(i)
	}
	return c
}

// kernel64 returns a well-formed ELF64 PVH kernel description.
func kernel64() telf {
	return telf{
		class: 64,
		segs: []tseg{
			{testText, testCode(), 0x1000},
			{testData, []byte("data"), 0x3000},
		},
		notes: []tnotes{{data: cat(
			note("GNU", 3, []byte("build-id-bytes!!"), 4),
			note("Xen", 6, []byte("linux\x00"), 4), // XEN_ELFNOTE_GUEST_OS
			pvhNote8(testEntry),
		), align: 4}},
	}
}

// kernel32 returns a well-formed ELF32 i386 PVH kernel description.
func kernel32() telf {
	k := kernel64()
	k.class, k.machine = 32, emI386
	k.notes = []tnotes{{data: pvhNote4(testEntry), align: 4}}
	return k
}

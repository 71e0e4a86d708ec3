package loader

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"gozen/abi/xen"
)

// Segment is one piece of the kernel to copy into guest memory.
type Segment struct {
	Paddr uint64 // guest-physical load address (the ELF p_paddr)
	Data  []byte // contents from the file; a sub-slice of the ParseELF input, not a copy
	Memsz uint64 // size in memory; bytes from len(Data) up to Memsz are zero
	// Offset is where Data starts in the file (the ELF p_offset): a loader
	// that has the file in memory at a known address knows where the data
	// lies without a copy.
	Offset uint64
}

// End returns the first address after the segment in memory.
func (s Segment) End() uint64 { return s.Paddr + s.Memsz }

// Image is a parsed PVH kernel.
type Image struct {
	Entry32  uint64    // physical address of the 32-bit PVH entry point (Xen note type 18)
	Segments []Segment // PT_LOAD segments with a non-zero size, in program-header order
	Class    int       // 32 or 64: the ELF class of the file
}

// MaxProgHeaders is the largest number of program headers ParseELF accepts.
// A Linux vmlinux has about 5.
const MaxProgHeaders = 64

// ErrNotELF is returned (possibly wrapped with a hint) for input that does
// not start with the ELF magic.
var ErrNotELF = errors.New("not an ELF file (bad magic)")

// ErrNoPVHNote is returned for an ELF file that has no Xen note of type
// XEN_ELFNOTE_PHYS32_ENTRY, such as a kernel built without CONFIG_PVH.
var ErrNoPVHNote = errors.New("no PVH entry note (Xen note type 18): is this a PVH kernel?")

// ELF constants from the System V gABI.
const (
	elfClass32  = 1
	elfClass64  = 2
	elfData2LSB = 1
	evCurrent   = 1

	etRel  = 1
	etExec = 2
	etDyn  = 3
	etCore = 4

	emI386  = 3
	emX8664 = 62

	ptLoad = 1
	ptNote = 4

	shtNote = 7

	pnXNum = 0xffff // e_phnum value meaning "more than 0xfffe; see section 0"

	noteHeaderSize = 12 // namesz, descsz, type
)

// elfFormat holds what differs between ELF32 and ELF64.
type elfFormat struct {
	class              int    // 32 or 64
	ehdrSize           uint64 // ELF header
	phdrSize, shdrSize uint64 // minimum e_phentsize / e_shentsize
}

var (
	format32 = elfFormat{class: 32, ehdrSize: 52, phdrSize: 32, shdrSize: 40}
	format64 = elfFormat{class: 64, ehdrSize: 64, phdrSize: 56, shdrSize: 64}
)

// elfHeader is the part of the ELF header the loader uses.
type elfHeader struct {
	elfFormat
	typ, machine     uint16
	phoff, shoff     uint64
	phentsize, phnum uint64
	shentsize, shnum uint64
}

// progHeader is one decoded program header.
type progHeader struct {
	typ                              uint32
	off, paddr, filesz, memsz, align uint64
}

var le = binary.LittleEndian

// ParseELF parses a PVH kernel: an ELF64 or ELF32 little-endian executable
// (ET_EXEC) for x86-64, or for i386 in the ELF32 case. It returns the PT_LOAD
// segments, placed by their physical addresses (p_paddr), and the PVH entry
// point from the Xen ELF note of type 18 (XEN_ELFNOTE_PHYS32_ENTRY), looked
// for in the PT_NOTE segments and, failing that, in the SHT_NOTE sections.
// The note payload may be 4 or 8 bytes; the entry must lie below 4 GiB.
//
// The returned segments' Data slices alias b. ParseELF checks the file's
// structure only; Image.Check checks the image against a domain's memory.
// It never panics, whatever b holds.
func ParseELF(b []byte) (*Image, error) {
	h, err := parseHeader(b)
	if err != nil {
		return nil, err
	}
	if h.phnum == 0 {
		return nil, errors.New("ELF has no program headers (e_phnum is 0): nothing to load")
	}
	if h.phnum == pnXNum || h.phnum > MaxProgHeaders {
		return nil, fmt.Errorf("ELF has %d program headers; at most %d are supported", h.phnum, MaxProgHeaders)
	}
	if h.phentsize < h.phdrSize {
		return nil, fmt.Errorf("ELF program header size %d is smaller than the %d bytes of an ELF%d program header",
			h.phentsize, h.phdrSize, h.class)
	}
	// Bounds of the whole program header table first, so that a truncated
	// table is reported as such and not as whatever garbage precedes the cut.
	for i := uint64(0); i < h.phnum; i++ {
		if _, ok := within(b, h.phoff+i*h.phentsize, h.phdrSize, h.phoff); !ok {
			return nil, fmt.Errorf("truncated ELF: program header %d runs past the end of the file", i)
		}
	}

	im := &Image{Class: h.class}
	var notes noteScan
	for i := uint64(0); i < h.phnum; i++ {
		ph := h.progHeader(b, i)
		switch ph.typ {
		case ptLoad:
			seg, err := loadSegment(b, i, ph)
			if err != nil {
				return nil, err
			}
			if seg.Memsz != 0 {
				im.Segments = append(im.Segments, seg)
			}
		case ptNote:
			data, ok := within(b, ph.off, ph.filesz, 0)
			if !ok {
				notes.fail(fmt.Errorf("truncated ELF: program header %d (PT_NOTE) data (offset %#x, size %#x) runs past the end of the file (%d bytes)",
					i, ph.off, ph.filesz, len(b)))
				continue
			}
			notes.scan(data, ph.align, fmt.Sprintf("program header %d (PT_NOTE)", i))
		}
	}
	if len(im.Segments) == 0 {
		return nil, errors.New("ELF has no loadable segments (PT_LOAD with a non-zero size)")
	}
	if !notes.found && notes.fatal == nil {
		h.scanSectionNotes(b, &notes)
	}
	if notes.fatal != nil {
		return nil, notes.fatal
	}
	if !notes.found {
		if notes.err != nil {
			// A broken note table is the likelier reason for a missing
			// entry than a non-PVH kernel; report it.
			return nil, notes.err
		}
		return nil, ErrNoPVHNote
	}
	im.Entry32 = notes.entry
	return im, nil
}

// parseHeader checks the identification bytes and decodes the ELF header.
func parseHeader(b []byte) (*elfHeader, error) {
	if len(b) < 4 || string(b[:4]) != "\x7fELF" {
		return nil, notELF(b)
	}
	if len(b) < 16 {
		return nil, fmt.Errorf("truncated ELF: file is %d bytes, shorter than the 16-byte ELF identification", len(b))
	}
	h := &elfHeader{}
	switch b[4] {
	case elfClass32:
		h.elfFormat = format32
	case elfClass64:
		h.elfFormat = format64
	default:
		return nil, fmt.Errorf("ELF class %d is neither 1 (32-bit) nor 2 (64-bit)", b[4])
	}
	if b[5] != elfData2LSB {
		return nil, fmt.Errorf("ELF data encoding %d is not 1 (little-endian): not an x86 file", b[5])
	}
	if b[6] != evCurrent {
		return nil, fmt.Errorf("ELF version %d is not 1", b[6])
	}
	if uint64(len(b)) < h.ehdrSize {
		return nil, fmt.Errorf("truncated ELF: file is %d bytes, shorter than the %d-byte ELF%d header",
			len(b), h.ehdrSize, h.class)
	}
	h.typ = le.Uint16(b[16:])
	h.machine = le.Uint16(b[18:])
	if h.class == 64 {
		h.phoff = le.Uint64(b[32:])
		h.shoff = le.Uint64(b[40:])
		h.phentsize = uint64(le.Uint16(b[54:]))
		h.phnum = uint64(le.Uint16(b[56:]))
		h.shentsize = uint64(le.Uint16(b[58:]))
		h.shnum = uint64(le.Uint16(b[60:]))
	} else {
		h.phoff = uint64(le.Uint32(b[28:]))
		h.shoff = uint64(le.Uint32(b[32:]))
		h.phentsize = uint64(le.Uint16(b[42:]))
		h.phnum = uint64(le.Uint16(b[44:]))
		h.shentsize = uint64(le.Uint16(b[46:]))
		h.shnum = uint64(le.Uint16(b[48:]))
	}
	if h.typ != etExec {
		return nil, fmt.Errorf("ELF type %d (%s) is not 2 (executable): a PVH kernel is linked at fixed addresses",
			h.typ, elfTypeName(h.typ))
	}
	switch {
	case h.machine == emX8664:
	case h.class == 64:
		return nil, fmt.Errorf("ELF machine %d is not x86-64", h.machine)
	case h.machine != emI386:
		return nil, fmt.Errorf("ELF machine %d is not x86-64 or i386", h.machine)
	}
	return h, nil
}

// notELF builds the bad-magic error, with a hint for the usual mistakes.
func notELF(b []byte) error {
	switch {
	case len(b) >= 0x206 && string(b[0x202:0x206]) == "HdrS":
		return fmt.Errorf("%w: this is a Linux bzImage; boot the ELF vmlinux instead (scripts/extract-vmlinux extracts it)", ErrNotELF)
	case len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b:
		return fmt.Errorf("%w: this is gzip-compressed; decompress it first", ErrNotELF)
	case len(b) >= 6 && string(b[:6]) == "\xfd7zXZ\x00":
		return fmt.Errorf("%w: this is xz-compressed; decompress it first", ErrNotELF)
	}
	return ErrNotELF
}

func elfTypeName(t uint16) string {
	switch t {
	case 0:
		return "none"
	case etRel:
		return "relocatable object"
	case etExec:
		return "executable"
	case etDyn:
		return "shared object or position-independent executable"
	case etCore:
		return "core dump"
	}
	return "unknown"
}

// within returns b[off:off+n] if that range lies inside b and off+n does not
// overflow. base is an address that off was computed from by adding to it; if
// off < base the addition wrapped, and within fails.
func within(b []byte, off, n, base uint64) ([]byte, bool) {
	end := off + n
	if off < base || end < off || end > uint64(len(b)) {
		return nil, false
	}
	return b[off:end], true
}

// progHeader decodes program header i, whose bounds the caller has checked.
func (h *elfHeader) progHeader(b []byte, i uint64) progHeader {
	p := b[h.phoff+i*h.phentsize:]
	if h.class == 64 {
		return progHeader{
			typ:    le.Uint32(p[0:]),
			off:    le.Uint64(p[8:]),
			paddr:  le.Uint64(p[24:]),
			filesz: le.Uint64(p[32:]),
			memsz:  le.Uint64(p[40:]),
			align:  le.Uint64(p[48:]),
		}
	}
	return progHeader{
		typ:    le.Uint32(p[0:]),
		off:    uint64(le.Uint32(p[4:])),
		paddr:  uint64(le.Uint32(p[12:])),
		filesz: uint64(le.Uint32(p[16:])),
		memsz:  uint64(le.Uint32(p[20:])),
		align:  uint64(le.Uint32(p[28:])),
	}
}

// loadSegment checks one PT_LOAD header and returns its segment.
func loadSegment(b []byte, i uint64, ph progHeader) (Segment, error) {
	if ph.filesz > ph.memsz {
		return Segment{}, fmt.Errorf("program header %d (PT_LOAD): file size %#x is larger than memory size %#x",
			i, ph.filesz, ph.memsz)
	}
	if ph.paddr+ph.memsz < ph.paddr {
		return Segment{}, fmt.Errorf("program header %d (PT_LOAD): address %#x plus size %#x wraps around the address space",
			i, ph.paddr, ph.memsz)
	}
	data, ok := within(b, ph.off, ph.filesz, 0)
	if !ok {
		return Segment{}, fmt.Errorf("truncated ELF: program header %d (PT_LOAD) data (offset %#x, size %#x) runs past the end of the file (%d bytes)",
			i, ph.off, ph.filesz, len(b))
	}
	return Segment{Paddr: ph.paddr, Data: data, Memsz: ph.memsz, Offset: ph.off}, nil
}

// scanSectionNotes looks for the PVH note in SHT_NOTE sections, for files
// whose notes are not covered by a PT_NOTE segment.
func (h *elfHeader) scanSectionNotes(b []byte, notes *noteScan) {
	if h.shoff == 0 || h.shnum == 0 {
		return // no section headers (or an extended count we do not need)
	}
	if h.shentsize < h.shdrSize {
		notes.fail(fmt.Errorf("ELF section header size %d is smaller than the %d bytes of an ELF%d section header",
			h.shentsize, h.shdrSize, h.class))
		return
	}
	for i := uint64(0); i < h.shnum && !notes.found; i++ {
		sh, ok := within(b, h.shoff+i*h.shentsize, h.shdrSize, h.shoff)
		if !ok {
			notes.fail(fmt.Errorf("truncated ELF: section header %d runs past the end of the file", i))
			return
		}
		if le.Uint32(sh[4:]) != shtNote {
			continue
		}
		var off, size, align uint64
		if h.class == 64 {
			off, size, align = le.Uint64(sh[24:]), le.Uint64(sh[32:]), le.Uint64(sh[48:])
		} else {
			off, size, align = uint64(le.Uint32(sh[16:])), uint64(le.Uint32(sh[20:])), uint64(le.Uint32(sh[32:]))
		}
		data, ok := within(b, off, size, 0)
		if !ok {
			notes.fail(fmt.Errorf("truncated ELF: section %d (SHT_NOTE) data (offset %#x, size %#x) runs past the end of the file (%d bytes)",
				i, off, size, len(b)))
			continue
		}
		notes.scan(data, align, fmt.Sprintf("section %d (SHT_NOTE)", i))
	}
}

// noteScan accumulates what the note tables say about the PVH entry.
type noteScan struct {
	found bool
	entry uint64
	where string // where the entry's note is, for messages
	err   error  // first malformed note table; reported only if no entry is found
	fatal error  // a malformed PVH note, or two PVH notes that disagree
}

func (n *noteScan) setFatal(err error) {
	if n.fatal == nil {
		n.fatal = err
	}
}

func (n *noteScan) fail(err error) {
	if n.err == nil {
		n.err = err
	}
}

// scan walks one note table. Each note is a 12-byte header (namesz, descsz,
// type), then the name and the payload, each starting at a multiple of the
// table's alignment: 8 if the segment or section says so, otherwise 4 (what
// Linux and Xen use, in ELF64 files too). Since linkers may merge 4-aligned
// notes into a table that claims 8, such a table that yields no PVH entry
// read with 8 is read again with 4.
func (n *noteScan) scan(data []byte, align uint64, where string) {
	var s8 noteScan
	var err8 error
	if align == 8 {
		err8 = s8.walk(data, 8, where)
		if err8 == nil && (s8.found || s8.fatal != nil) {
			n.merge(&s8)
			return
		}
	}
	var s4 noteScan
	err4 := s4.walk(data, 4, where)
	if align == 8 && err4 != nil {
		s4, err4 = s8, err8 // neither reading worked: report the declared one
	}
	if err4 != nil {
		n.fail(err4)
	}
	n.merge(&s4)
}

// merge adds what another scan found to n.
func (n *noteScan) merge(o *noteScan) {
	if o.fatal != nil {
		n.setFatal(o.fatal)
	}
	if o.err != nil {
		n.fail(o.err)
	}
	if o.found {
		n.record(o.entry, o.where)
	}
}

// walk parses the notes of data with the given padding, recording PVH notes
// in n. It returns an error for a table that does not parse.
func (n *noteScan) walk(data []byte, pad uint64, where string) error {
	size := uint64(len(data))
	for off := uint64(0); off < size; {
		if size-off < noteHeaderSize {
			return fmt.Errorf("truncated ELF: note at offset %#x of %s is cut short (%d bytes left, a note header is 12)",
				off, where, size-off)
		}
		namesz := uint64(le.Uint32(data[off:]))
		descsz := uint64(le.Uint32(data[off+4:]))
		typ := le.Uint32(data[off+8:])
		// off is a multiple of pad and below 2^63, and namesz, descsz are
		// below 2^32, so none of these sums can overflow.
		nameOff := off + noteHeaderSize
		descOff := alignUp(nameOff+namesz, pad)
		if descOff+descsz > size {
			return fmt.Errorf("truncated ELF: note at offset %#x of %s (name size %d, payload size %d) runs past the end of its %d bytes",
				off, where, namesz, descsz, size)
		}
		name := bytes.TrimRight(data[nameOff:nameOff+namesz], "\x00")
		if typ == xen.XenElfnotePhys32Entry && string(name) == xen.XenElfnoteName {
			n.pvhNote(data[descOff:descOff+descsz], off, where)
		}
		// The last payload may lack its padding: then this passes size and
		// the loop ends.
		off = alignUp(descOff+descsz, pad)
	}
	return nil
}

// pvhNote records the entry point from one PVH note payload.
func (n *noteScan) pvhNote(desc []byte, off uint64, where string) {
	var entry uint64
	switch len(desc) {
	case 4:
		entry = uint64(le.Uint32(desc))
	case 8:
		entry = le.Uint64(desc)
	default:
		n.setFatal(fmt.Errorf("PVH entry note at offset %#x of %s has a %d-byte payload; expected 4 or 8", off, where, len(desc)))
		return
	}
	if entry > 0xFFFFFFFF {
		n.setFatal(fmt.Errorf("PVH entry %#x (note at offset %#x of %s) is above 4 GiB, out of reach of 32-bit code", entry, off, where))
		return
	}
	n.record(entry, fmt.Sprintf("offset %#x of %s", off, where))
}

// record notes a PVH entry found at the place where, or a conflict with an
// entry found earlier.
func (n *noteScan) record(entry uint64, where string) {
	if n.found && entry != n.entry {
		n.setFatal(fmt.Errorf("conflicting PVH entry notes: %#x (at %s) and %#x (at %s)", n.entry, n.where, entry, where))
		return
	}
	if !n.found {
		n.found, n.entry, n.where = true, entry, where
	}
}

func alignUp(x, a uint64) uint64 { return (x + a - 1) &^ (a - 1) }

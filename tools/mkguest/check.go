package main

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// LoadAddr is the guest-physical address every test guest is linked at (guest.ld).
const LoadAddr = 0x100000

// Dom0LoadAddr is where testguest-dom0.elf loads: 16 MiB, in dom0's RAM.
const Dom0LoadAddr = 0x1000000

// xenElfnotePhys32Entry is XEN_ELFNOTE_PHYS32_ENTRY (xen/include/public/elfnote.h).
const xenElfnotePhys32Entry = 18

// guestInfo is what checkGuest learnt about a guest image.
type guestInfo struct {
	Entry      uint32 // the PVH entry from the Xen note (equal to e_entry)
	Start, End uint64 // guest-physical span of the PT_LOAD segments
}

// checkGuest checks a guest ELF the way a PVH loader reads it: an ELF64 x86-64
// executable whose PT_LOAD segments lie at physical addresses below 4 GiB starting at
// loadAddr (LoadAddr, or Dom0LoadAddr for testguest-dom0.elf), and one PT_NOTE carrying a single Xen note of type 18 whose 4-byte payload
// is the 32-bit entry, which must equal e_entry and fall inside an executable segment's
// file contents.
func checkGuest(path string, loadAddr uint64) (guestInfo, error) {
	var info guestInfo
	f, err := elf.Open(path)
	if err != nil {
		return info, err
	}
	defer f.Close()
	if f.Class != elf.ELFCLASS64 || f.Machine != elf.EM_X86_64 || f.Type != elf.ET_EXEC {
		return info, fmt.Errorf("want an ELF64 x86-64 executable, have %v %v %v", f.Class, f.Machine, f.Type)
	}

	var loads []*elf.Prog
	var entries []uint32
	for _, p := range f.Progs {
		switch p.Type {
		case elf.PT_LOAD:
			if p.Filesz > p.Memsz {
				return info, fmt.Errorf("PT_LOAD at %#x: filesz %#x > memsz %#x", p.Paddr, p.Filesz, p.Memsz)
			}
			if p.Paddr+p.Memsz > 1<<32 || p.Paddr+p.Memsz < p.Paddr {
				return info, fmt.Errorf("PT_LOAD at %#x+%#x reaches past 4 GiB", p.Paddr, p.Memsz)
			}
			loads = append(loads, p)
		case elf.PT_NOTE:
			data, err := io.ReadAll(p.Open())
			if err != nil {
				return info, fmt.Errorf("PT_NOTE: %w", err)
			}
			es, err := xenEntryNotes(data, f.ByteOrder)
			if err != nil {
				return info, fmt.Errorf("PT_NOTE at offset %#x: %w", p.Off, err)
			}
			entries = append(entries, es...)
		}
	}
	if len(loads) == 0 {
		return info, errors.New("no PT_LOAD segment")
	}
	if len(entries) != 1 {
		return info, fmt.Errorf("want one Xen PHYS32_ENTRY note in a PT_NOTE, found %d", len(entries))
	}
	info.Entry = entries[0]
	info.Start, info.End = loads[0].Paddr, loads[0].Paddr+loads[0].Memsz
	for _, p := range loads[1:] {
		info.Start = min(info.Start, p.Paddr)
		info.End = max(info.End, p.Paddr+p.Memsz)
	}
	if info.Start != loadAddr {
		return info, fmt.Errorf("lowest PT_LOAD at %#x, want %#x", info.Start, loadAddr)
	}
	if uint64(info.Entry) != f.Entry {
		return info, fmt.Errorf("note entry %#x differs from e_entry %#x", info.Entry, f.Entry)
	}
	inText := false
	for _, p := range loads {
		e := uint64(info.Entry)
		if p.Flags&elf.PF_X != 0 && e >= p.Paddr && e < p.Paddr+p.Filesz {
			inText = true
		}
	}
	if !inText {
		return info, fmt.Errorf("entry %#x is not in an executable PT_LOAD", info.Entry)
	}
	return info, nil
}

// xenEntryNotes returns the payloads of the "Xen" notes of type 18 in a note segment.
// Notes are {namesz, descsz, type u32; name; desc}, name and desc padded to 4 bytes.
func xenEntryNotes(data []byte, bo binary.ByteOrder) ([]uint32, error) {
	var entries []uint32
	for len(data) > 0 {
		if len(data) < 12 {
			return nil, fmt.Errorf("%d trailing bytes, too few for a note header", len(data))
		}
		namesz, descsz, typ := bo.Uint32(data[0:]), bo.Uint32(data[4:]), bo.Uint32(data[8:])
		nameEnd := 12 + align4(uint64(namesz))
		descEnd := nameEnd + align4(uint64(descsz))
		if descEnd > uint64(len(data)) {
			return nil, fmt.Errorf("note (namesz %d, descsz %d) overruns the segment", namesz, descsz)
		}
		name := data[12 : 12+namesz]
		desc := data[nameEnd : nameEnd+uint64(descsz)]
		if bytes.Equal(name, []byte("Xen\x00")) && typ == xenElfnotePhys32Entry {
			if len(desc) != 4 {
				return nil, fmt.Errorf("PHYS32_ENTRY payload is %d bytes, want 4", len(desc))
			}
			entries = append(entries, bo.Uint32(desc))
		}
		data = data[descEnd:]
	}
	return entries, nil
}

func align4(n uint64) uint64 { return (n + 3) &^ 3 }

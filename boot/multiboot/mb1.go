package multiboot

// Multiboot1 multiboot_info flags.
const (
	mb1FlagMem    = 1 << 0
	mb1FlagCmd    = 1 << 2
	mb1FlagMods   = 1 << 3
	mb1FlagMmap   = 1 << 6
	mb1FlagLoader = 1 << 9
)

// Multiboot1 multiboot_info field offsets.
const (
	mb1Flags      = 0
	mb1MemLower   = 4
	mb1MemUpper   = 8
	mb1Cmdline    = 16
	mb1ModsCount  = 20
	mb1ModsAddr   = 24
	mb1MmapLength = 44
	mb1MmapAddr   = 48
	mb1LoaderName = 64

	// mb1InfoSize is sizeof(struct multiboot_info) in the reference C
	// header: 116 bytes of fields padded to 120 (color_info at 110 in the
	// specification text, 112 in the header).
	mb1InfoSize = 120

	mb1ModEntrySize = 16
	mb1MaxMmapLen   = 64 << 10
	// mb1MmapMinSize is the smallest valid value of an entry's size field
	// (base_addr, length, type).
	mb1MmapMinSize = 20
)

// parse1 parses a Multiboot1 multiboot_info structure.
func parse1(infoAddr uint64, mem Memory, out *Info) error {
	out.Version = 1
	out.InfoAddr = infoAddr
	out.InfoSize = mb1InfoSize
	out.ErrOffset = infoAddr
	if infoAddr > ^uint64(0)-mb1InfoSize {
		return ErrUnreadable
	}
	flags, ok := out.read32(mem, infoAddr+mb1Flags)
	if !ok {
		return ErrUnreadable
	}

	if flags&mb1FlagMem != 0 {
		out.ErrOffset = infoAddr + mb1MemLower
		if !out.read(mem, infoAddr+mb1MemLower, 8) {
			return ErrUnreadable
		}
		out.MemLower = le32(out.scratch[0:4])
		out.MemUpper = le32(out.scratch[4:8])
		out.HasBasicMem = true
	}

	if flags&mb1FlagCmd != 0 {
		out.ErrOffset = infoAddr + mb1Cmdline
		p, ok := out.read32(mem, infoAddr+mb1Cmdline)
		if !ok {
			return ErrUnreadable
		}
		if p != 0 {
			n, st := readString(mem, uint64(p), MaxCmdline+1, out.cmdline[:], out.scratch[:1])
			switch st {
			case strTooLong:
				return ErrCmdlineTooLong
			case strUnreadable, strUnterminated:
				return ErrUnreadable
			}
			out.cmdlineLen = n
		}
	}

	if flags&mb1FlagMods != 0 {
		out.ErrOffset = infoAddr + mb1ModsCount
		if !out.read(mem, infoAddr+mb1ModsCount, 8) {
			return ErrUnreadable
		}
		count := le32(out.scratch[0:4])
		addr := uint64(le32(out.scratch[4:8]))
		if count > MaxModules {
			return ErrTooManyModules
		}
		for k := uint32(0); k < count; k++ {
			e := addr + uint64(k)*mb1ModEntrySize
			out.ErrOffset = e
			if !out.read(mem, e, mb1ModEntrySize) {
				return ErrUnreadable
			}
			start := uint64(le32(out.scratch[0:4]))
			end := uint64(le32(out.scratch[4:8]))
			str := uint64(le32(out.scratch[8:12]))
			if end < start {
				return ErrBadModule
			}
			m := &out.Modules[out.NModules]
			m.Start, m.End = start, end
			if str != 0 {
				n, st := readString(mem, str, MaxModCmdline+1, m.cmdline[:], out.scratch[:1])
				switch st {
				case strTooLong:
					return ErrModCmdlineTooLong
				case strUnreadable, strUnterminated:
					return ErrUnreadable
				}
				m.cmdlineLen = uint16(n)
			}
			out.NModules++
		}
	}

	if flags&mb1FlagMmap != 0 {
		out.ErrOffset = infoAddr + mb1MmapLength
		if !out.read(mem, infoAddr+mb1MmapLength, 8) {
			return ErrUnreadable
		}
		length := uint64(le32(out.scratch[0:4]))
		addr := uint64(le32(out.scratch[4:8]))
		if length > mb1MaxMmapLen {
			return ErrMemoryMapTooLarge
		}
		// Each entry is a 4-byte size field followed by size bytes; the
		// next entry starts at +size+4.
		for off := uint64(0); off < length; {
			e := addr + off
			out.ErrOffset = e
			if length-off < 4+mb1MmapMinSize {
				return ErrBadMemoryMap
			}
			if !out.read(mem, e, 4+mb1MmapMinSize) {
				return ErrUnreadable
			}
			size := uint64(le32(out.scratch[0:4]))
			if size < mb1MmapMinSize || size > length-off-4 {
				return ErrBadMemoryMap
			}
			base := le64(out.scratch[4:12])
			rlen := le64(out.scratch[12:20])
			typ := le32(out.scratch[20:24])
			if err := out.addRegion(base, rlen, typ); err != nil {
				return err
			}
			off += 4 + size
		}
	}

	if flags&mb1FlagLoader != 0 {
		out.ErrOffset = infoAddr + mb1LoaderName
		p, ok := out.read32(mem, infoAddr+mb1LoaderName)
		if !ok {
			return ErrUnreadable
		}
		if p != 0 {
			n, st := readString(mem, uint64(p), MaxLoaderName+1, out.loader[:], out.scratch[:1])
			switch st {
			case strTooLong:
				return ErrLoaderNameTooLong
			case strUnreadable, strUnterminated:
				return ErrUnreadable
			}
			out.loaderLen = n
		}
	}

	out.ErrOffset = 0
	if err := out.basicMemFallback(); err != nil {
		return err
	}
	return nil
}

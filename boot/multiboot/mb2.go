package multiboot

// Multiboot2 tag types.
const (
	mb2TagEnd      = 0
	mb2TagCmdline  = 1
	mb2TagLoader   = 2
	mb2TagModule   = 3
	mb2TagBasicMem = 4
	mb2TagMmap     = 6
	mb2TagACPIOld  = 14
	mb2TagACPINew  = 15
)

const (
	mb2HeaderSize   = 8       // total_size, reserved
	mb2TagHdrSize   = 8       // type, size
	mb2MinTotalSize = 16      // header + end tag
	mb2MaxTotalSize = 1 << 20 // sanity limit
	mb2ModuleFixed  = 16      // type, size, mod_start, mod_end
	mb2BasicMemSize = 16      // type, size, mem_lower, mem_upper
	mb2MmapFixed    = 16      // type, size, entry_size, entry_version
	mb2MmapMinEntry = 24      // base, length, type, reserved
	mb2RSDPv1Size   = 20      // ACPI 1.0 RSDP
	mb2RSDPv2Size   = 36      // ACPI 2.0+ XSDP
)

// parse2 parses a Multiboot2 boot information tag list.
func parse2(infoAddr uint64, mem Memory, out *Info) error {
	out.Version = 2
	out.InfoAddr = infoAddr
	if infoAddr&7 != 0 {
		return ErrMisaligned
	}
	if !out.read(mem, infoAddr, mb2HeaderSize) {
		return ErrUnreadable
	}
	total := uint64(le32(out.scratch[0:4]))
	if total < mb2MinTotalSize || total > mb2MaxTotalSize {
		return ErrBadTotalSize
	}
	if infoAddr > ^uint64(0)-total {
		return ErrUnreadable
	}
	out.InfoSize = total

	haveMmap := false
	haveNewRSDP := false
	off := uint64(mb2HeaderSize)
	for {
		out.ErrOffset = off
		if off > total || total-off < mb2TagHdrSize {
			return ErrNoEndTag
		}
		tag := infoAddr + off
		if !out.read(mem, tag, mb2TagHdrSize) {
			return ErrUnreadable
		}
		typ := le32(out.scratch[0:4])
		size := uint64(le32(out.scratch[4:8]))
		if size < mb2TagHdrSize {
			return ErrBadTag
		}
		if size > total-off {
			return ErrTruncated
		}

		switch typ {
		case mb2TagEnd:
			if size != mb2TagHdrSize {
				return ErrBadTag
			}
			out.ErrOffset = 0
			return out.basicMemFallback()

		case mb2TagCmdline:
			n, st := readString(mem, tag+mb2TagHdrSize, size-mb2TagHdrSize, out.cmdline[:], out.scratch[:1])
			switch st {
			case strTooLong:
				return ErrCmdlineTooLong
			case strUnterminated:
				return ErrUnterminated
			case strUnreadable:
				return ErrUnreadable
			}
			out.cmdlineLen = n

		case mb2TagLoader:
			n, st := readString(mem, tag+mb2TagHdrSize, size-mb2TagHdrSize, out.loader[:], out.scratch[:1])
			switch st {
			case strTooLong:
				return ErrLoaderNameTooLong
			case strUnterminated:
				return ErrUnterminated
			case strUnreadable:
				return ErrUnreadable
			}
			out.loaderLen = n

		case mb2TagModule:
			if size < mb2ModuleFixed {
				return ErrBadTag
			}
			if out.NModules >= MaxModules {
				return ErrTooManyModules
			}
			if !out.read(mem, tag+mb2TagHdrSize, 8) {
				return ErrUnreadable
			}
			start := uint64(le32(out.scratch[0:4]))
			end := uint64(le32(out.scratch[4:8]))
			if end < start {
				return ErrBadModule
			}
			m := &out.Modules[out.NModules]
			m.Start, m.End = start, end
			n, st := readString(mem, tag+mb2ModuleFixed, size-mb2ModuleFixed, m.cmdline[:], out.scratch[:1])
			switch st {
			case strTooLong:
				return ErrModCmdlineTooLong
			case strUnterminated:
				return ErrUnterminated
			case strUnreadable:
				return ErrUnreadable
			}
			m.cmdlineLen = uint16(n)
			out.NModules++

		case mb2TagBasicMem:
			if size < mb2BasicMemSize {
				return ErrBadTag
			}
			if !out.read(mem, tag+mb2TagHdrSize, 8) {
				return ErrUnreadable
			}
			out.MemLower = le32(out.scratch[0:4])
			out.MemUpper = le32(out.scratch[4:8])
			out.HasBasicMem = true

		case mb2TagMmap:
			if size < mb2MmapFixed {
				return ErrBadTag
			}
			if !out.read(mem, tag+mb2TagHdrSize, 8) {
				return ErrUnreadable
			}
			esize := uint64(le32(out.scratch[0:4]))
			// entry_version (scratch[4:8]) is 0 today; later versions
			// only append fields, which entry_size lets us skip.
			if esize < mb2MmapMinEntry || esize%8 != 0 || (size-mb2MmapFixed)%esize != 0 {
				return ErrBadMemoryMap
			}
			if haveMmap {
				// A repeated memory map tag replaces the earlier one.
				out.NRegions = 0
			}
			haveMmap = true
			for e := uint64(mb2MmapFixed); e < size; e += esize {
				out.ErrOffset = off + e
				if !out.read(mem, tag+e, mb2MmapMinEntry) {
					return ErrUnreadable
				}
				base := le64(out.scratch[0:8])
				rlen := le64(out.scratch[8:16])
				rtyp := le32(out.scratch[16:20])
				if err := out.addRegion(base, rlen, rtyp); err != nil {
					return err
				}
			}

		case mb2TagACPIOld:
			if size < mb2TagHdrSize+mb2RSDPv1Size {
				return ErrBadTag
			}
			if !haveNewRSDP {
				out.RSDP = tag + mb2TagHdrSize
			}

		case mb2TagACPINew:
			if size < mb2TagHdrSize+mb2RSDPv2Size {
				return ErrBadTag
			}
			out.RSDP = tag + mb2TagHdrSize
			haveNewRSDP = true
		}

		// Tags are padded to 8 bytes; size <= total <= 1 MiB, so this
		// cannot overflow.
		off = (off + size + 7) &^ 7
	}
}

// Package multiboot parses the boot information handed over by a Multiboot1
// or Multiboot2 compliant boot loader (GRUB, QEMU -kernel, iPXE, ...) into a
// fixed-size [Info] structure.
//
// # Pre-runtime constraint
//
// [Parse] runs before the Go runtime has been initialised: there is no heap,
// no package initialisation has run, and a failed bounds check or any other
// panic cannot be reported. Everything in this package is therefore written
// so that it
//
//   - never allocates (no make, new, append growth, maps, closures that
//     escape, string concatenation or conversion of non-constant values to
//     interfaces),
//   - uses no package-level variables that need initialisation,
//   - returns only typed constant errors of type [Error], and
//   - reads the boot information through the [Memory] interface in small,
//     bounded pieces, never into a buffer sized by the input.
//
// All output, including the strings (command lines, boot loader name), is
// copied into fixed-size arrays inside [Info]. Because the caller's *Info is
// passed on to [Memory.ReadAt] as read destination, it escapes; on bare metal
// it should be a statically allocated (package-level) variable. Info contains
// no pointers, so it can live in any memory.
package multiboot

// Boot loader magic values, as found in EAX when the kernel is entered.
const (
	// Magic1 is the value a Multiboot1 loader leaves in EAX.
	Magic1 = 0x2BADB002
	// Magic2 is the value a Multiboot2 loader leaves in EAX.
	Magic2 = 0x36D76289
)

// Capacity limits of [Info]. Boot information exceeding them is rejected
// with an error rather than silently truncated.
const (
	// MaxRegions is the maximum number of non-empty memory map entries.
	MaxRegions = 128
	// MaxModules is the maximum number of boot modules.
	MaxModules = 32
	// MaxCmdline is the maximum length in bytes of the kernel command line,
	// excluding the terminating NUL.
	MaxCmdline = 2048
	// MaxModCmdline is the maximum length in bytes of a module's command
	// line (string), excluding the terminating NUL.
	MaxModCmdline = 512
	// MaxLoaderName is the maximum length in bytes of the boot loader name,
	// excluding the terminating NUL.
	MaxLoaderName = 64
)

// Memory region types, using the E820 numbering. Multiboot uses the same
// numbering; any type other than these is reported as [RegionReserved].
const (
	// RegionUsable is RAM available to the operating system.
	RegionUsable = 1
	// RegionReserved is memory that must not be used.
	RegionReserved = 2
	// RegionACPIReclaimable holds ACPI tables; usable once they are parsed.
	RegionACPIReclaimable = 3
	// RegionACPINVS is ACPI non-volatile storage that must be preserved
	// across hibernation.
	RegionACPINVS = 4
	// RegionBad is defective RAM.
	RegionBad = 5
)

// Memory gives read access to physical memory. The bare-metal implementation
// copies from the identity map; tests use a fake.
type Memory interface {
	// ReadAt copies len(p) bytes starting at physical address addr into p.
	// It must return false, and may leave p in any state, if any byte of
	// [addr, addr+len(p)) cannot be read (including when the range wraps
	// around the end of the address space). ReadAt must not retain p.
	ReadAt(p []byte, addr uint64) bool
}

// Region is one entry of the physical memory map: Len bytes starting at
// Base. Base+Len never overflows uint64 and Len is never zero.
type Region struct {
	Base, Len uint64
	// Type is the E820 type: RegionUsable, RegionReserved,
	// RegionACPIReclaimable, RegionACPINVS or RegionBad.
	Type uint32
}

// Module is a boot module loaded by the boot loader, occupying physical
// memory [Start, End).
type Module struct {
	Start, End uint64
	cmdline    [MaxModCmdline]byte
	cmdlineLen uint16
}

// Cmdline returns the module's command line (the Multiboot "string"), without
// the terminating NUL. The returned slice aliases m and is valid as long as m
// is not modified; it does not allocate.
func (m *Module) Cmdline() []byte {
	return m.cmdline[:m.cmdlineLen:m.cmdlineLen]
}

// Info is the parsed boot information. It is a plain value without pointers;
// all strings are stored in fixed-size arrays.
type Info struct {
	// Version is the Multiboot version, 1 or 2.
	Version int
	// InfoAddr and InfoSize give the physical range occupied by the boot
	// information structure itself. For Multiboot2 this is the whole tag
	// list (total_size bytes). For Multiboot1 it is only the fixed
	// multiboot_info structure (120 bytes, the size of the C structure
	// including padding), not the strings, module list and memory map it
	// points to.
	InfoAddr, InfoSize uint64

	// Regions[:NRegions] is the memory map in boot loader order. Entries of
	// length zero are dropped.
	Regions  [MaxRegions]Region
	NRegions int

	// Modules[:NModules] are the boot modules in boot loader order.
	Modules  [MaxModules]Module
	NModules int

	cmdline    [MaxCmdline]byte
	cmdlineLen int
	loader     [MaxLoaderName]byte
	loaderLen  int

	// MemLower and MemUpper are the amounts of lower (below 640 KiB) and
	// upper (from 1 MiB) memory in KiB. They are valid only if HasBasicMem
	// is set (Multiboot1 flags bit 0, Multiboot2 tag type 4).
	MemLower, MemUpper uint32
	HasBasicMem        bool

	// RSDP is the physical address of the copy of the ACPI RSDP inside the
	// Multiboot2 boot information (tag 15 preferred over tag 14), or 0 if
	// there is none. Always 0 for Multiboot1.
	RSDP uint64

	// ErrOffset locates the problem when Parse fails. For Multiboot2 it is
	// the byte offset from InfoAddr of the offending tag (or of the memory
	// map entry, or 0 for header problems). For Multiboot1 it is the
	// physical address of the offending field or entry (e.g. the cmdline
	// field, a module entry or a memory map entry).
	ErrOffset uint64

	// scratch is the destination of small bounded reads. It lives in Info
	// rather than on the stack because anything passed to Memory.ReadAt
	// escapes, and a stack buffer would be moved to the heap.
	scratch [24]byte
}

// Cmdline returns the kernel command line without the terminating NUL. The
// returned slice aliases i and does not allocate.
func (i *Info) Cmdline() []byte {
	return i.cmdline[:i.cmdlineLen:i.cmdlineLen]
}

// LoaderName returns the boot loader name without the terminating NUL, or an
// empty slice if the loader did not supply one. The returned slice aliases i
// and does not allocate.
func (i *Info) LoaderName() []byte {
	return i.loader[:i.loaderLen:i.loaderLen]
}

// Parse parses the boot information at physical address infoAddr, given the
// magic value the boot loader left in EAX, into *out. out is completely
// overwritten. On error, the returned error is one of the Err constants,
// out.ErrOffset locates the problem and the rest of *out is unspecified.
//
// Parse never allocates and is safe to call before the Go runtime is
// initialised.
func Parse(magic uint32, infoAddr uint64, mem Memory, out *Info) error {
	*out = Info{}
	switch magic {
	case Magic1:
		if infoAddr == 0 {
			return ErrNullInfo
		}
		return parse1(infoAddr, mem, out)
	case Magic2:
		if infoAddr == 0 {
			return ErrNullInfo
		}
		return parse2(infoAddr, mem, out)
	}
	return ErrBadMagic
}

// addRegion appends a memory map entry, dropping empty ones and normalising
// the type.
func (i *Info) addRegion(base, length uint64, typ uint32) error {
	if length == 0 {
		return nil
	}
	if base > ^uint64(0)-length {
		return ErrRegionOverflow
	}
	if i.NRegions >= MaxRegions {
		return ErrTooManyRegions
	}
	switch typ {
	case RegionUsable, RegionACPIReclaimable, RegionACPINVS, RegionBad:
	default:
		typ = RegionReserved
	}
	r := &i.Regions[i.NRegions]
	r.Base, r.Len, r.Type = base, length, typ
	i.NRegions++
	return nil
}

// basicMemFallback synthesises a memory map from mem_lower/mem_upper if no
// (non-empty) memory map was found.
func (i *Info) basicMemFallback() error {
	if i.NRegions > 0 {
		return nil
	}
	if !i.HasBasicMem {
		return ErrNoMemoryMap
	}
	// Two entries can neither overflow nor exceed MaxRegions.
	_ = i.addRegion(0, uint64(i.MemLower)*1024, RegionUsable)
	_ = i.addRegion(1<<20, uint64(i.MemUpper)*1024, RegionUsable)
	if i.NRegions == 0 {
		return ErrNoMemoryMap
	}
	return nil
}

// read reads n (<= len(scratch)) bytes at addr into the scratch buffer.
func (i *Info) read(mem Memory, addr uint64, n int) bool {
	return mem.ReadAt(i.scratch[:n], addr)
}

// read32 reads a little-endian uint32 at addr.
func (i *Info) read32(mem Memory, addr uint64) (uint32, bool) {
	if !mem.ReadAt(i.scratch[:4], addr) {
		return 0, false
	}
	return le32(i.scratch[:4]), true
}

func le32(b []byte) uint32 {
	_ = b[3]
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

func le64(b []byte) uint64 {
	_ = b[7]
	return uint64(le32(b)) | uint64(le32(b[4:]))<<32
}

// strStatus is the outcome of readString.
type strStatus uint8

const (
	strOK           strStatus = iota
	strTooLong                // no NUL within len(dst)+1 bytes
	strUnterminated           // no NUL within the avail bytes of the container
	strUnreadable             // a byte before the NUL could not be read
)

// stringChunk is the largest single read readString issues.
const stringChunk = 256

// readString copies the NUL-terminated string at addr into dst and returns
// its length (excluding the NUL). avail bounds the bytes that belong to the
// string's container (including the NUL); it stops the scan with
// strUnterminated. A string that does not fit dst yields strTooLong. one is a
// one-byte scratch buffer.
//
// Reads are issued in chunks of at most stringChunk bytes; a chunk that
// cannot be read (e.g. because it extends past the end of readable memory
// beyond the terminator) is retried byte by byte.
func readString(mem Memory, addr, avail uint64, dst, one []byte) (int, strStatus) {
	limit := uint64(len(dst))
	if avail < limit {
		limit = avail
	}
	var done uint64
	for done < limit {
		n := limit - done
		if n > stringChunk {
			n = stringChunk
		}
		p := dst[done : done+n]
		if mem.ReadAt(p, addr+done) {
			for j := range p {
				if p[j] == 0 {
					return int(done) + j, strOK
				}
			}
		} else {
			for j := range p {
				if !mem.ReadAt(p[j:j+1], addr+done+uint64(j)) {
					return 0, strUnreadable
				}
				if p[j] == 0 {
					return int(done) + j, strOK
				}
			}
		}
		done += n
	}
	if avail <= uint64(len(dst)) {
		return 0, strUnterminated
	}
	// dst is full; the string fits exactly if the next byte is the NUL.
	if !mem.ReadAt(one[:1], addr+done) {
		return 0, strUnreadable
	}
	if one[0] == 0 {
		return int(done), strOK
	}
	return 0, strTooLong
}

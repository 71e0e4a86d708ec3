package multiboot

// Error is the error type returned by [Parse]. All errors are constants of
// this type, so returning one never allocates.
type Error uint8

// Errors returned by [Parse].
const (
	// ErrBadMagic: EAX holds neither Magic1 nor Magic2.
	ErrBadMagic Error = iota + 1
	// ErrNullInfo: the boot information address is zero.
	ErrNullInfo
	// ErrMisaligned: the Multiboot2 information is not 8-byte aligned.
	ErrMisaligned
	// ErrUnreadable: part of the boot information (or a string, module
	// list or memory map it refers to) is not readable memory.
	ErrUnreadable
	// ErrBadTotalSize: the Multiboot2 total_size is below 16 or above 1 MiB.
	ErrBadTotalSize
	// ErrTruncated: a Multiboot2 tag runs past total_size.
	ErrTruncated
	// ErrNoEndTag: the Multiboot2 tag list ends without an end tag.
	ErrNoEndTag
	// ErrBadTag: a Multiboot2 tag's size is smaller than 8, smaller than the
	// fixed fields of its type, or (for the end tag) not 8.
	ErrBadTag
	// ErrUnterminated: a string in a Multiboot2 tag has no terminating NUL
	// inside the tag.
	ErrUnterminated
	// ErrTooManyRegions: the memory map has more than MaxRegions non-empty
	// entries.
	ErrTooManyRegions
	// ErrTooManyModules: there are more than MaxModules modules.
	ErrTooManyModules
	// ErrBadModule: a module's end address is below its start address.
	ErrBadModule
	// ErrNoMemoryMap: there is neither a memory map nor basic memory
	// information (or both describe no memory at all).
	ErrNoMemoryMap
	// ErrCmdlineTooLong: the kernel command line is longer than MaxCmdline
	// bytes (or, for Multiboot1, not NUL-terminated within that length).
	ErrCmdlineTooLong
	// ErrModCmdlineTooLong: a module string is longer than MaxModCmdline
	// bytes.
	ErrModCmdlineTooLong
	// ErrLoaderNameTooLong: the boot loader name is longer than
	// MaxLoaderName bytes.
	ErrLoaderNameTooLong
	// ErrBadMemoryMap: the memory map layout is malformed: a Multiboot2
	// entry_size below 24 or not a multiple of 8, a Multiboot2 tag whose
	// entries do not exactly fill it, a Multiboot1 entry size below 20, or a
	// Multiboot1 entry running past mmap_length.
	ErrBadMemoryMap
	// ErrMemoryMapTooLarge: the Multiboot1 mmap_length exceeds 64 KiB.
	ErrMemoryMapTooLarge
	// ErrRegionOverflow: a memory map entry's base+length overflows 64 bits.
	ErrRegionOverflow
)

// Error returns a constant description of e.
func (e Error) Error() string {
	switch e {
	case ErrBadMagic:
		return "multiboot: unrecognised boot loader magic (want 0x2BADB002 or 0x36D76289)"
	case ErrNullInfo:
		return "multiboot: boot information address is zero"
	case ErrMisaligned:
		return "multiboot2: boot information address is not 8-byte aligned"
	case ErrUnreadable:
		return "multiboot: boot information refers to unreadable memory"
	case ErrBadTotalSize:
		return "multiboot2: total_size is below 16 or above 1 MiB"
	case ErrTruncated:
		return "multiboot2: tag runs past total_size"
	case ErrNoEndTag:
		return "multiboot2: no end tag before total_size"
	case ErrBadTag:
		return "multiboot2: tag size is invalid for its type"
	case ErrUnterminated:
		return "multiboot2: string is not NUL-terminated within its tag"
	case ErrTooManyRegions:
		return "multiboot: memory map has more than 128 non-empty entries"
	case ErrTooManyModules:
		return "multiboot: more than 32 boot modules"
	case ErrBadModule:
		return "multiboot: module end address is below its start address"
	case ErrNoMemoryMap:
		return "multiboot: no memory map and no basic memory information"
	case ErrCmdlineTooLong:
		return "multiboot: command line is longer than 2048 bytes"
	case ErrModCmdlineTooLong:
		return "multiboot: module string is longer than 512 bytes"
	case ErrLoaderNameTooLong:
		return "multiboot: boot loader name is longer than 64 bytes"
	case ErrBadMemoryMap:
		return "multiboot: malformed memory map (bad entry size or entries do not fit the map)"
	case ErrMemoryMapTooLarge:
		return "multiboot1: mmap_length exceeds 64 KiB"
	case ErrRegionOverflow:
		return "multiboot: memory map entry base+length overflows 64 bits"
	}
	return "multiboot: unknown error"
}

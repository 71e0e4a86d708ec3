// Package mm manages host physical memory for GoZen: a bitmap frame
// allocator over one contiguous physical window, plus small pure helpers for
// boot-time planning of physical ranges.
//
// # Kernel-context constraints
//
// The code in this package is called from GoZen's ring-0 runtime layer,
// including page-fault and syscall handlers where the Go runtime cannot help.
// It therefore obeys these rules on every path after Init:
//
//   - It never allocates Go heap memory: no growing appends, maps, fmt,
//     capturing closures, string building or conversion of non-constant
//     values to interfaces.
//   - It never stores Go pointers into structures (so no write barriers run).
//     The only pointer-holding field, the caller-supplied bitmap slice, is
//     written once by Init, which runs at boot.
//   - It never panics on any argument value: inputs are validated and
//     failures are reported through ok results or Error values. Error is an
//     integer type, so returning one allocates nothing.
//
// Physical addresses are plain uint64 values throughout; nothing here
// dereferences them.
package mm

// PageSize is the size in bytes of one physical frame (4 KiB).
const PageSize = 4096

// pageShift is log2(PageSize).
const pageShift = 12

// pageMask selects the offset-within-page bits of an address.
const pageMask = PageSize - 1

// Error is an allocator error. It is a small integer so returning it as an
// error value never allocates.
type Error uint8

const (
	// ErrNotAllocated is returned by Free and FreeContig when an address is
	// not page aligned, lies outside the allocator's window, or names a frame
	// that is not currently allocated (double free, or a frame that is
	// reserved or was never added).
	ErrNotAllocated Error = iota + 1
	// ErrBadWindow is returned by Init when base or limit is not page
	// aligned, or limit is not above base.
	ErrBadWindow
	// ErrBitmapTooSmall is returned by Init when the supplied bitmap holds
	// fewer than BitmapWords(base, limit) words.
	ErrBitmapTooSmall
)

// Error returns a constant description of e.
func (e Error) Error() string {
	switch e {
	case ErrNotAllocated:
		return "mm: frame not allocated"
	case ErrBadWindow:
		return "mm: bad physical window"
	case ErrBitmapTooSmall:
		return "mm: bitmap too small"
	}
	return "mm: unknown error"
}

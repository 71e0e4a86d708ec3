package xendev

import (
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// GntallocPath is the grant-sharing device (xen-gntalloc.ko): a process
// shares pages of its own with another domain, as a front end does.
const GntallocPath = "/dev/xen/gntalloc"

// MaxGntallocPages is how many pages one Gntalloc.Share call takes.
const MaxGntallocPages = 64

// The ioctl arguments of include/uapi/xen/gntalloc.h. The alloc argument
// ends in a variable array of grant references; the ioctl number encodes
// the size with one (24 bytes), the kernel writes count of them.
type (
	gntallocAlloc struct {
		Domid uint16
		Flags uint16
		Count uint32
		Index uint64 // out: the mmap offset of the pages
		Refs  [1]uint32
	}
	gntallocAllocN struct { // the same with room for MaxGntallocPages refs
		Domid uint16
		Flags uint16
		Count uint32
		Index uint64
		Refs  [MaxGntallocPages]uint32
	}
	gntallocDealloc struct {
		Index uint64
		Count uint32
	}
)

const gntallocFlagWritable = 1

var (
	ioctlGntallocAllocGref   = ioc('G', 5, unsafe.Sizeof(gntallocAlloc{}))
	ioctlGntallocDeallocGref = ioc('G', 6, unsafe.Sizeof(gntallocDealloc{}))
)

// Gntalloc is an open /dev/xen/gntalloc.
type Gntalloc struct {
	f *os.File
}

// OpenGntalloc opens the grant-sharing device.
func OpenGntalloc() (*Gntalloc, error) {
	f, err := os.OpenFile(GntallocPath, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	return &Gntalloc{f: f}, nil
}

func (g *Gntalloc) ioctl(req uintptr, arg unsafe.Pointer) error {
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, g.f.Fd(), req, uintptr(arg))
	if errno != 0 {
		return errno
	}
	return nil
}

// Share allocates n zeroed pages granted to domain domid (writable by it
// if writable) and maps them into this process: their grant references,
// the pages, and revoke, which unmaps them and gives the grants up
// (IOCTL_GNTALLOC_DEALLOC_GREF). Linux ends a grant the other domain
// still has mapped only when that domain unmaps it (gnttab_end_foreign_access
// defers it); until then the reference stays taken.
func (g *Gntalloc) Share(domid uint16, n int, writable bool) (refs []uint32, pages [][]byte, revoke func() error, err error) {
	if n < 1 || n > MaxGntallocPages {
		return nil, nil, nil, fmt.Errorf("%s: %d pages: want 1..%d", GntallocPath, n, MaxGntallocPages)
	}
	var a gntallocAllocN
	a.Domid, a.Count = domid, uint32(n)
	if writable {
		a.Flags = gntallocFlagWritable
	}
	if err := g.ioctl(ioctlGntallocAllocGref, unsafe.Pointer(&a)); err != nil {
		return nil, nil, nil, fmt.Errorf("%s: alloc %d grants for domain %d: %w", GntallocPath, n, domid, err)
	}
	refs = append([]uint32(nil), a.Refs[:n]...)
	dealloc := func() error {
		d := gntallocDealloc{Index: a.Index, Count: uint32(n)}
		return g.ioctl(ioctlGntallocDeallocGref, unsafe.Pointer(&d))
	}
	b, err := unix.Mmap(int(g.f.Fd()), int64(a.Index), n*PageSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		dealloc()
		return nil, nil, nil, fmt.Errorf("%s: mmap %d grants: %w", GntallocPath, n, err)
	}
	for i := 0; i < n; i++ {
		pages = append(pages, b[i*PageSize:(i+1)*PageSize:(i+1)*PageSize])
	}
	return refs, pages, func() error {
		err := unix.Munmap(b)
		if e := dealloc(); err == nil {
			err = e
		}
		return err
	}, nil
}

// Close closes the device; pages still shared are given up.
func (g *Gntalloc) Close() error { return g.f.Close() }

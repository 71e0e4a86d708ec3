package xendev

import (
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// GntdevPath is the grant-mapping device (xen-gntdev.ko).
const GntdevPath = "/dev/xen/gntdev"

// The ioctl arguments of include/uapi/xen/gntdev.h, for one grant.
type (
	gntdevGrantRef struct{ Domid, Ref uint32 }
	gntdevMap      struct {
		Count uint32
		Pad   uint32
		Index uint64 // out: the mmap offset of the mapping
		Refs  [1]gntdevGrantRef
	}
	gntdevUnmap struct {
		Index uint64
		Count uint32
		Pad   uint32
	}
)

var (
	ioctlGntdevMapGrantRef   = ioc('G', 0, unsafe.Sizeof(gntdevMap{}))
	ioctlGntdevUnmapGrantRef = ioc('G', 1, unsafe.Sizeof(gntdevUnmap{}))
)

// PageSize is the size of a granted page.
const PageSize = 4096

// Gntdev is an open /dev/xen/gntdev.
type Gntdev struct {
	f *os.File
}

// OpenGntdev opens the grant-mapping device.
func OpenGntdev() (*Gntdev, error) {
	f, err := os.OpenFile(GntdevPath, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	return &Gntdev{f: f}, nil
}

func (g *Gntdev) ioctl(req uintptr, arg unsafe.Pointer) error {
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, g.f.Fd(), req, uintptr(arg))
	if errno != 0 {
		return errno
	}
	return nil
}

// MapGrant maps grant ref of domain domid read-write into this process
// (IOCTL_GNTDEV_MAP_GRANT_REF, then mmap at the index it returns; the
// grant map hypercall happens at mmap). unmap undoes both.
func (g *Gntdev) MapGrant(domid, ref uint32) (page []byte, unmap func() error, err error) {
	m := gntdevMap{Count: 1, Refs: [1]gntdevGrantRef{{domid, ref}}}
	if err := g.ioctl(ioctlGntdevMapGrantRef, unsafe.Pointer(&m)); err != nil {
		return nil, nil, fmt.Errorf("%s: map grant %d of domain %d: %w", GntdevPath, ref, domid, err)
	}
	release := func() error {
		u := gntdevUnmap{Index: m.Index, Count: 1}
		return g.ioctl(ioctlGntdevUnmapGrantRef, unsafe.Pointer(&u))
	}
	b, err := unix.Mmap(int(g.f.Fd()), int64(m.Index), PageSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		release()
		return nil, nil, fmt.Errorf("%s: mmap grant %d of domain %d: %w", GntdevPath, ref, domid, err)
	}
	return b, func() error {
		err := unix.Munmap(b)
		if e := release(); err == nil {
			err = e
		}
		return err
	}, nil
}

// Close closes the device.
func (g *Gntdev) Close() error { return g.f.Close() }

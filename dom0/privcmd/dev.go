package privcmd

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

const pageSize = 4096

// ioctl issues an ioctl whose argument is the memory at arg and returns
// the kernel's non-negative result.
func ioctl(f *os.File, req uintptr, arg unsafe.Pointer) (int, error) {
	r, _, e := unix.Syscall(unix.SYS_IOCTL, f.Fd(), req, uintptr(arg))
	runtime.KeepAlive(f)
	if e != 0 {
		return int(r), e
	}
	return int(r), nil
}

// open opens a Xen device, saying which module provides it if it is
// missing.
func open(path, module string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|unix.O_CLOEXEC, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: not present: is this Xen's dom0 with the %s module loaded? (%w)", path, module, err)
	}
	return f, err
}

// Privcmd is an open /dev/xen/privcmd.
type Privcmd struct{ f *os.File }

// Open opens /dev/xen/privcmd.
func Open() (*Privcmd, error) {
	f, err := open(PrivcmdPath, "xen-privcmd")
	if err != nil {
		return nil, err
	}
	return &Privcmd{f}, nil
}

// Close closes the device (mappings made through it stay until unmapped).
func (p *Privcmd) Close() error { return p.f.Close() }

// Hypercall issues hypercall op with up to five arguments and returns
// its (non-negative) result; a negative one comes back as the errno.
// Pointer arguments must point into a Buffer: the hypervisor reads them
// by walking dom0's page tables, and only those pages are sure to be
// present and locked.
func (p *Privcmd) Hypercall(op uint64, args ...uint64) (int, error) {
	if len(args) > 5 {
		return 0, errors.New("privcmd: a hypercall has at most 5 arguments")
	}
	h := Hypercall{Op: op}
	copy(h.Arg[:], args)
	return ioctl(p.f, IoctlHypercall, unsafe.Pointer(&h))
}

// Restrict limits this open device to operations on domain dom
// (IOCTL_PRIVCMD_RESTRICT), as device models use it.
func (p *Privcmd) Restrict(dom uint16) error {
	_, err := ioctl(p.f, IoctlRestrict, unsafe.Pointer(&dom))
	return err
}

func (p *Privcmd) mmap(pages int) ([]byte, error) {
	if pages <= 0 {
		return nil, syscall.EINVAL
	}
	return unix.Mmap(int(p.f.Fd()), 0, pages*pageSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
}

// FrameError is MapForeign's error when some frames did not map: the
// first failing index and its errno, and how many failed.
type FrameError struct {
	Index  int
	GFN    uint64
	Errno  syscall.Errno
	Failed int
}

func (e *FrameError) Error() string {
	return fmt.Sprintf("%d of the frames did not map; the first, gfn %#x (index %d): %v", e.Failed, e.GFN, e.Index, e.Errno)
}
func (e *FrameError) Unwrap() error { return e.Errno }

// MapForeign maps frames gfns of domain dom, in order, into one writable
// buffer (IOCTL_PRIVCMD_MMAPBATCH_V2, which Linux turns into
// XENMEM_add_to_physmap_range with XENMAPSPACE_gmfn_foreign). Frames
// reported -ENOENT (paged out) are retried a few times, as libxc does.
// Release the buffer with Unmap.
func (p *Privcmd) MapForeign(dom uint16, gfns []uint64) ([]byte, error) {
	buf, err := p.mmap(len(gfns))
	if err != nil {
		return nil, fmt.Errorf("privcmd mmap of %d pages: %w", len(gfns), err)
	}
	errs := make([]int32, len(gfns))
	arr := append([]uint64(nil), gfns...)
	m := MmapBatchV2{Num: uint32(len(gfns)), Dom: dom, Addr: uint64(uintptr(unsafe.Pointer(&buf[0]))),
		Arr: uintptr(unsafe.Pointer(&arr[0])), Err: uintptr(unsafe.Pointer(&errs[0]))}
	for try := 0; ; try++ {
		_, err = ioctl(p.f, IoctlMmapBatchV2, unsafe.Pointer(&m))
		runtime.KeepAlive(arr)
		runtime.KeepAlive(errs)
		if !errors.Is(err, syscall.ENOENT) || try == 10 {
			break
		}
	}
	if err != nil {
		fe := &FrameError{Index: -1}
		for i, e := range errs {
			if e != 0 {
				if fe.Failed == 0 {
					fe.Index, fe.GFN, fe.Errno = i, gfns[i], syscall.Errno(-e)
				}
				fe.Failed++
			}
		}
		unix.Munmap(buf)
		if fe.Failed > 0 {
			return nil, fe
		}
		return nil, fmt.Errorf("privcmd MMAPBATCH_V2 of %d frames of domain %d: %w", len(gfns), dom, err)
	}
	return buf, nil
}

// MapResource maps n frames of a domain's resource from frame idx
// (IOCTL_PRIVCMD_MMAP_RESOURCE: XENMEM_acquire_resource); the grant
// table's shared frames are ResourceGrantTable/GrantTableShared.
func (p *Privcmd) MapResource(dom uint16, typ, id, idx uint32, n int) ([]byte, error) {
	buf, err := p.mmap(n)
	if err != nil {
		return nil, fmt.Errorf("privcmd mmap of %d pages: %w", n, err)
	}
	r := MmapResource{Dom: dom, Type: typ, ID: id, Idx: idx, Num: uint64(n), Addr: uint64(uintptr(unsafe.Pointer(&buf[0])))}
	if _, err := ioctl(p.f, IoctlMmapResource, unsafe.Pointer(&r)); err != nil {
		unix.Munmap(buf)
		return nil, fmt.Errorf("privcmd MMAP_RESOURCE type %d id %d of domain %d: %w", typ, id, dom, err)
	}
	return buf, nil
}

// Unmap releases a mapping MapForeign, MapResource or a Buffer returned.
func Unmap(b []byte) error { return unix.Munmap(b) }

// Populate faults in the pages under b for reading (MADV_POPULATE_READ,
// Linux 5.14), so that they are present in the process's page tables and
// a hypercall can read b in place: memory not from Buffer is not locked,
// so the hypervisor may still find a page gone (the kernel migrating it,
// say) and fail the call with EFAULT, which callers must handle.
func Populate(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	// madvise takes page-aligned addresses: the span from b's first page
	// to its last, passed as numbers (b keeps the memory alive).
	start := uintptr(unsafe.Pointer(&b[0]))
	first := start &^ (pageSize - 1)
	n := (start + uintptr(len(b)) - first + pageSize - 1) &^ (pageSize - 1)
	_, _, e := unix.Syscall(unix.SYS_MADVISE, first, n, unix.MADV_POPULATE_READ)
	runtime.KeepAlive(b)
	if e != 0 {
		return e
	}
	return nil
}

// Buffer returns pages of locked memory for hypercall arguments, from
// /dev/xen/hypercall (Linux's privcmd-buf, what libxencall uses), so the
// hypervisor finds them present. Release with Unmap; f may be closed.
func Buffer(pages int) ([]byte, error) {
	f, err := open(HypercallPath, "xen-privcmd")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return unix.Mmap(int(f.Fd()), 0, pages*pageSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
}

// Evtchn is an open /dev/xen/evtchn: ports bound through it notify it,
// and Wait reads them.
type Evtchn struct{ f *os.File }

// OpenEvtchn opens /dev/xen/evtchn.
func OpenEvtchn() (*Evtchn, error) {
	f, err := open(EvtchnPath, "xen-evtchn")
	if err != nil {
		return nil, err
	}
	return &Evtchn{f}, nil
}

func (e *Evtchn) Close() error { return e.f.Close() }

// BindInterdomain binds a local port to remote domain's port and returns
// the local port.
func (e *Evtchn) BindInterdomain(remoteDom, remotePort uint32) (uint32, error) {
	a := EvtchnBindInterdomain{remoteDom, remotePort}
	n, err := ioctl(e.f, IoctlEvtchnBindInterdomain, unsafe.Pointer(&a))
	return uint32(n), err
}

// BindVIRQ binds a virtual IRQ (such as VIRQ_DOM_EXC, 3) and returns the
// local port.
func (e *Evtchn) BindVIRQ(virq uint32) (uint32, error) {
	a := EvtchnBindVIRQ{virq}
	n, err := ioctl(e.f, IoctlEvtchnBindVIRQ, unsafe.Pointer(&a))
	return uint32(n), err
}

// BindUnbound allocates a port remote may bind and returns it.
func (e *Evtchn) BindUnbound(remoteDom uint32) (uint32, error) {
	a := EvtchnBindUnboundPort{remoteDom}
	n, err := ioctl(e.f, IoctlEvtchnBindUnboundPort, unsafe.Pointer(&a))
	return uint32(n), err
}

// Unbind closes a local port.
func (e *Evtchn) Unbind(port uint32) error {
	a := EvtchnUnbind{port}
	_, err := ioctl(e.f, IoctlEvtchnUnbind, unsafe.Pointer(&a))
	return err
}

// Notify signals a local port's peer.
func (e *Evtchn) Notify(port uint32) error {
	a := EvtchnNotify{port}
	_, err := ioctl(e.f, IoctlEvtchnNotify, unsafe.Pointer(&a))
	return err
}

// Wait blocks until a bound port fires and returns it; the port stays
// masked until Unmask.
func (e *Evtchn) Wait() (uint32, error) {
	var b [4]byte
	if _, err := e.f.Read(b[:]); err != nil {
		return 0, err
	}
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24, nil
}

// Unmask lets port fire again.
func (e *Evtchn) Unmask(port uint32) error {
	b := [4]byte{byte(port), byte(port >> 8), byte(port >> 16), byte(port >> 24)}
	_, err := e.f.Write(b[:])
	return err
}

// Gntdev is an open /dev/xen/gntdev.
type Gntdev struct{ f *os.File }

// OpenGntdev opens /dev/xen/gntdev.
func OpenGntdev() (*Gntdev, error) {
	f, err := open(GntdevPath, "xen-gntdev")
	if err != nil {
		return nil, err
	}
	return &Gntdev{f}, nil
}

func (g *Gntdev) Close() error { return g.f.Close() }

// Map maps grant references refs of domain dom (each one page) into one
// buffer: IOCTL_GNTDEV_MAP_GRANT_REF reserves them at an offset of the
// device, and mmap at that offset maps them (GNTTABOP_map_grant_ref).
// It returns the buffer and the device offset to pass to g.Unmap.
func (g *Gntdev) Map(dom uint32, refs []uint32, writable bool) ([]byte, uint64, error) {
	if len(refs) == 0 {
		return nil, 0, syscall.EINVAL
	}
	hdr := int(unsafe.Sizeof(GntdevMapGrantRef{}))
	arg := make([]uint64, (hdr+8*len(refs))/8)
	m := (*GntdevMapGrantRef)(unsafe.Pointer(&arg[0]))
	m.Count = uint32(len(refs))
	for i, r := range refs {
		*(*GntdevGrantRef)(unsafe.Add(unsafe.Pointer(&arg[0]), hdr+8*i)) = GntdevGrantRef{dom, r}
	}
	if _, err := ioctl(g.f, IoctlGntdevMapGrantRef, unsafe.Pointer(&arg[0])); err != nil {
		return nil, 0, fmt.Errorf("gntdev map of %d grants of domain %d: %w", len(refs), dom, err)
	}
	prot := unix.PROT_READ
	if writable {
		prot |= unix.PROT_WRITE
	}
	buf, err := unix.Mmap(int(g.f.Fd()), int64(m.Index), len(refs)*pageSize, prot, unix.MAP_SHARED)
	if err != nil {
		u := GntdevUnmapGrantRef{Index: m.Index, Count: m.Count}
		ioctl(g.f, IoctlGntdevUnmapGrantRef, unsafe.Pointer(&u))
		return nil, 0, fmt.Errorf("gntdev mmap of %d grants of domain %d: %w", len(refs), dom, err)
	}
	return buf, m.Index, nil
}

// Unmap releases a mapping of n grants made at device offset index (the
// munmap drops the pages; the ioctl frees the reservation).
func (g *Gntdev) Unmap(buf []byte, index uint64) error {
	n := len(buf) / pageSize
	if err := unix.Munmap(buf); err != nil {
		return err
	}
	u := GntdevUnmapGrantRef{Index: index, Count: uint32(n)}
	_, err := ioctl(g.f, IoctlGntdevUnmapGrantRef, unsafe.Pointer(&u))
	return err
}

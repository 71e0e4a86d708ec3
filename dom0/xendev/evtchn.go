package xendev

import (
	"encoding/binary"
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// EvtchnPath is the event-channel device (xen-evtchn.ko).
const EvtchnPath = "/dev/xen/evtchn"

// The ioctl arguments of include/uapi/xen/evtchn.h: each is one or two
// C unsigned ints.
type (
	evtchnBindVirq        struct{ Virq uint32 }
	evtchnBindInterdomain struct{ RemoteDomain, RemotePort uint32 }
	evtchnBindUnboundPort struct{ RemoteDomain uint32 }
	evtchnPort            struct{ Port uint32 } // ioctl_evtchn_unbind and _notify
)

// The ioctl numbers, type 'E'.
var (
	ioctlEvtchnBindVirq        = ioc('E', 0, unsafe.Sizeof(evtchnBindVirq{}))
	ioctlEvtchnBindInterdomain = ioc('E', 1, unsafe.Sizeof(evtchnBindInterdomain{}))
	ioctlEvtchnBindUnboundPort = ioc('E', 2, unsafe.Sizeof(evtchnBindUnboundPort{}))
	ioctlEvtchnUnbind          = ioc('E', 3, unsafe.Sizeof(evtchnPort{}))
	ioctlEvtchnNotify          = ioc('E', 4, unsafe.Sizeof(evtchnPort{}))
)

// Evtchn is an open /dev/xen/evtchn. Ports bound through it belong to it;
// a port that fires is reported by Wait and stays masked until Unmask,
// as Linux's evtchn driver does (evtchn_interrupt disables the IRQ; a
// write of the port re-enables it).
type Evtchn struct {
	f *os.File
}

// OpenEvtchn opens the event-channel device.
func OpenEvtchn() (*Evtchn, error) {
	f, err := os.OpenFile(EvtchnPath, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	return &Evtchn{f: f}, nil
}

func (e *Evtchn) ioctl(req uintptr, arg unsafe.Pointer) (uint32, error) {
	rc, err := e.ctl(req, arg)
	return uint32(rc), err
}

func (e *Evtchn) ctl(req uintptr, arg unsafe.Pointer) (uintptr, error) {
	sc, err := e.f.SyscallConn()
	if err != nil {
		return 0, err
	}
	var rc uintptr
	var errno unix.Errno
	if err := sc.Control(func(fd uintptr) {
		rc, _, errno = unix.Syscall(unix.SYS_IOCTL, fd, req, uintptr(arg))
	}); err != nil {
		return 0, err
	}
	if errno != 0 {
		return 0, errno
	}
	return rc, nil
}

// BindInterdomain connects a new local port to port remotePort of domain
// remoteDom (EVTCHNOP_bind_interdomain) and returns the local port.
func (e *Evtchn) BindInterdomain(remoteDom, remotePort uint32) (uint32, error) {
	a := evtchnBindInterdomain{remoteDom, remotePort}
	p, err := e.ioctl(ioctlEvtchnBindInterdomain, unsafe.Pointer(&a))
	if err != nil {
		return 0, fmt.Errorf("%s: bind_interdomain(%d, %d): %w", EvtchnPath, remoteDom, remotePort, err)
	}
	return p, nil
}

// BindVIRQ binds virtual IRQ virq (on vCPU 0) and returns its port.
func (e *Evtchn) BindVIRQ(virq uint32) (uint32, error) {
	a := evtchnBindVirq{virq}
	p, err := e.ioctl(ioctlEvtchnBindVirq, unsafe.Pointer(&a))
	if err != nil {
		return 0, fmt.Errorf("%s: bind_virq(%d): %w", EvtchnPath, virq, err)
	}
	return p, nil
}

// BindUnbound allocates a port that domain remoteDom may bind
// (EVTCHNOP_alloc_unbound) and returns it.
func (e *Evtchn) BindUnbound(remoteDom uint32) (uint32, error) {
	a := evtchnBindUnboundPort{remoteDom}
	p, err := e.ioctl(ioctlEvtchnBindUnboundPort, unsafe.Pointer(&a))
	if err != nil {
		return 0, fmt.Errorf("%s: alloc_unbound(%d): %w", EvtchnPath, remoteDom, err)
	}
	return p, nil
}

// Unbind closes a port bound through this device.
func (e *Evtchn) Unbind(port uint32) error {
	a := evtchnPort{port}
	if _, err := e.ioctl(ioctlEvtchnUnbind, unsafe.Pointer(&a)); err != nil {
		return fmt.Errorf("%s: unbind %d: %w", EvtchnPath, port, err)
	}
	return nil
}

// Notify signals the other end of port (EVTCHNOP_send).
func (e *Evtchn) Notify(port uint32) error {
	a := evtchnPort{port}
	if _, err := e.ioctl(ioctlEvtchnNotify, unsafe.Pointer(&a)); err != nil {
		return fmt.Errorf("%s: notify %d: %w", EvtchnPath, port, err)
	}
	return nil
}

// Wait blocks until ports fire and returns them (a read of the device:
// an array of evtchn_port_t). Each stays masked until Unmask.
func (e *Evtchn) Wait() ([]uint32, error) {
	var b [64 * 4]byte
	n, err := e.f.Read(b[:])
	if err != nil {
		return nil, err
	}
	ports := make([]uint32, 0, n/4)
	for i := 0; i+4 <= n; i += 4 {
		ports = append(ports, binary.LittleEndian.Uint32(b[i:]))
	}
	return ports, nil
}

// Unmask re-enables ports that Wait reported (a write of the ports).
func (e *Evtchn) Unmask(ports ...uint32) error {
	b := make([]byte, 4*len(ports))
	for i, p := range ports {
		binary.LittleEndian.PutUint32(b[4*i:], p)
	}
	_, err := e.f.Write(b)
	return err
}

// Close closes the device, unbinding every port bound through it.
func (e *Evtchn) Close() error { return e.f.Close() }

package privxc

import (
	"encoding/binary"
	"errors"
	"syscall"
	"testing"
	"unsafe"

	"gozen/abi/xen"
	"gozen/dom0/xc"
)

// fakeCaller is a hypervisor that reads the hypercall arguments from the
// buffers it handed out, as Xen reads them from dom0's memory.
type fakeCaller struct {
	bufs      [][]byte
	live      int
	populated map[uint64]bool
	limit     int // populate_physmap does at most this many frames a call (0: all; <0: none)
	params    map[uint32]uint64
	shutdown  [2]uint32
	unbound   [2]uint16
	// resident: Resident succeeds, and the hypervisor may read the
	// slices it was given (residents) in place.
	resident  bool
	residents [][]byte
}

func (f *fakeCaller) Resident(b []byte) bool {
	if f.resident {
		f.residents = append(f.residents, b)
	}
	return f.resident
}

// inResident reports whether [a, a+n) lies in a slice Resident was given.
func (f *fakeCaller) inResident(a uint64, n int) bool {
	for _, b := range f.residents {
		base := uint64(uintptr(unsafe.Pointer(&b[0])))
		if a >= base && a+uint64(n) <= base+uint64(len(b)) {
			return true
		}
	}
	return false
}

func (f *fakeCaller) Buffer(n int) ([]byte, func(), error) {
	b := make([]byte, n)
	f.bufs = append(f.bufs, b)
	f.live++
	return b, func() { f.live-- }, nil
}

// mem returns the buffer bytes at address a (or, in place, of a slice
// Resident was given).
func (f *fakeCaller) mem(a uint64, n int) []byte {
	for _, b := range append(f.bufs, f.residents...) {
		base := uint64(uintptr(unsafe.Pointer(&b[0])))
		if a >= base && a+uint64(n) <= base+uint64(len(b)) {
			return b[a-base : a-base+uint64(n)]
		}
	}
	panic("hypercall argument outside the hypercall buffers")
}

func (f *fakeCaller) Hypercall(op uint64, args ...uint64) (int, error) {
	switch op {
	case xen.HypercallMemoryOp:
		var r xen.XenMemoryReservation
		r.Decode(f.mem(args[1], xen.XenMemoryReservationSize))
		if args[0] != xen.XenmemPopulatePhysmap || r.DomID != 3 || r.ExtentOrder > 9 {
			return 0, syscall.EINVAL
		}
		n := int(r.NrExtents)
		if f.limit != 0 {
			n = max(min(n, f.limit), 0)
		}
		list := f.mem(r.ExtentStart, 8*int(r.NrExtents))
		for i := 0; i < n; i++ {
			g := binary.LittleEndian.Uint64(list[8*i:])
			for j := uint64(0); j < 1<<r.ExtentOrder; j++ {
				f.populated[g+j] = true
			}
		}
		return n, nil
	case xen.HypercallHVMOp:
		var p xen.XenHVMParam
		b := f.mem(args[1], xen.XenHVMParamSize)
		p.Decode(b)
		if args[0] == xen.HVMOpSetParam {
			f.params[p.Index] = p.Value
		} else {
			p.Value = f.params[p.Index]
			p.Encode(b)
		}
		return 0, nil
	case xen.HypercallEventChannelOp:
		var a xen.EvtchnAllocUnbound
		b := f.mem(args[1], xen.EvtchnAllocUnboundSize)
		a.Decode(b)
		f.unbound = [2]uint16{a.Dom, a.RemoteDom}
		a.Port = 7
		a.Encode(b)
		return 0, nil
	case xen.HypercallSchedOp:
		var s xen.SchedRemoteShutdown
		s.Decode(f.mem(args[1], xen.SchedRemoteShutdownSize))
		f.shutdown = [2]uint32{uint32(s.DomainID), s.Reason}
		return 0, nil
	case xen.HypercallXenVersion:
		switch args[0] {
		case xen.XenverVersion:
			return 4<<16 | 17, nil
		case xen.XenverExtraversion:
			copy(f.mem(args[1], xen.XenExtraversionLen), ".0\x00junk")
		case xen.XenverCapabilities:
			copy(f.mem(args[1], xen.XenCapabilitiesInfoLen), "hvm-3.0-x86_64\x00")
		case xen.XenverCommandline:
			copy(f.mem(args[1], xen.XenCommandlineLen), "loglvl=info\x00")
		}
		return 0, nil
	}
	return 0, syscall.ENOSYS
}

func (f *fakeCaller) MapForeign(dom uint16, gfns []uint64) ([]byte, error) {
	return nil, syscall.EPERM
}
func (f *fakeCaller) MapResource(dom uint16, typ, id, idx uint32, n int) ([]byte, error) {
	return make([]byte, 4096*n), nil
}
func (f *fakeCaller) Unmap([]byte) error { return nil }

func TestHypercalls(t *testing.T) {
	f := &fakeCaller{populated: map[uint64]bool{}, params: map[uint32]uint64{}}
	x := New(f, nil)
	gfns := make([]uint64, populateBatch+10)
	for i := range gfns {
		gfns[i] = uint64(i) + 0x100
	}
	if err := x.Populate(3, 0, gfns); err != nil {
		t.Fatal(err)
	}
	if len(f.populated) != len(gfns) || !f.populated[0x100] || !f.populated[uint64(len(gfns))+0xff] {
		t.Errorf("%d frames populated", len(f.populated))
	}
	// A hypervisor that stops early (GoZen: 512 extents a call) is asked
	// again for the rest; one that makes no progress is out of memory.
	f.populated = map[uint64]bool{}
	f.limit = 2
	if err := x.Populate(3, 0, gfns[:5]); err != nil || len(f.populated) != 5 || !f.populated[0x104] {
		t.Errorf("populate in short steps: %v, %d frames", err, len(f.populated))
	}
	f.limit = -1
	if err := x.Populate(3, 0, gfns[:5]); !errors.Is(err, syscall.ENOMEM) {
		t.Errorf("populate without progress: %v", err)
	}
	// 2 MiB extents: each gfn stands for 512 frames.
	f.populated, f.limit = map[uint64]bool{}, 1
	if err := x.Populate(3, 9, []uint64{0x200, 0x400}); err != nil || len(f.populated) != 1024 || !f.populated[0x5ff] || f.populated[0x600] {
		t.Errorf("populate order 9: %v, %d frames", err, len(f.populated))
	}
	f.limit = 0
	if err := x.SetParam(3, xen.HVMParamStorePFN, 0xfeffc); err != nil {
		t.Fatal(err)
	}
	if v, err := x.GetParam(3, xen.HVMParamStorePFN); err != nil || v != 0xfeffc {
		t.Errorf("get_param: %#x %v", v, err)
	}
	if p, err := x.AllocUnbound(3, 0); err != nil || p != 7 || f.unbound != [2]uint16{3, 0} {
		t.Errorf("alloc_unbound: %d %v %v", p, err, f.unbound)
	}
	if err := x.ShutdownDomain(3, xc.ShutdownReboot); err != nil || f.shutdown != [2]uint32{3, xc.ShutdownReboot} {
		t.Errorf("remote_shutdown: %v %v", err, f.shutdown)
	}
	v, err := x.Version()
	if err != nil || v != (xc.Version{Major: 4, Minor: 17, Extra: ".0", Caps: "hvm-3.0-x86_64", Commandline: "loglvl=info"}) {
		t.Errorf("version: %+v %v", v, err)
	}
	if _, err := x.MapForeign(3, []uint64{1}); !errors.Is(err, syscall.EPERM) {
		t.Errorf("map error: %v", err)
	}
	if err := x.SetParam(xen.DomIDFirstReserved, 1, 0); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("reserved domid: %v", err)
	}
	if f.live != 0 {
		t.Errorf("%d buffers not released", f.live)
	}
}

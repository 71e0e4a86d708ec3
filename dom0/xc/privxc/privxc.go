// Package privxc implements xc.Interface in dom0 over Linux's privcmd
// devices: the operations on another domain that go through ordinary
// hypercalls (memory_op populate_physmap, hvm_op params, event channels,
// sched_op remote shutdown, xen_version) and privcmd's foreign and
// resource mappings are here; the domctl/sysctl half (create, destroy,
// pause, info, limits, the vCPU context, scheduler, physinfo, console) is
// a Control, which needs Xen 4.17's domctl/sysctl layouts in abi/xen.
package privxc

import (
	"encoding/binary"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"unsafe"

	"gozen/abi/xen"
	"gozen/dom0/privcmd"
	"gozen/dom0/xc"
)

// Caller issues hypercalls and maps memory: *Dom0 over /dev/xen/privcmd,
// a fake in tests.
type Caller interface {
	// Hypercall issues op; pointer arguments are addresses of Buffer
	// memory.
	Hypercall(op uint64, args ...uint64) (int, error)
	// Buffer returns n bytes of memory the hypervisor can read and write
	// through dom0's page tables, and its release.
	Buffer(n int) ([]byte, func(), error)
	// Resident makes b's pages present in dom0's page tables, if it can,
	// so a hypercall may read b in place; the hypervisor can still find
	// a page gone (b is not locked) and fail with EFAULT.
	Resident(b []byte) bool
	MapForeign(dom uint16, gfns []uint64) ([]byte, error)
	MapResource(dom uint16, typ, id, idx uint32, n int) ([]byte, error)
	Unmap(b []byte) error
}

// Control is the domctl/sysctl half of xc.Interface.
type Control interface {
	CreateDomain(c xc.CreateConfig) (uint32, error)
	DestroyDomain(dom uint32) error
	Pause(dom uint32) error
	Unpause(dom uint32) error
	DomainInfo(dom uint32) (xc.DomainInfo, error)
	ListDomains() ([]xc.DomainInfo, error)
	SetHandle(dom uint32, uuid [16]byte) error
	SetMaxMem(dom uint32, kib uint64) error
	SetMaxVCPUs(dom uint32, n int) error
	SetVCPUContext(dom uint32, vcpu int, ctx xc.VCPUContext) error
	WriteGuest(dom uint32, gpa uint64, data []byte) error
	SchedParams(dom uint32) (xc.Sched, error)
	SetSchedParams(dom uint32, s xc.Sched) error
	VCPUs(dom uint32) ([]xc.VCPUInfo, error)
	PhysInfo() (xc.PhysInfo, error)
	ReadConsole(clear bool) (string, error)
}

// XC is xc.Interface over a Caller and a Control.
type XC struct {
	Control
	c Caller
}

// New returns the interface.
func New(c Caller, ctl Control) *XC { return &XC{Control: ctl, c: c} }

var _ xc.Interface = (*XC)(nil)

func addr(b []byte) uint64 { return uint64(uintptr(unsafe.Pointer(&b[0]))) }

func domid(op string, dom uint32) (uint16, error) {
	if dom >= xen.DomIDFirstReserved {
		return 0, &xc.Error{Op: op, Dom: dom, Err: syscall.EINVAL}
	}
	return uint16(dom), nil
}

// call issues a hypercall whose one argument struct is arg, encoded into
// a buffer by enc and read back by dec (nil: nothing comes back).
func (x *XC) call(op string, dom uint32, hc uint64, cmd uint64, size int, enc func([]byte), dec func([]byte)) (int, error) {
	buf, release, err := x.c.Buffer(size)
	if err != nil {
		return 0, &xc.Error{Op: op, Dom: dom, Err: err}
	}
	defer release()
	enc(buf)
	r, err := x.c.Hypercall(hc, cmd, addr(buf))
	if err != nil {
		return r, &xc.Error{Op: op, Dom: dom, Err: err}
	}
	if dec != nil {
		dec(buf)
	}
	return r, nil
}

// populateBatch bounds one populate_physmap call's frame list (32 KiB).
const populateBatch = 4096

// Populate is XENMEM_populate_physmap on dom, extents of 2^order frames
// from each gfn, in batches. The
// hypervisor returns how many extents it populated: Xen finishes a long
// batch through a hypercall continuation, GoZen stops after a bounded
// number (hypercall.MaxExtents) and returns the count, so a short count
// with progress is continued from where it stopped; no progress at all is
// ENOMEM (out of memory or past the domain's max_mem).
func (x *XC) Populate(dom uint32, order uint, gfns []uint64) error {
	id, err := domid("populate_physmap", dom)
	if err != nil {
		return err
	}
	list, release, err := x.c.Buffer(8 * min(len(gfns), populateBatch))
	if err != nil {
		return &xc.Error{Op: "populate_physmap", Dom: dom, Err: err}
	}
	defer release()
	for len(gfns) > 0 {
		n := min(len(gfns), populateBatch)
		for i, g := range gfns[:n] {
			binary.LittleEndian.PutUint64(list[8*i:], g)
		}
		r := xen.XenMemoryReservation{ExtentStart: addr(list), NrExtents: uint64(n), ExtentOrder: uint32(order), DomID: id}
		done, err := x.call("populate_physmap", dom, xen.HypercallMemoryOp, xen.XenmemPopulatePhysmap,
			xen.XenMemoryReservationSize, r.Encode, nil)
		if err != nil {
			return err
		}
		if done <= 0 || done > n {
			return &xc.Error{Op: fmt.Sprintf("populate_physmap (%d of %d order-%d extents from gfn %#x)", max(done, 0), n, order, gfns[0]), Dom: dom, Err: syscall.ENOMEM}
		}
		gfns = gfns[done:]
	}
	return nil
}

// MapForeign is privcmd's MMAPBATCH_V2.
func (x *XC) MapForeign(dom uint32, gfns []uint64) ([]byte, error) {
	id, err := domid("mmapbatch", dom)
	if err != nil {
		return nil, err
	}
	if len(gfns) == 0 {
		return nil, &xc.Error{Op: "mmapbatch", Dom: dom, Err: syscall.EINVAL}
	}
	b, err := x.c.MapForeign(id, gfns)
	if err != nil {
		return nil, &xc.Error{Op: "mmapbatch", Dom: dom, Err: err}
	}
	return b, nil
}

// MapGrantTable maps a shared grant-table frame with MMAP_RESOURCE
// (XENMEM_acquire_resource, grant table, shared), as xc_dom_gnttab_seed.
func (x *XC) MapGrantTable(dom uint32, frame int) ([]byte, error) {
	id, err := domid("acquire_resource", dom)
	if err != nil {
		return nil, err
	}
	b, err := x.c.MapResource(id, privcmd.ResourceGrantTable, privcmd.GrantTableShared, uint32(frame), 1)
	if err != nil {
		return nil, &xc.Error{Op: "acquire_resource grant table", Dom: dom, Err: err}
	}
	return b, nil
}

func (x *XC) Unmap(b []byte) error { return x.c.Unmap(b) }

// SetParam and GetParam are HVMOP_set_param/get_param on dom.
func (x *XC) SetParam(dom uint32, param uint32, v uint64) error {
	id, err := domid("set_param", dom)
	if err != nil {
		return err
	}
	p := xen.XenHVMParam{DomID: id, Index: param, Value: v}
	_, err = x.call(fmt.Sprintf("set_param %d", param), dom, xen.HypercallHVMOp, xen.HVMOpSetParam, xen.XenHVMParamSize, p.Encode, nil)
	return err
}

func (x *XC) GetParam(dom uint32, param uint32) (uint64, error) {
	id, err := domid("get_param", dom)
	if err != nil {
		return 0, err
	}
	p := xen.XenHVMParam{DomID: id, Index: param}
	_, err = x.call(fmt.Sprintf("get_param %d", param), dom, xen.HypercallHVMOp, xen.HVMOpGetParam, xen.XenHVMParamSize,
		p.Encode, func(b []byte) { p.Decode(b) })
	return p.Value, err
}

// AllocUnbound is EVTCHNOP_alloc_unbound{dom, remote}.
func (x *XC) AllocUnbound(dom, remote uint32) (uint32, error) {
	id, err := domid("alloc_unbound", dom)
	if err != nil {
		return 0, err
	}
	rid, err := domid("alloc_unbound", remote)
	if err != nil {
		return 0, err
	}
	a := xen.EvtchnAllocUnbound{Dom: id, RemoteDom: rid}
	_, err = x.call("alloc_unbound", dom, xen.HypercallEventChannelOp, xen.EvtchnOpAllocUnbound, xen.EvtchnAllocUnboundSize,
		a.Encode, func(b []byte) { a.Decode(b) })
	return a.Port, err
}

// ShutdownDomain is SCHEDOP_remote_shutdown.
func (x *XC) ShutdownDomain(dom uint32, reason uint32) error {
	id, err := domid("remote_shutdown", dom)
	if err != nil {
		return err
	}
	s := xen.SchedRemoteShutdown{DomainID: id, Reason: reason}
	_, err = x.call("remote_shutdown", dom, xen.HypercallSchedOp, xen.SchedOpRemoteShutdown, xen.SchedRemoteShutdownSize, s.Encode, nil)
	return err
}

// Version reads xen_version: the version number, extraversion,
// capabilities and Xen's command line.
func (x *XC) Version() (xc.Version, error) {
	var v xc.Version
	r, err := x.c.Hypercall(xen.HypercallXenVersion, xen.XenverVersion, 0)
	if err != nil {
		return v, &xc.Error{Op: "xen_version", Err: err}
	}
	v.Major, v.Minor = r>>16, r&0xffff
	for _, s := range []struct {
		cmd  uint64
		size int
		out  *string
	}{
		{xen.XenverExtraversion, xen.XenExtraversionLen, &v.Extra},
		{xen.XenverCapabilities, xen.XenCapabilitiesInfoLen, &v.Caps},
		{xen.XenverCommandline, xen.XenCommandlineLen, &v.Commandline},
	} {
		_, err := x.call("xen_version", 0, xen.HypercallXenVersion, s.cmd, s.size, func([]byte) {},
			func(b []byte) { *s.out, _, _ = strings.Cut(string(b), "\x00") })
		if err != nil {
			return v, err
		}
	}
	return v, nil
}

// Dom0 is the Caller over /dev/xen/privcmd and /dev/xen/hypercall.
type Dom0 struct{ P *privcmd.Privcmd }

func (d Dom0) Hypercall(op uint64, args ...uint64) (int, error) { return d.P.Hypercall(op, args...) }

func (d Dom0) Buffer(n int) ([]byte, func(), error) {
	pages := max(1, (n+4095)/4096)
	if pages <= maxCachedPages {
		bufCache.Lock()
		free := bufCache.free[pages]
		if k := len(free); k > 0 {
			b := free[k-1]
			bufCache.free[pages] = free[:k-1]
			bufCache.Unlock()
			return b[:n:n], func() { putBuffer(pages, b) }, nil
		}
		bufCache.Unlock()
	}
	b, err := privcmd.Buffer(pages)
	if err != nil {
		return nil, nil, err
	}
	if pages <= maxCachedPages {
		return b[:n:n], func() { putBuffer(pages, b) }, nil
	}
	return b[:n:n], func() { privcmd.Unmap(b) }, nil
}

// Hypercall buffers of up to maxCachedPages pages are kept for the next
// call (up to maxCached of each size), as libxencall keeps its buffer
// cache: each fresh one costs an open, an mmap and a munmap of
// /dev/xen/hypercall, several times what the hypercall itself costs for
// the small structures most calls pass.
const (
	maxCachedPages = 4
	maxCached      = 4
)

var bufCache struct {
	sync.Mutex
	free [maxCachedPages + 1][][]byte
}

// putBuffer clears a released buffer (the next call finds zeros, as in a
// fresh one) and keeps it, or unmaps it when enough are kept.
func putBuffer(pages int, b []byte) {
	clear(b)
	bufCache.Lock()
	defer bufCache.Unlock()
	if len(bufCache.free[pages]) < maxCached {
		bufCache.free[pages] = append(bufCache.free[pages], b)
		return
	}
	privcmd.Unmap(b)
}

func (d Dom0) Resident(b []byte) bool { return privcmd.Populate(b) == nil }

func (d Dom0) MapForeign(dom uint16, gfns []uint64) ([]byte, error) { return d.P.MapForeign(dom, gfns) }
func (d Dom0) MapResource(dom uint16, typ, id, idx uint32, n int) ([]byte, error) {
	return d.P.MapResource(dom, typ, id, idx, n)
}
func (d Dom0) Unmap(b []byte) error { return privcmd.Unmap(b) }

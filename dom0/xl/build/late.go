package build

import (
	"crypto/rand"
	"fmt"
	"strconv"

	"gozen/abi/xen"
	"gozen/dom0/xc"
	"gozen/loader"
)

// Late xenstore for domains the hypervisor built at boot (Xen's dom0less
// domains with "xen,enhanced"; Xen 4.17 tools/helpers/init-dom0less.c).
// hv builds such a domain (domain=...,xenstore=dom0) before dom0's
// xenstored runs: its HVM_PARAM_STORE_PFN reads ~0 and its
// HVM_PARAM_STORE_EVTCHN names a port offered, unbound, to dom0. Linux
// 6.1's xenbus_init (drivers/xen/xenbus/xenbus_probe.c) sees ~0, binds
// that port to xenbus_late_init and leaves its xenbus_probe thread
// waiting; at the first event the handler re-reads HVM_PARAM_STORE_PFN
// and, if it is now neither 0 nor ~0, wakes the thread, which maps the
// page and probes. So dom0 must set the param before xenstored's first
// notification, which comes when it binds the port on XS_INTRODUCE:
// ConnectLate zeroes the ring page (connection = XENSTORE_CONNECTED, both
// rings empty), seeds grant entries 0 and 1 (the console and store rings,
// which xenconsoled and xenstored map by grant), writes the nodes
// libxl__domain_make and libxl__build_post write, sets
// HVM_PARAM_STORE_PFN, then sends XS_INTRODUCE.

// LateName is the name ConnectLate gives domain id, as init-dom0less
// names the domains it connects.
func LateName(id uint32) string { return "dom0less-" + strconv.Itoa(int(id)) }

// WaitingForStore reports whether domain id waits for a late xenstore
// (HVM_PARAM_STORE_PFN is ~0 and it has a store port).
func WaitingForStore(x xc.Interface, id uint32) (bool, error) {
	pfn, err := x.GetParam(id, xen.HVMParamStorePFN)
	if err != nil {
		return false, err
	}
	port, err := x.GetParam(id, xen.HVMParamStoreEvtchn)
	if err != nil {
		return false, err
	}
	return pfn == ^uint64(0) && port != 0, nil
}

// ConnectLate connects running domain info.ID, built by the hypervisor
// with a late xenstore, to dom0's xenstored under name. On error the
// nodes it wrote are removed; the domain is left as it was (waiting).
func ConnectLate(x xc.Interface, st Store, info xc.DomainInfo, name string) (*Domain, error) {
	id := info.ID
	if ok, err := WaitingForStore(x, id); err != nil {
		return nil, fmt.Errorf("domain %d: HVM params: %w", id, err)
	} else if !ok {
		return nil, fmt.Errorf("domain %d is not waiting for a late xenstore (HVM_PARAM_STORE_PFN is not ~0)", id)
	}
	d := &Domain{ID: id, UUID: info.Handle}
	if d.UUID == ([16]byte{}) {
		if _, err := rand.Read(d.UUID[:]); err != nil {
			return nil, err
		}
		d.UUID[6] = d.UUID[6]&0x0f | 0x40
		d.UUID[8] = d.UUID[8]&0x3f | 0x80
	}
	for _, p := range []struct {
		param uint32
		port  *uint32
	}{{xen.HVMParamStoreEvtchn, &d.StorePort}, {xen.HVMParamConsoleEvtchn, &d.ConsolePort}} {
		v, err := x.GetParam(id, p.param)
		if err != nil || v == 0 || v > 1<<20 {
			return nil, fmt.Errorf("domain %d: HVM param %d = %d: %v", id, p.param, v, err)
		}
		*p.port = uint32(v)
	}
	vcpus := info.MaxVCPUID + 1
	if vcpus < 1 {
		vcpus = 1
	}
	mib := info.TotPages * xc.PageSize >> 20
	s := Spec{Name: name, MemoryMiB: mib, MaxMemMiB: max(mib, info.MaxPages*xc.PageSize>>20), VCPUs: vcpus}
	b := &builder{x: x, st: st, s: s, d: d, mem: info.TotPages * xc.PageSize}
	var err error
	if d.StoreDomID, err = b.backendDomID("xenstored"); err != nil {
		return nil, err
	}
	if d.ConsoleDomID, err = b.backendDomID("xenconsoled"); err != nil {
		return nil, err
	}
	steps := []struct {
		what string
		fn   func() error
	}{
		{"xenstore skeleton", b.skeleton},
		{"zeroing the xenstore ring", func() error { return zeroFrame(x, id, loader.StoreGFN) }},
		{"seeding the grant table", b.seedGrants},
		{"build_post", b.postNodes},
		// The UUID in /vm/<uuid> becomes the domain's handle in the
		// hypervisor too, so getdomaininfo agrees with xenstore, as
		// init-dom0less does with xc_domain_sethandle.
		{"XEN_DOMCTL_setdomainhandle", func() error { return x.SetHandle(id, d.UUID) }},
		{"HVM_PARAM_STORE_PFN", func() error { return x.SetParam(id, xen.HVMParamStorePFN, loader.StoreGFN) }},
		{"XS_INTRODUCE", func() error { return st.Introduce(id, loader.StoreGFN, d.StorePort) }},
	}
	for _, step := range steps {
		if err := step.fn(); err != nil {
			x.SetParam(id, xen.HVMParamStorePFN, ^uint64(0))
			st.Rm(b.home())
			st.Rm(b.vm())
			st.Rm("/libxl/" + strconv.Itoa(int(id)))
			return nil, fmt.Errorf("domain %d: %s: %w", id, step.what, err)
		}
	}
	return d, nil
}

// zeroFrame clears frame gfn of domain dom through a foreign mapping.
func zeroFrame(x xc.Interface, dom uint32, gfn uint64) error {
	m, err := x.MapForeign(dom, []uint64{gfn})
	if err != nil {
		return err
	}
	clear(m)
	return x.Unmap(m)
}

package xl

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"
)

// The device plumbing disks (disk.go) and vifs (vif.go) share, as libxl's
// libxl_device.c: where a device's back-end and front-end trees live,
// listing a domain's devices, the numbered-node reads of the -list verbs,
// and removal (libxl__initiate_device_generic_remove): the back end is
// asked to close and given a bounded time to, before its trees and its
// hotplug state go.

// Xenbus states (xen/include/public/io/xenbus.h).
const (
	xenbusInitialising = 1
	xenbusConnected    = 4
	xenbusClosing      = 5
	xenbusClosed       = 6
)

// devClass is one kind of device: its xenstore directory name ("vbd",
// "vif"), its name in messages, and how long removal waits for its back
// end (a pointer: DiskWait and VifWait are variables tests change).
type devClass struct {
	dir, noun string
	wait      *time.Duration
}

var (
	vbdClass = devClass{"vbd", "disk", &DiskWait}
	vifClass = devClass{"vif", "vif", &VifWait}
)

// backendDir is /local/domain/BACKEND/backend/CLASS/DOMID.
func (c devClass) backendDir(backend, domid uint32) string {
	return fmt.Sprintf("/local/domain/%d/backend/%s/%d", backend, c.dir, domid)
}

// frontendDir is /local/domain/DOMID/device/CLASS.
func (c devClass) frontendDir(domid uint32) string {
	return fmt.Sprintf("/local/domain/%d/device/%s", domid, c.dir)
}

// devIDs lists domain id's device IDs of class c, from its back-end
// directory in dom0 (only dom0 back ends are supported).
func (e *Env) devIDs(c devClass, id uint32) []int {
	ents, err := e.XS.Directory(c.backendDir(0, id))
	if err != nil {
		return nil
	}
	var ids []int
	for _, s := range ents {
		if n, err := strconv.Atoi(s); err == nil && n >= 0 {
			ids = append(ids, n)
		}
	}
	sort.Ints(ids)
	return ids
}

// num reads a numeric node for the -list verbs: -1 if absent or not a
// number.
func (e *Env) num(p string) int {
	s, err := e.XS.Read(p)
	if err != nil {
		return -1
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return -1
	}
	return n
}

// removeDevice removes device devid of class c from domain id, as libxl's
// generic device removal: a connected back end gets online = 0 and state
// = Closing;
// when force (destroy: the domain is going and its front end cannot
// answer) the front-end tree goes at once, which the back end sees as its
// front end gone and closes on; then up to *c.wait for the back end's
// Closed (a back end that does not close is removed anyway, with the
// returned warning). Then both trees go, and teardown (which the caller
// built from the back end's nodes beforehand) undoes the hotplug steps:
// the loop device, the vif's interface.
func (e *Env) removeDevice(c devClass, id uint32, devid int, force bool, teardown func() error) error {
	be := c.backendDir(0, id) + "/" + strconv.Itoa(devid)
	fe, _ := e.XS.Read(be + "/frontend")
	if fe == "" {
		fe = c.frontendDir(id) + "/" + strconv.Itoa(devid)
	}
	var errs []error
	// Only a connected back end is asked to close, as libxl does: one
	// that never connected, or closed already (its front end closed it
	// when the domain shut down), has nothing to close, and Linux would
	// not write Closed again (its driver's state is Closed already).
	if s, _ := e.XS.Read(be + "/state"); s == strconv.Itoa(xenbusConnected) {
		e.XS.Write(be+"/online", "0")
		e.XS.Write(be+"/state", strconv.Itoa(xenbusClosing))
		if force {
			e.XS.Rm(fe)
		}
		start := e.now()
		if err := e.waitClosed(be, *c.wait); err != nil {
			errs = append(errs, fmt.Errorf("%s %d of domain %d: %v; removed anyway", c.noun, devid, id, err))
		} else if e.Verbose > 0 {
			fmt.Fprintf(e.Stderr, "xl: %s %d of domain %d: back end closed in %d ms\n", c.noun, devid, id, e.now().Sub(start).Milliseconds())
		}
	} else {
		e.XS.Write(be+"/online", "0")
	}
	e.XS.Rm(be)
	e.XS.Rm(fe)
	if teardown != nil {
		if err := teardown(); err != nil {
			errs = append(errs, fmt.Errorf("%s %d of domain %d: %v", c.noun, devid, id, err))
		}
	}
	return errors.Join(errs...)
}

// waitClosed waits up to wait for back end be to be Closed (or gone).
func (e *Env) waitClosed(be string, wait time.Duration) error {
	deadline := e.now().Add(wait)
	for {
		s, err := e.XS.Read(be + "/state")
		if err != nil || s == strconv.Itoa(xenbusClosed) {
			return nil
		}
		if !e.now().Before(deadline) {
			return fmt.Errorf("back end still in state %s after %v", s, wait)
		}
		e.sleep()
	}
}

// removeDevices removes all of domain id's devices of class c (destroy:
// forced) with remove, then its back-end directory.
func (e *Env) removeDevices(c devClass, id uint32, remove func(devid int) error) error {
	var errs []error
	for _, d := range e.devIDs(c, id) {
		if err := remove(d); err != nil {
			errs = append(errs, err)
		}
	}
	e.XS.Rm(c.backendDir(0, id))
	return errors.Join(errs...)
}

// closeBackends is the first half of destroy's forced removal for all of
// domain id's devices of classes cs at once: every connected back end is
// asked to close (online = 0, Closing) and its front-end tree removed,
// then xl waits for them together, up to the longest of the classes'
// waits. So N back ends that never close hold destroy up for one wait,
// not N; each one that does not close is named in the returned warning.
// removeDevice then finds them not connected and removes them at once.
func (e *Env) closeBackends(id uint32, cs ...devClass) error {
	type pending struct {
		c     devClass
		devid int
		be    string
	}
	var ps []pending
	var wait time.Duration
	for _, c := range cs {
		wait = max(wait, *c.wait)
		for _, d := range e.devIDs(c, id) {
			be := c.backendDir(0, id) + "/" + strconv.Itoa(d)
			if s, _ := e.XS.Read(be + "/state"); s != strconv.Itoa(xenbusConnected) {
				continue
			}
			fe, _ := e.XS.Read(be + "/frontend")
			if fe == "" {
				fe = c.frontendDir(id) + "/" + strconv.Itoa(d)
			}
			e.XS.Write(be+"/online", "0")
			e.XS.Write(be+"/state", strconv.Itoa(xenbusClosing))
			e.XS.Rm(fe)
			ps = append(ps, pending{c, d, be})
		}
	}
	start := e.now()
	deadline := start.Add(wait)
	var errs []error
	for len(ps) > 0 {
		left := ps[:0]
		for _, p := range ps {
			s, err := e.XS.Read(p.be + "/state")
			switch {
			case err != nil || s == strconv.Itoa(xenbusClosed):
				if e.Verbose > 0 {
					fmt.Fprintf(e.Stderr, "xl: %s %d of domain %d: back end closed in %d ms\n", p.c.noun, p.devid, id, e.now().Sub(start).Milliseconds())
				}
			case !e.now().Before(deadline):
				errs = append(errs, fmt.Errorf("%s %d of domain %d: back end still in state %s after %v; removed anyway", p.c.noun, p.devid, id, s, wait))
			default:
				left = append(left, p)
			}
		}
		if ps = left; len(ps) > 0 {
			e.sleep()
		}
	}
	return errors.Join(errs...)
}

package hv

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"gozen/abi/xen"
	"gozen/event"
	"gozen/loader"
	"gozen/xenstore"
)

// Xenstore, served by hv (dom0-toolstack.md §E.1): one xenstore.Server for
// the whole machine, and for every domain a ring page in its own RAM
// (loader.StoreGFN, reserved in its memory map next to the console ring)
// with an event channel whose other end is hv, the same pattern as the
// console ring. Linux finds them through HVM_PARAM_STORE_PFN and
// HVM_PARAM_STORE_EVTCHN (its XS_HVM path) and needs no toolstack.
//
// hv also plays the part of dom0's toolstack: through a privileged
// connection of its own it writes the nodes libxl__domain_make and
// libxl__build_post give a new domain (dom0-toolstack.md §C.2 steps 2 and
// 7), then sends XS_INTRODUCE, whose hook attaches the ring (so
// @introduceDomain fires as in Xen). When the domain shuts down or crashes
// the server hears DomainShutdown; when its memory goes, RemoveDomain
// (@releaseDomain, its connection, watches and own nodes gone); when it is
// destroyed, hv removes its home directory, as `xl destroy` does.
//
// Everything runs on the run loop: event-channel listeners are called
// there (a guest's EVTCHNOP_send), creation and release happen there, and
// RequestShutdown goes through exec. The work per notification is bounded:
// one Ring.Service for the notifying domain (the xenstore package bounds
// what one Service does: the bytes in the ring, at most "outstanding"
// unread replies), then at most storeFlushBudget Services of other
// domains that got watch events from it; any left over wait on the run
// loop's request queue.

// storeFlushBudget bounds the Services one flush does for domains that got
// watch events from another's request.
const storeFlushBudget = 64

// hvStore is hv's xenstore.
type hvStore struct {
	server *xenstore.Server
	// dom0 is hv's own privileged connection, acting as dom0's toolstack.
	// It is registered as DOMID_XEN, not 0, so that a real dom0's
	// connection and its removal are separate from it.
	dom0  *xenstore.Conn
	reqID uint32
	// rings are the domains whose ring the server serves, by domid.
	rings map[uint32]*Domain
	// introducing is the domain whose XS_INTRODUCE is being handled.
	introducing *Domain
	// pending are connections the server flagged (Hooks.Notify) that hv
	// has not serviced yet; deferred is set while a flush is queued on the
	// run loop.
	pending  []*xenstore.Conn
	deferred bool
}

// domainStore is one domain's xenstore state.
type domainStore struct {
	gfn    uint64
	port   uint32
	ring   *xenstore.Ring
	page   *[4096]byte // the frame the ring was attached to
	broken bool        // the broken ring was logged
}

// storeHooks is the xenstore.Hooks hv provides. The server calls them with
// its lock held: they only record what to do.
type storeHooks struct{ h *Hypervisor }

// Introduce attaches the ring of the domain hv is introducing. hv sends
// XS_INTRODUCE only for the domain it is building, with that domain's
// page and port; anything else (a future dom0 introducing a domain hv
// already serves) is refused.
func (k storeHooks) Introduce(c *xenstore.Conn, gfn uint64, port uint32) error {
	d := k.h.xs.introducing
	if d == nil || uint32(d.id) != c.Domid() || gfn != d.xs.gfn || port != d.xs.port {
		return errors.New("not a domain hv is building")
	}
	p := d.page(gfn)
	if p == nil {
		return errNotRAM
	}
	r, err := xenstore.NewRing(p[:], c)
	if err != nil {
		return err
	}
	d.xs.ring, d.xs.page = r, p
	k.h.xs.rings[c.Domid()] = d
	return nil
}

// Release detaches a domain's ring (XS_RELEASE from a privileged client).
func (k storeHooks) Release(domid uint32) {
	if d := k.h.xs.rings[domid]; d != nil {
		d.xs.ring, d.xs.page = nil, nil
		delete(k.h.xs.rings, domid)
	}
}

// Notify records that c got watch events: hv services its ring once the
// current call into the server returns (flushStore).
func (k storeHooks) Notify(c *xenstore.Conn) {
	k.h.xs.pending = append(k.h.xs.pending, c)
}

// initStore makes hv's xenstore: the server and hv's dom0 connection.
func (h *Hypervisor) initStore() {
	h.xs.rings = map[uint32]*Domain{}
	h.xs.server = xenstore.NewServer(storeHooks{h}, xenstore.DefaultLimits, xenstore.PrivilegedLimits)
	h.xs.dom0 = h.xs.server.Connect(xen.DomIDXen, true)
}

// XenStore is hv's xenstore server (for tests and a future console
// command; call it only on the run loop, or while Run is not running).
func (h *Hypervisor) XenStore() *xenstore.Server { return h.xs.server }

// storeListener is hv's end of a domain's xenstore event channel.
type storeListener struct {
	h *Hypervisor
	d *Domain
}

func (l storeListener) Notify(*event.Domain, uint32) { l.h.serviceStore(l.d) }

// serviceStore does what a notification of d's store port asks: one
// Service of its ring, a notification back if indexes moved, then the
// other rings that got events.
func (h *Hypervisor) serviceStore(d *Domain) {
	h.serviceRing(d)
	h.flushStore()
}

// serviceRing runs one Service of d's ring. The ring was attached to the
// frame d.page gave at introduction; the frame is pinned (balloon.go), but
// it is checked again, as every hv write into guest memory is, and a ring
// whose frame is no longer the domain's writable RAM is dropped.
func (h *Hypervisor) serviceRing(d *Domain) {
	r := d.xs.ring
	if r == nil {
		return
	}
	if d.page(d.xs.gfn) != d.xs.page {
		h.logf("domain %d %q: xenstore ring frame %#x is gone; no more xenstore for it", d.id, d.name, d.xs.gfn)
		storeHooks{h}.Release(uint32(d.id))
		return
	}
	if r.Service() && d.ev != nil {
		d.ev.Signal(d.xs.port)
	}
	if r.Waiting() {
		// Over Service's budget: the rest on the run loop, after
		// whatever else is waiting (the guest will not notify again).
		h.xs.pending = append(h.xs.pending, r.Conn())
		h.deferStoreFlush()
	}
	if !d.xs.broken && r.Broken() {
		d.xs.broken = true
		h.logf("domain %d %q: xenstore ring broken by the guest (bad indexes or message length); no more xenstore for it",
			d.id, d.name)
	}
}

// flushStore services the rings the server flagged, at most
// storeFlushBudget of them; the rest wait on the run loop's queue.
func (h *Hypervisor) flushStore() {
	for n := 0; len(h.xs.pending) > 0; n++ {
		if n == storeFlushBudget {
			h.deferStoreFlush()
			return
		}
		c := h.xs.pending[0]
		h.xs.pending = h.xs.pending[1:]
		if d := h.xs.rings[c.Domid()]; d != nil && d.xs.ring.Conn() == c {
			h.serviceRing(d)
		}
	}
	h.xs.pending = nil
}

// deferStoreFlush queues a flush on the run loop (only while Run runs:
// otherwise the next notification flushes).
func (h *Hypervisor) deferStoreFlush() {
	if h.xs.deferred {
		return
	}
	h.mu.Lock()
	if h.running {
		h.xs.deferred = true
		h.reqs = append(h.reqs, request{func() { h.xs.deferred = false; h.flushStore() }, make(chan struct{})})
	}
	h.mu.Unlock()
	h.kick()
}

// storeCall sends one request on hv's dom0 connection and returns the
// reply payload, or an error naming the xenstore error.
func (h *Hypervisor) storeCall(typ uint32, args ...string) (string, error) {
	payload := strings.Join(args, "\x00")
	if typ != xen.XSWrite {
		payload += "\x00"
	}
	h.xs.reqID++
	msg := make([]byte, xen.XsdSockmsgSize+len(payload))
	(&xen.XsdSockmsg{Type: typ, ReqID: h.xs.reqID, Len: uint32(len(payload))}).Encode(msg)
	copy(msg[xen.XsdSockmsgSize:], payload)
	defer h.flushStore()
	if err := h.xs.dom0.Process(msg); err != nil {
		return "", err
	}
	// hv's connection sets no watches: the output is the one reply.
	out := make([]byte, h.xs.dom0.Pending())
	out = out[:h.xs.dom0.ReadOutput(out)]
	var rh xen.XsdSockmsg
	if err := rh.Decode(out); err != nil || int(rh.Len) != len(out)-xen.XsdSockmsgSize {
		return "", fmt.Errorf("xenstore: malformed reply %q", out)
	}
	body := string(out[xen.XsdSockmsgSize:])
	if rh.Type == xen.XSError {
		return "", fmt.Errorf("xenstore %s %s: %s", xen.XSTypeName(typ), args[0], strings.TrimSuffix(body, "\x00"))
	}
	return body, nil
}

// storeNode writes path = value owned as perms says ("n0", "r5", ...), as
// libxl's mknod and writes do.
func (h *Hypervisor) storeNode(path, value string, perms ...string) error {
	if _, err := h.storeCall(xen.XSWrite, path, value); err != nil {
		return err
	}
	if len(perms) > 0 {
		if _, err := h.storeCall(xen.XSSetPerms, append([]string{path}, perms...)...); err != nil {
			return err
		}
	}
	return nil
}

func storeHome(d *Domain) string { return "/local/domain/" + strconv.Itoa(int(d.id)) }

// setupStore gives new domain d its xenstore: the ring page (zeroed, so
// connection = XENSTORE_CONNECTED), a store port bound to hv, the HVM
// parameters Linux reads, the nodes libxl writes, and XS_INTRODUCE.
//
// dom0 gets none of it: its HVM_PARAM_STORE_EVTCHN stays 0, which makes
// Linux's xenbus_init pick XS_LOCAL (drivers/xen/xenbus/xenbus_probe.c):
// the kernel allocates the ring page itself, makes a loopback port with
// alloc_unbound(SELF, SELF), and waits for dom0's own xenstored
// (dom0/cmd/xenstored) to map the page through /proc/xen/xsd_kva, bind the
// port with bind_interdomain(0, port) and notify it, as on Xen.
//
// Domains hv builds at boot keep hv's store even when a dom0 exists, unless
// built with XenstoreInDom0 (domain=...,xenstore=dom0): those wait for
// dom0's xenstored (setupLateStore).
func (h *Hypervisor) setupStore(d *Domain) error {
	if d.privileged {
		d.xen.params[xen.HVMParamStorePFN] = 0
		d.xen.params[xen.HVMParamStoreEvtchn] = 0
		return nil
	}
	if d.storeDom0 {
		return h.setupLateStore(d)
	}
	d.xs.gfn = loader.StoreGFN
	if !d.mem.IsRAM(d.xs.gfn) {
		return errors.New("domain too small for the xenstore ring")
	}
	d.mem.Zero(d.xs.gfn*pageSize, pageSize)
	port, e := d.ev.BindListener(0, storeListener{h, d})
	if e != 0 {
		return fmt.Errorf("xenstore event channel: %w", xenError(e))
	}
	d.xs.port = port
	if err := h.storeNodes(d); err != nil {
		return fmt.Errorf("xenstore nodes: %w", err)
	}
	h.xs.introducing = d
	_, err := h.storeCall(xen.XSIntroduce, strconv.Itoa(int(d.id)), strconv.FormatUint(d.xs.gfn, 10), strconv.Itoa(int(port)))
	h.xs.introducing = nil
	if err != nil {
		return err
	}
	d.xen.params[xen.HVMParamStorePFN] = d.xs.gfn
	d.xen.params[xen.HVMParamStoreEvtchn] = uint64(port)
	return nil
}

// setupLateStore prepares a XenstoreInDom0 domain for Xen's dom0less late
// xenstore protocol (Xen 4.17 alloc_xenstore_evtchn and
// tools/helpers/init-dom0less.c; Linux 6.1 drivers/xen/xenbus/
// xenbus_probe.c): the store port is allocated unbound for dom0 and
// HVM_PARAM_STORE_EVTCHN names it; HVM_PARAM_STORE_PFN reads ~0, so the
// guest's xenbus_init binds the port to xenbus_late_init and waits. Once
// dom0 runs, `xl init-dom0less` seeds grant 1 with the ring page
// (loader.StoreGFN, zeroed here and kept out of the guest's RAM by its
// memory map), writes the domain's nodes, sets HVM_PARAM_STORE_PFN and
// sends XS_INTRODUCE; dom0's xenstored binds the port and notifies it,
// and the guest re-reads the param, maps the page and probes. hv serves
// this domain no xenstore of its own.
func (h *Hypervisor) setupLateStore(d *Domain) error {
	if !d.mem.IsRAM(loader.StoreGFN) {
		return errors.New("domain too small for the xenstore ring")
	}
	d.mem.Zero(loader.StoreGFN*pageSize, pageSize)
	port, e := d.ev.AllocUnbound(xen.DomIDSelf, 0)
	if e != 0 {
		return fmt.Errorf("xenstore event channel: %w", xenError(e))
	}
	d.xen.params[xen.HVMParamStorePFN] = ^uint64(0)
	d.xen.params[xen.HVMParamStoreEvtchn] = uint64(port)
	return nil
}

// offerConsole hands d's console to dom0's back end when dom0 binds d's
// console port (EVTCHNOP_bind_interdomain from xenconsoled): hv stops
// serving the ring, which it drains one last time, and the port becomes
// unbound for dom0 (event.Domain.OfferListener), so the bind that follows
// connects xenconsoled. Only XenstoreInDom0 domains are handed over; for
// any other the bind fails as before (the port is hv's).
func (h *Hypervisor) offerConsole(caller *Domain, remoteDom uint16, remotePort uint32) {
	if caller.dom0 == nil {
		return
	}
	d := h.byID(remoteDom)
	if d == nil || !d.storeDom0 || d.xen.consoleOffered || d.ev == nil || remotePort != d.xen.consolePort {
		return
	}
	if d.state != DomainRunning && d.state != DomainPaused {
		return
	}
	h.drainConsole(d)
	d.console.flush(h.out, d.name)
	if d.ev.OfferListener(remotePort, caller.id) != 0 {
		return
	}
	d.xen.consoleOffered = true
	h.logf("domain %d %q: console handed to dom0 (its console back end bound port %d)", d.id, d.name, remotePort)
}

// storeNodes writes what libxl__domain_make and libxl__build_post write
// for a new PVH domain N (Xen 4.17 tools/libs/light): a home dom0 owns and
// N may read, with name, domid, cpu, memory, store and console records;
// control/ with the nodes N writes (shutdown, feature-*, sysrq) and the
// platform features; and the directories N owns (data, drivers, feature,
// attr, error, device/suspend/event-channel). No /vm/<uuid>: hv domains
// have no UUID, and Linux only reads `vm` lazily, tolerating ENOENT.
func (h *Hypervisor) storeNodes(d *Domain) error {
	home := storeHome(d)
	n := strconv.Itoa(int(d.id))
	ro := []string{"n0", "r" + n} // dom0's, readable by N
	rw := []string{"n" + n}       // N's own
	h.storeCall(xen.XSRm, home)   // a leftover of an earlier domain with this ID (ENOENT normally)
	kib := strconv.FormatUint(d.memSize>>10, 10)
	steps := []struct {
		path, value string
		perms       []string
	}{
		{"", "", ro},
		{"/name", d.name, nil},
		{"/domid", n, nil},
		{"/cpu", "", ro},
		{"/memory", "", ro},
		{"/memory/static-max", kib, nil},
		{"/memory/target", kib, nil},
		{"/device", "", ro},
		{"/device/suspend/event-channel", "", rw},
		{"/control", "", ro},
		{"/control/shutdown", "", rw},
		{"/control/feature-poweroff", "", rw},
		{"/control/feature-reboot", "", rw},
		{"/control/feature-suspend", "", rw},
		{"/control/sysrq", "", rw},
		{"/control/platform-feature-multiprocessor-suspend", "1", nil},
		{"/control/platform-feature-xs_reset_watches", "1", nil},
		{"/data", "", rw},
		{"/drivers", "", rw},
		{"/feature", "", rw},
		{"/attr", "", rw},
		{"/error", "", rw},
		{"/store/port", strconv.Itoa(int(d.xs.port)), nil},
		{"/store/ring-ref", strconv.FormatUint(d.xs.gfn, 10), nil},
		{"/console/port", strconv.Itoa(int(d.xen.consolePort)), nil},
		{"/console/ring-ref", strconv.FormatUint(d.xen.consoleGFN, 10), nil},
	}
	for _, s := range steps {
		if err := h.storeNode(home+s.path, s.value, s.perms...); err != nil {
			return err
		}
	}
	for i := range d.vcpus {
		if err := h.storeNode(home+"/cpu/"+strconv.Itoa(i)+"/availability", "online"); err != nil {
			return err
		}
	}
	return nil
}

// storeShutdown tells the server d shut down or crashed (@releaseDomain).
func (h *Hypervisor) storeShutdown(d *Domain) {
	h.xs.server.DomainShutdown(uint32(d.id))
	h.flushStore()
}

// storeRelease drops d's connection before its memory goes: the ring is
// detached, the server forgets the domain (its watches, transactions and
// own nodes; @releaseDomain fires). A domain that never got listed (its
// creation failed) also loses its home.
func (h *Hypervisor) storeRelease(d *Domain) {
	if h.xs.rings[uint32(d.id)] == d {
		storeHooks{h}.Release(uint32(d.id))
		h.xs.server.RemoveDomain(uint32(d.id))
	}
	d.xs.ring, d.xs.page = nil, nil
	if d.state == DomainBuilding {
		h.storeForget(d)
	}
	h.flushStore()
}

// storeForget removes d's home directory, as `xl destroy` does once the
// domain is gone.
func (h *Hypervisor) storeForget(d *Domain) {
	if d.xs.gfn == 0 {
		return // it never had a store
	}
	h.storeCall(xen.XSRm, storeHome(d))
}

// Shutdown requests RequestShutdown accepts, as `xl shutdown` / `xl
// reboot` write them (Linux's drivers/xen/manage.c knows these).
var shutdownRequests = map[string]string{"poweroff": "feature-poweroff", "halt": "feature-poweroff", "reboot": "feature-reboot"}

// ErrNoPVControl is RequestShutdown's error for a domain whose guest has
// not announced the PV control interface (libxl's ERROR_NOPARAVIRT): no
// xenbus, so nobody would read the request.
var ErrNoPVControl = errors.New("no PV control interface (control/feature-* not set by the guest)")

// RequestShutdown asks d's guest to shut down gracefully, as `xl shutdown`
// (reason "poweroff" or "halt") or `xl reboot` ("reboot") do: it writes
// /local/domain/N/control/shutdown as dom0's toolstack would. The guest's
// watch on that node fires and it shuts itself down; hv logs the shutdown
// when it comes. It fails unless the guest announced the matching
// control/feature-* node (a guest without xenbus would never see the
// request). Safe from any goroutine.
func (h *Hypervisor) RequestShutdown(d *Domain, reason string) error {
	feature, ok := shutdownRequests[reason]
	if !ok {
		return fmt.Errorf("shutdown reason %q: want poweroff, halt or reboot", reason)
	}
	var err error
	h.exec(func() {
		if d == nil || h.byID(d.id) != d {
			err = ErrNoDomain
			return
		}
		if d.state != DomainRunning && d.state != DomainPaused {
			err = fmt.Errorf("domain %d is %s: %w", d.id, d.state, ErrNotRunning)
			return
		}
		home := storeHome(d)
		if v, e := h.storeCall(xen.XSRead, home+"/control/"+feature); e != nil || v != "1" {
			err = fmt.Errorf("domain %d %q: %w", d.id, d.name, ErrNoPVControl)
			return
		}
		if _, e := h.storeCall(xen.XSWrite, home+"/control/shutdown", reason); e != nil {
			err = fmt.Errorf("domain %d %q: %w", d.id, d.name, e)
			return
		}
		h.logf("domain %d %q: asked to %s (control/shutdown)", d.id, d.name, reason)
	})
	return err
}

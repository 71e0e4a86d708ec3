package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"

	"gozen/abi/xen"
	"gozen/dom0/xc"
	"gozen/xenstore"
)

// Events is the event-channel side of the daemon: /dev/xen/evtchn
// (xendev.Evtchn) in dom0, an in-memory stand-in in tests. Ports that fire
// come back to the daemon through Daemon.Event.
type Events interface {
	BindInterdomain(remoteDom, remotePort uint32) (uint32, error)
	Unbind(port uint32) error
	Notify(port uint32) error
}

// Mapper maps a domain's xenstore ring page into the daemon: grant 1
// (GNTTAB_RESERVED_XENSTORE) through /dev/xen/gntdev in dom0, as
// xenstored's map_interface does; gfn is what XS_INTRODUCE said.
type Mapper interface {
	MapRing(domid uint32, gfn uint64) (page []byte, unmap func() error, err error)
}

// Daemon is xenstored's serving loop around a xenstore.Server: rings
// (dom0's own, XS_LOCAL, and each introduced domain's) and local socket
// clients.
//
// Locking: the Server has its own mutex and calls the hooks with it held;
// d.mu guards the daemon's tables and is never held while calling into the
// Server, so the order is always Server, then d.mu.
type Daemon struct {
	srv  *xenstore.Server
	ev   Events
	maps Mapper
	logf func(format string, args ...any)

	mu      sync.Mutex
	byPort  map[uint32]*ring // by local (daemon-side) port
	byDom   map[uint32]*ring
	byConn  map[*xenstore.Conn]*ring
	sockets map[*xenstore.Conn]chan struct{}
	pending []*ring
}

// ring is one served ring.
type ring struct {
	domid   uint32
	port    uint32 // the daemon's end of the store event channel
	r       *xenstore.Ring
	unmap   func() error
	kick    bool // notify the guest at the next service even if nothing moved
	broken  bool // the broken ring was logged
	queued  bool
	dropped uint64 // watch events dropped, as last logged
}

// NewDaemon returns a daemon serving unprivileged domains with
// xenstore.DefaultLimits. logf gets one line per notable event.
func NewDaemon(ev Events, maps Mapper, logf func(string, ...any)) *Daemon {
	d := &Daemon{ev: ev, maps: maps, logf: logf,
		byPort: map[uint32]*ring{}, byDom: map[uint32]*ring{}, byConn: map[*xenstore.Conn]*ring{},
		sockets: map[*xenstore.Conn]chan struct{}{}}
	d.srv = xenstore.NewServer(hooks{d}, xenstore.DefaultLimits, xenstore.PrivilegedLimits)
	return d
}

// Server is the daemon's store.
func (d *Daemon) Server() *xenstore.Server { return d.srv }

// hooks are the xenstore.Hooks of the daemon; the Server calls them with
// its mutex held.
type hooks struct{ d *Daemon }

// Introduce maps the new domain's ring, binds its store port and attaches
// the connection (XS_INTRODUCE from a dom0 client). The first service
// notifies the guest whatever happened: a Linux waiting for a late
// xenstore (XENSTORE_RECONNECT, or its xenbus_probe thread) wakes on it.
func (k hooks) Introduce(c *xenstore.Conn, gfn uint64, port uint32) error {
	d := k.d
	domid := c.Domid()
	page, unmap, err := d.maps.MapRing(domid, gfn)
	if err != nil {
		d.logf("domain %d: xenstore ring %#x: %v", domid, gfn, err)
		return err
	}
	local, err := d.ev.BindInterdomain(domid, port)
	if err != nil {
		unmap()
		d.logf("domain %d: xenstore port %d: %v", domid, port, err)
		return err
	}
	r, err := xenstore.NewRing(page, c)
	if err != nil {
		d.ev.Unbind(local)
		unmap()
		return err
	}
	d.mu.Lock()
	rg := &ring{domid: domid, port: local, r: r, unmap: unmap, kick: true}
	d.add(rg, c)
	d.mu.Unlock()
	d.logf("domain %d introduced: ring %#x, port %d (local %d)", domid, gfn, port, local)
	return nil
}

// Release drops a domain's ring (XS_RELEASE). It runs under the Server's
// mutex, so no Service touches the page while it goes, and the Server
// closes the connection before anyone can service it again.
func (k hooks) Release(domid uint32) {
	d := k.d
	d.mu.Lock()
	rg := d.byDom[domid]
	if rg != nil {
		d.drop(rg)
	}
	d.mu.Unlock()
	if rg != nil {
		d.ev.Unbind(rg.port)
		if rg.unmap != nil {
			rg.unmap()
		}
		d.logf("domain %d released", domid)
	}
}

// Notify: c got watch events from someone else's request.
func (k hooks) Notify(c *xenstore.Conn) {
	d := k.d
	d.mu.Lock()
	defer d.mu.Unlock()
	if ch := d.sockets[c]; ch != nil {
		select {
		case ch <- struct{}{}:
		default:
		}
		return
	}
	if rg := d.byConn[c]; rg != nil {
		d.queue(rg)
	}
}

// add registers rg for c and queues its first service (d.mu held).
func (d *Daemon) add(rg *ring, c *xenstore.Conn) {
	d.byPort[rg.port] = rg
	d.byDom[rg.domid] = rg
	d.byConn[c] = rg
	d.queue(rg)
}

func (d *Daemon) drop(rg *ring) {
	delete(d.byPort, rg.port)
	if d.byDom[rg.domid] == rg {
		delete(d.byDom, rg.domid)
	}
	delete(d.byConn, rg.r.Conn())
}

func (d *Daemon) queue(rg *ring) {
	if !rg.queued {
		rg.queued = true
		d.pending = append(d.pending, rg)
	}
}

// AttachLocal serves dom0's own xenbus (XS_LOCAL): page is the kernel's
// ring (mapped from /proc/xen/xsd_kva) and kernelPort its end of the
// loopback channel (/proc/xen/xsd_port), which the daemon binds with
// bind_interdomain(0, port). The kernel's xenbus_probe thread waits for
// the first event on it, so the daemon notifies at once.
func (d *Daemon) AttachLocal(page []byte, kernelPort uint32) error {
	local, err := d.ev.BindInterdomain(0, kernelPort)
	if err != nil {
		return err
	}
	c := d.srv.Connect(0, true)
	r, err := xenstore.NewRing(page, c)
	if err != nil {
		c.Close()
		d.ev.Unbind(local)
		return err
	}
	d.mu.Lock()
	d.add(&ring{domid: 0, port: local, r: r, kick: true}, c)
	d.mu.Unlock()
	d.flush()
	d.logf("dom0's xenbus attached: port %d (local %d)", kernelPort, local)
	return nil
}

// Event handles a notification on local port port: one Service of its
// ring, then the rings that got watch events meanwhile. Unknown ports are
// ignored.
func (d *Daemon) Event(port uint32) {
	d.mu.Lock()
	rg := d.byPort[port]
	if rg != nil {
		d.queue(rg)
	}
	d.mu.Unlock()
	d.flush()
}

// flush services queued rings until none is left.
func (d *Daemon) flush() {
	for {
		d.mu.Lock()
		if len(d.pending) == 0 {
			d.mu.Unlock()
			return
		}
		rg := d.pending[0]
		d.pending = d.pending[1:]
		rg.queued = false
		kick := rg.kick
		rg.kick = false
		d.mu.Unlock()
		d.service(rg, kick)
	}
}

// service runs one Service of rg's ring and notifies the guest if indexes
// moved. A ring the guest broke (bad indexes, an oversized message) is
// logged once and never served again; the others carry on.
func (d *Daemon) service(rg *ring, kick bool) {
	if rg.r.Service() || (kick && !rg.r.Conn().Closed()) {
		if err := d.ev.Notify(rg.port); err != nil {
			d.logf("domain %d: notify port %d: %v", rg.domid, rg.port, err)
		}
	}
	if rg.r.Waiting() {
		// Requests beyond Service's budget: served after the other
		// queued rings (the guest will not notify for them).
		d.mu.Lock()
		if d.byConn[rg.r.Conn()] == rg {
			d.queue(rg)
		}
		d.mu.Unlock()
	}
	// Dropped events are logged at the 1st, 2nd, 4th, 8th...: a domain
	// that never reads cannot flood the log.
	n := rg.r.Conn().Dropped()
	d.mu.Lock()
	more := n > 0 && n >= 2*rg.dropped
	if more {
		rg.dropped = n
	}
	d.mu.Unlock()
	if more {
		d.logf("domain %d: %d watch events dropped so far (its queue of unread events is full)", rg.domid, n)
	}
	if rg.r.Broken() {
		d.mu.Lock()
		first := !rg.broken
		rg.broken = true
		d.mu.Unlock()
		if first {
			d.logf("domain %d: xenstore ring broken by the guest (bad indexes or message length); its connection is dead", rg.domid)
		}
	}
}

// Serve accepts local clients on l (the daemon's unix socket, as C
// xenstored's /var/run/xenstored/socket): each is a privileged dom0
// connection speaking the wire protocol over the stream. It returns when
// l is closed.
func (d *Daemon) Serve(l net.Listener) error {
	for {
		nc, err := l.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		go d.serveConn(nc)
	}
}

// serveConn runs one socket client: a reader that hands whole messages to
// the Server, and a writer that sends what is queued whenever a request
// or someone else's event adds to it. A client that breaks the framing
// (a payload over XENSTORE_PAYLOAD_MAX) is disconnected, as xenstored
// does.
func (d *Daemon) serveConn(nc net.Conn) {
	c := d.srv.Connect(0, true)
	kick := make(chan struct{}, 1)
	drained := make(chan struct{}, 1)
	d.mu.Lock()
	d.sockets[c] = kick
	d.mu.Unlock()
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for range kick {
			for {
				n := c.ReadOutput(buf)
				if n == 0 {
					break
				}
				if _, err := nc.Write(buf[:n]); err != nil {
					nc.Close()
					return
				}
			}
			select {
			case drained <- struct{}{}:
			default:
			}
		}
	}()
	err := d.readRequests(nc, c, kick, drained, done)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
		d.logf("socket client: %v; disconnected", err)
	}
	d.mu.Lock()
	delete(d.sockets, c)
	d.mu.Unlock()
	c.Close()
	close(kick)
	<-done
	nc.Close()
}

// readRequests hands the client's requests to the Server. While the
// client has its "outstanding" limit of unread replies it waits for the
// writer to send them, so a client that never reads holds a bounded queue.
// The socket is read through a buffer, and the writer is woken once the
// requests that arrived together (a client's pipelined batch) have been
// handled, so their replies go out in one write rather than one each.
func (d *Daemon) readRequests(nc net.Conn, c *xenstore.Conn, kick, drained, writerDone chan struct{}) error {
	msg := make([]byte, xen.XsdSockmsgSize+xen.XenstorePayloadMax)
	br := bufio.NewReaderSize(nc, 16<<10)
	for {
		for c.Busy() {
			select {
			case kick <- struct{}{}:
			default:
			}
			select {
			case <-drained:
			case <-writerDone:
				return net.ErrClosed
			}
		}
		if _, err := io.ReadFull(br, msg[:xen.XsdSockmsgSize]); err != nil {
			return err
		}
		n := binary.LittleEndian.Uint32(msg[12:])
		if n > xen.XenstorePayloadMax {
			return fmt.Errorf("message of %d bytes is over XENSTORE_PAYLOAD_MAX", n)
		}
		if _, err := io.ReadFull(br, msg[xen.XsdSockmsgSize:xen.XsdSockmsgSize+int(n)]); err != nil {
			return err
		}
		if err := c.Process(msg[:xen.XsdSockmsgSize+int(n)]); err != nil {
			return err
		}
		if br.Buffered() < xen.XsdSockmsgSize {
			// No whole header waiting: the batch is handled (or the
			// rest of it is still on its way, and is not waited for).
			select {
			case kick <- struct{}{}:
			default:
			}
		}
		d.flush() // rings that got events from this request
	}
}

// Domains is what the daemon asks the hypervisor when VIRQ_DOM_EXC fires:
// every domain's state (sysctl getdomaininfolist through privcmd in dom0,
// package privxc; a fake in tests).
type Domains interface {
	ListDomains() ([]xc.DomainInfo, error)
}

// DomainsChanged is xenstored's answer to VIRQ_DOM_EXC (domain_cleanup in
// Xen's xenstored): every introduced domain that is gone or dying is
// released as XS_RELEASE would (its ring unmapped, its port unbound, its
// connection, watches, transactions and owned nodes dropped, and
// @releaseDomain fires); one that shut down but still exists gets
// @releaseDomain once (the toolstack's cue to act on it). Without a
// domain list nothing changes (the error is returned).
func (d *Daemon) DomainsChanged(doms Domains) error {
	list, err := doms.ListDomains()
	if err != nil {
		return err
	}
	state := map[uint32]xc.DomainInfo{}
	for _, i := range list {
		state[i.ID] = i
	}
	for _, id := range d.srv.IntroducedDomains() {
		i, ok := state[id]
		switch {
		case !ok || i.Dying():
			if d.srv.ReleaseDomain(id) {
				d.logf("domain %d is gone: its connection, watches and nodes are removed", id)
			}
		case i.IsShutdown():
			d.srv.DomainShutdown(id)
		}
	}
	d.flush() // rings whose watches fired
	return nil
}

package main

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"sync"
)

// Store is the xenstore access the daemon needs (an xs.Client over
// xenstored's socket in dom0).
type Store interface {
	Directory(path string) ([]string, error)
	Read(path string) (string, error)
	Write(path, value string) error
}

// Events is the event-channel side (/dev/xen/evtchn in dom0).
type Events interface {
	BindInterdomain(remoteDom, remotePort uint32) (uint32, error)
	Unbind(port uint32) error
	Notify(port uint32) error
}

// Mapper maps a domain's console page: grant 0 (GNTTAB_RESERVED_CONSOLE)
// through /dev/xen/gntdev in dom0, as xenconsoled's map_interface does.
// ref is console/ring-ref.
type Mapper interface {
	MapConsole(domid uint32, ref uint64) (page []byte, unmap func() error, err error)
}

// PTY is one console's terminal: the daemon writes the guest's output to
// it and reads the user's input from it; Name is the slave's path
// (/dev/pts/N) that `xl console` opens.
type PTY interface {
	io.ReadWriteCloser
	Name() string
}

// Host opens what each console needs beyond the ring: its pty and the log
// its output is copied to.
type Host interface {
	OpenPTY() (PTY, error)
	OpenLog(domid uint32, name string) (io.WriteCloser, error)
}

// maxInput bounds the user input kept for a guest whose in[] is full.
const maxInput = 4096

// maxBacklog bounds the output kept for a console whose pty nobody reads
// (no `xl console` attached, the pty's own buffer full): the oldest is
// dropped (the log has all of it), as xenconsoled's buffer limit does.
const maxBacklog = 64 << 10

// Daemon serves the consoles of the domains found in xenstore, as Xen's
// xenconsoled (tools/console/daemon/io.c): for each domain with
// console/ring-ref and console/port (and console/type, if present, saying
// "xenconsoled"), it maps the ring, binds the port, opens a pty and writes
// its path to console/tty; the guest's output goes to the pty and the log,
// the pty's input into the guest's ring.
type Daemon struct {
	store Store
	ev    Events
	maps  Mapper
	host  Host
	logf  func(string, ...any)

	mu       sync.Mutex
	consoles map[uint32]*console
	byPort   map[uint32]*console
}

type console struct {
	domid  uint32
	name   string
	port   uint32 // local
	ring   *consRing
	unmap  func() error
	pty    PTY
	log    io.WriteCloser
	input  []byte // user input waiting for room in in[]
	broken bool
	closed bool

	// Output goes to the pty from the console's own goroutine
	// (writeOutput): a pty write blocks while nobody reads the slave, and
	// must not stop the other consoles (the event loop is shared).
	backlog []byte        // output not yet written to the pty
	wake    chan struct{} // backlog grew (capacity 1)
	done    chan struct{} // closed when the console is torn down
}

// NewDaemon returns a console daemon.
func NewDaemon(store Store, ev Events, maps Mapper, host Host, logf func(string, ...any)) *Daemon {
	return &Daemon{store: store, ev: ev, maps: maps, host: host, logf: logf,
		consoles: map[uint32]*console{}, byPort: map[uint32]*console{}}
}

// Scan looks at /local/domain: it attaches the consoles of domains not
// served yet and drops those of domains that are gone. It is called at
// start and whenever a domain may have come or gone (@introduceDomain,
// @releaseDomain, or periodically).
func (d *Daemon) Scan() error {
	ids, err := d.store.Directory("/local/domain")
	if err != nil {
		return err
	}
	seen := map[uint32]bool{}
	for _, s := range ids {
		id, err := strconv.ParseUint(s, 10, 16)
		if err != nil || id == 0 {
			continue // dom0's console is hv's, not a ring
		}
		seen[uint32(id)] = true
		d.mu.Lock()
		known := d.consoles[uint32(id)] != nil
		d.mu.Unlock()
		if !known {
			if err := d.attach(uint32(id)); err != nil {
				d.logf("domain %d: console: %v", id, err)
			}
		}
	}
	d.mu.Lock()
	var gone []*console
	for id, c := range d.consoles {
		if !seen[id] {
			gone = append(gone, c)
		}
	}
	d.mu.Unlock()
	sort.Slice(gone, func(i, j int) bool { return gone[i].domid < gone[j].domid })
	for _, c := range gone {
		d.detach(c)
	}
	return nil
}

func (d *Daemon) attach(id uint32) error {
	home := fmt.Sprintf("/local/domain/%d", id)
	if t, err := d.store.Read(home + "/console/type"); err == nil && t != "xenconsoled" {
		return nil // another backend's (ioemu)
	}
	refS, err1 := d.store.Read(home + "/console/ring-ref")
	portS, err2 := d.store.Read(home + "/console/port")
	if err1 != nil || err2 != nil {
		return nil // not built yet: the next scan sees it
	}
	ref, err := strconv.ParseUint(refS, 10, 64)
	if err != nil {
		return fmt.Errorf("console/ring-ref %q", refS)
	}
	rport, err := strconv.ParseUint(portS, 10, 32)
	if err != nil {
		return fmt.Errorf("console/port %q", portS)
	}
	name, _ := d.store.Read(home + "/name")
	page, unmap, err := d.maps.MapConsole(id, ref)
	if err != nil {
		return err
	}
	r, err := newConsRing(page)
	if err != nil {
		unmap()
		return err
	}
	port, err := d.ev.BindInterdomain(id, uint32(rport))
	if err != nil {
		unmap()
		return err
	}
	pty, err := d.host.OpenPTY()
	if err != nil {
		d.ev.Unbind(port)
		unmap()
		return err
	}
	lg, err := d.host.OpenLog(id, name)
	if err != nil {
		d.logf("domain %d: console log: %v", id, err)
		lg = nil
	}
	c := &console{domid: id, name: name, port: port, ring: r, unmap: unmap, pty: pty, log: lg,
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	if err := d.store.Write(home+"/console/tty", pty.Name()); err != nil {
		d.logf("domain %d: console/tty: %v", id, err)
	}
	d.mu.Lock()
	d.consoles[id] = c
	d.byPort[port] = c
	d.mu.Unlock()
	d.logf("domain %d %q: console on %s (port %d)", id, name, pty.Name(), rport)
	go d.readInput(c)
	go d.writeOutput(c)
	d.Event(port) // what the guest wrote before we came
	return nil
}

func (d *Daemon) detach(c *console) {
	d.mu.Lock()
	if c.closed {
		d.mu.Unlock()
		return
	}
	c.closed = true
	close(c.done)
	delete(d.consoles, c.domid)
	delete(d.byPort, c.port)
	d.mu.Unlock()
	d.ev.Unbind(c.port)
	c.pty.Close()
	if c.log != nil {
		c.log.Close()
	}
	c.unmap()
	d.logf("domain %d %q: console closed", c.domid, c.name)
}

// Event handles a notification on local port port: the guest wrote
// output, or consumed input.
func (d *Daemon) Event(port uint32) {
	d.mu.Lock()
	c := d.byPort[port]
	if c == nil || c.broken {
		d.mu.Unlock()
		return
	}
	out, err := c.ring.drain(nil)
	if err == nil && len(c.input) > 0 {
		var n int
		n, err = c.ring.feed(c.input)
		c.input = c.input[n:]
	}
	if err != nil {
		c.broken = true
		d.mu.Unlock()
		d.logf("domain %d %q: %v; its console is dead", c.domid, c.name, err)
		return
	}
	if len(out) > 0 {
		c.backlog = append(c.backlog, out...)
		if over := len(c.backlog) - maxBacklog; over > 0 {
			c.backlog = append(c.backlog[:0], c.backlog[over:]...)
		}
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
	d.mu.Unlock()
	if len(out) > 0 {
		if c.log != nil {
			c.log.Write(out)
		}
		d.ev.Notify(port)
	}
}

// writeOutput writes c's backlog to its pty until the console is torn
// down or the pty fails.
func (d *Daemon) writeOutput(c *console) {
	for {
		select {
		case <-c.done:
			return
		case <-c.wake:
		}
		d.mu.Lock()
		b := c.backlog
		c.backlog = nil
		d.mu.Unlock()
		if len(b) == 0 {
			continue
		}
		if _, err := c.pty.Write(b); err != nil {
			return
		}
	}
}

// readInput copies the user's keystrokes from c's pty into the guest's
// in[] ring until the pty closes.
func (d *Daemon) readInput(c *console) {
	buf := make([]byte, 512)
	for {
		n, err := c.pty.Read(buf)
		if n > 0 {
			d.input(c, buf[:n])
		}
		if err != nil {
			return
		}
	}
}

func (d *Daemon) input(c *console, b []byte) {
	d.mu.Lock()
	if c.closed || c.broken {
		d.mu.Unlock()
		return
	}
	c.input = append(c.input, b...)
	if len(c.input) > maxInput {
		c.input = c.input[len(c.input)-maxInput:]
	}
	n, err := c.ring.feed(c.input)
	c.input = c.input[n:]
	if err != nil {
		c.broken = true
	}
	d.mu.Unlock()
	if err != nil {
		d.logf("domain %d %q: %v; its console is dead", c.domid, c.name, err)
		return
	}
	if n > 0 {
		d.ev.Notify(c.port)
	}
}

// Consoles returns the served domains and their ttys.
func (d *Daemon) Consoles() map[uint32]string {
	d.mu.Lock()
	defer d.mu.Unlock()
	m := map[uint32]string{}
	for id, c := range d.consoles {
		m[id] = c.pty.Name()
	}
	return m
}

package hv

import (
	"io"
	"sync"

	"gozen/abi/xen"
)

// Console input. hv's serial console belongs to one domain at a time, or
// to hv itself: keystrokes go into the focused domain's console ring, or
// to hv's monitor (monitor.go). At first the focus is on the first domain.
// Pressing Ctrl-] three times in a row moves it on: hv → domain 1 →
// domain 2 → … → hv, skipping domains that have ended, the way Xen cycles
// with Ctrl-A three times. GoZen uses Ctrl-] because QEMU's -nographic
// console takes Ctrl-A for itself.
const (
	// FocusKey is the key that, pressed FocusPresses times, switches focus.
	FocusKey     = 0x1d // Ctrl-]
	FocusPresses = 3
)

// focusHV is the console's focus when hv's monitor has it: DOMID_XEN, which
// no domain has (domain 0 is dom0's).
const focusHV = xen.DomIDXen

// console is the input side of hv's console. It belongs to the run loop,
// like the domains it hands keystrokes to.
type console struct {
	started bool   // focus has been chosen (on the first keystroke)
	focus   uint16 // domain ID that gets input; focusHV: hv's monitor
	esc     int    // consecutive focus-switch keys seen
	told    uint16 // ended domain whose dropped input was last reported (focusHV: none)
	out     *consoleWriter
	mon     *monitor
	host    Host
}

// setup makes the console's output writer over out, which all of hv's
// console output goes through, and the monitor.
func (c *console) setup(h *Hypervisor, out io.Writer) io.Writer {
	c.focus, c.told = focusHV, focusHV
	c.out = &consoleWriter{w: out}
	c.mon = newMonitor(hvOps{h}, c.out)
	return c.out
}

// SetHost gives the console's mem and stats commands the hv program's view
// of the machine. Call it before Run.
func (h *Hypervisor) SetHost(host Host) { h.con.host = host }

// Input queues console keystrokes for the focused domain. It is safe to
// call from any goroutine (the console reader).
func (h *Hypervisor) Input(b []byte) {
	h.input.put(b)
	h.kick()
}

// pollInput hands queued keystrokes to the console without blocking.
func (h *Hypervisor) pollInput() {
	if b := h.input.take(); len(b) > 0 {
		h.handleInput(b)
	}
}

// inputQueue holds keystrokes between the console reader and the run loop:
// a byte buffer, so a line typed faster than the loop gets to it (the
// reader takes the UART's bytes in a burst while the loop runs a slice) is
// kept whole, up to maxQueuedInput bytes; beyond that bytes are dropped, as
// a UART overrun would drop them.
type inputQueue struct {
	mu  sync.Mutex
	buf []byte
}

// maxQueuedInput bounds the keystrokes waiting for the run loop (Xen's
// serial receive ring is 4 KiB too).
const maxQueuedInput = 4096

func (q *inputQueue) put(b []byte) {
	q.mu.Lock()
	defer q.mu.Unlock()
	b = b[:min(len(b), maxQueuedInput-len(q.buf))]
	q.buf = append(q.buf, b...)
}

func (q *inputQueue) take() []byte {
	q.mu.Lock()
	defer q.mu.Unlock()
	b := q.buf
	q.buf = nil
	return b
}

// handleInput gives typed bytes to whoever has the focus, switching focus
// on Ctrl-] three times. It runs on the run loop.
func (h *Hypervisor) handleInput(b []byte) {
	c := &h.con
	if !c.started {
		c.started = true
		h.setFocus(h.nextAlive(focusHV))
	}
	var pending []byte // bytes for the focused domain
	send := func() {
		if len(pending) > 0 {
			h.toDomain(pending)
			pending = pending[:0]
		}
	}
	give := func(x byte) {
		if c.focus != focusHV {
			pending = append(pending, x)
			return
		}
		c.mon.key(x) // may run a command that moves the focus
	}
	for _, x := range b {
		if x == FocusKey {
			c.esc++
			if c.esc == FocusPresses {
				c.esc = 0
				send()
				h.setFocus(h.nextAlive(c.focus))
			}
			continue
		}
		for ; c.esc > 0; c.esc-- {
			give(FocusKey) // fewer than three: they were meant for the guest
		}
		give(x)
	}
	send()
}

// toDomain writes input into the focused domain's console ring. Input for
// a domain that has ended is dropped, with one line saying so.
func (h *Hypervisor) toDomain(b []byte) {
	c := &h.con
	for _, d := range h.domains {
		if d.id != c.focus {
			continue
		}
		if d.state == DomainRunning || d.state == DomainPaused {
			h.consoleInput(d, b)
			return
		}
		if c.told != d.id {
			c.told = d.id
			h.logf("domain %d %q has ended: its input is dropped (press Ctrl-] three times to switch)", d.id, d.name)
		}
		return
	}
	// Destroyed: no longer listed.
	if c.told != c.focus {
		c.told = c.focus
		h.logf("domain %d is gone: its input is dropped (press Ctrl-] three times to switch)", c.focus)
	}
}

// nextAlive is the domain after ID after in the focus cycle: the next live
// domain by ID (the first one after focusHV), or focusHV (hv) after the
// last.
func (h *Hypervisor) nextAlive(after uint16) uint16 {
	next := uint16(focusHV)
	for _, d := range h.domains {
		if (d.state == DomainRunning || d.state == DomainPaused) && (after == focusHV || d.id > after) && (next == focusHV || d.id < next) {
			next = d.id
		}
	}
	return next
}

// setFocus gives console input to domain id, or to hv's monitor
// (focusHV), and says so on the console.
func (h *Hypervisor) setFocus(id uint16) {
	c := &h.con
	if c.focus == focusHV && c.started {
		c.mon.hide()
	}
	c.focus = id
	c.told = focusHV
	for _, d := range h.domains {
		if d.id == id {
			h.logf("console input now goes to domain %d %q (press Ctrl-] three times to switch)", d.id, d.name)
			return
		}
	}
	h.logf("console input now goes to hv: type help for commands (press Ctrl-] three times to switch)")
	c.mon.show()
}

package hv

// Console input. hv's serial console belongs to one domain at a time: its
// keystrokes go into that domain's console ring. Pressing Ctrl-] three
// times in a row moves the focus to the next domain (and from the last one
// back to hv itself), the way Xen uses Ctrl-A three times; GoZen uses Ctrl-]
// because QEMU's -nographic console takes Ctrl-A for itself.
const (
	// FocusKey is the key that, pressed FocusPresses times, switches focus.
	FocusKey     = 0x1d // Ctrl-]
	FocusPresses = 3
)

// Input queues console keystrokes for the focused domain. It is safe to
// call from any goroutine (the console reader).
func (h *Hypervisor) Input(b []byte) {
	c := append([]byte(nil), b...)
	select {
	case h.input <- c:
	default: // the run loop is behind: drop, as a UART overrun would
	}
	h.kick()
}

// pollInput handles queued keystrokes without blocking.
func (h *Hypervisor) pollInput() {
	for {
		select {
		case b := <-h.input:
			h.handleInput(b)
		default:
			return
		}
	}
}

func (h *Hypervisor) handleInput(b []byte) {
	if h.focus == 0 && len(h.domains) > 0 {
		h.setFocus(h.domains[0].id)
	}
	var out []byte
	for _, c := range b {
		if c == FocusKey {
			h.esc++
			if h.esc == FocusPresses {
				h.esc = 0
				h.nextFocus()
			}
			continue
		}
		for ; h.esc > 0; h.esc-- {
			out = append(out, FocusKey) // fewer than three: they were meant for the guest
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return
	}
	for _, d := range h.domains {
		if d.id == h.focus && d.state == DomainRunning {
			h.consoleInput(d, out)
			return
		}
	}
}

func (h *Hypervisor) nextFocus() {
	next := uint16(0)
	for _, d := range h.domains {
		if d.state == DomainRunning && d.id > h.focus {
			next = d.id
			break
		}
	}
	h.setFocus(next)
}

func (h *Hypervisor) setFocus(id uint16) {
	h.focus = id
	for _, d := range h.domains {
		if d.id == id {
			h.logf("console input now goes to domain %d %q (press Ctrl-] three times to switch)", d.id, d.name)
			return
		}
	}
	h.logf("console input now goes to hv (press Ctrl-] three times to switch)")
}

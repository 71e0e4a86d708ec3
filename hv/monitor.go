package hv

// hv's own console, the monitor: what a person gets after pressing Ctrl-]
// three times while domains run. It plays the part of Xen's debug keys and
// of `xl list/pause/unpause/destroy` for a machine without a dom0: a line
// editor reading from hv's serial console, and a table of commands.
//
// The monitor is pure: it acts through monitorOps, which the Hypervisor
// implements on its run loop (monitor_hv.go) and tests fake. Console
// input, and so every command, runs on the run loop (handleInput), so the
// commands may touch domain state directly.

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"

	"gozen/abi/xen"
	"gozen/event"
)

// Host is what the hv program tells the console about the machine beyond
// the core: its memory pools and the runtime layer's counters. cmd/hv
// implements it over rt and gives it to the core with SetHost; the core
// itself stays free of rt.
type Host interface {
	Memory() HostMemory
	Counters() []Counter
}

// HostMemory is the machine's memory as the hv program sees it, in bytes.
type HostMemory struct {
	HVPool, HVFree       uint64 // hv's pool: page tables, hardware structures, the Go heap
	GuestPool, GuestFree uint64 // the pool guest RAM comes from
	HeapInUse, HeapSys   uint64 // the Go heap: bytes in use, and bytes it holds
}

// Counter is one named count, for the console's stats.
type Counter struct {
	Name  string
	Value uint64
}

// monDomain is one domain as the console shows it (one row of `list`).
type monDomain struct {
	ID      uint16
	Name    string
	State   DomainState
	Mem     uint64 // bytes of RAM it holds now
	VCPUs   int
	CPUTime int64 // ns its vCPUs have run
}

// alive reports whether the domain can still run (and take input).
func (d monDomain) alive() bool { return d.State == DomainRunning || d.State == DomainPaused }

// counterGroup is one line of `stats`.
type counterGroup struct {
	Name   string
	Counts []Counter
	Sum    bool // the counts add up to a total worth showing
}

// monitorOps is what the console's commands act on.
type monitorOps interface {
	// domains lists every domain, in ID order.
	domains() []monDomain
	// pause, unpause and destroy act on a domain, or say why they cannot.
	pause(id uint16) error
	unpause(id uint16) error
	destroy(id uint16) error
	// shutdown asks the domain's guest to power off, through xenstore's
	// control/shutdown (as xl shutdown); it reports an error if the guest
	// has no PV control.
	shutdown(id uint16) error
	// focus gives console input to domain id.
	focus(id uint16) error
	// host is the hv program's view of the machine; nil if it gave none.
	host() Host
	// stats is the core's counters: exits, hypercalls, per domain.
	stats() []counterGroup
	// events is a domain's event-channel state and where its vCPUs are.
	events(id uint16) (monEvents, error)
}

// monEvents is what the evtchn command shows of a domain: its vCPUs as the
// scheduler sees them and its event channels as the guest sees them.
type monEvents struct {
	VCPUs []monVCPU
	Ev    event.Snapshot
}

// monVCPU is one vCPU's scheduling state.
type monVCPU struct {
	State  VCPUState
	RIP    uint64
	IF     bool  // the guest takes interrupts now
	Vector uint8 // the domain's event callback vector (0: none)
}

const (
	monPrompt  = "hv> "
	monMaxLine = 200 // longer lines are cut: no command needs more
)

// Control keys the line editor knows.
const (
	keyCtrlC = 0x03 // drop the line
	keyBS    = 0x08 // erase a character (as DEL)
	keyCtrlL = 0x0c // redraw the line
	keyCtrlU = 0x15 // erase the line
	keyESC   = 0x1b // starts an escape sequence (arrow keys), which is ignored
	keyDEL   = 0x7f
)

// monitor is the line editor and command dispatcher.
type monitor struct {
	ops  monitorOps
	out  *consoleWriter
	cmds []monCommand
	line []byte
	cr   bool // the last key was '\r': a '\n' right after it ends nothing
	seq  int  // escape-sequence state: 0 none, 1 after ESC, 2 in CSI/SS3
	away bool // a command gave console input to a domain: no prompt until it is back
}

func newMonitor(ops monitorOps, out *consoleWriter) *monitor {
	return &monitor{ops: ops, out: out, cmds: monitorCommands()}
}

// monCommand is one entry of the command table.
type monCommand struct {
	name    string
	aliases []string
	args    []string // argument names, for usage; the count is checked ("[X]": optional, last)
	help    string
	run     func(m *monitor, args []string) error
}

func monitorCommands() []monCommand {
	return []monCommand{
		{name: "help", aliases: []string{"h", "?"}, help: "this list", run: (*monitor).help},
		{name: "list", aliases: []string{"l"}, help: "every domain: name, ID, memory, vCPUs, state, CPU time (as xl list)", run: (*monitor).list},
		{name: "pause", args: []string{"NAME|ID"}, help: "stop running a domain's vCPUs", run: domainCmd(monitorOps.pause, "paused")},
		{name: "unpause", args: []string{"NAME|ID"}, help: "let a paused domain run again", run: domainCmd(monitorOps.unpause, "unpaused")},
		{name: "shutdown", args: []string{"NAME|ID"}, help: "ask a domain to power off (control/shutdown in xenstore, as xl shutdown)", run: domainCmd(monitorOps.shutdown, "asked to power off")},
		{name: "destroy", args: []string{"NAME|ID"}, help: "end a domain at once and free its memory", run: domainCmd(monitorOps.destroy, "destroyed")},
		{name: "console", aliases: []string{"c"}, args: []string{"NAME|ID"}, help: "give console input to a domain (Ctrl-] x3 comes back)", run: (*monitor).console},
		{name: "mem", help: "hv's and the guests' memory pools, and what each domain holds", run: (*monitor).mem},
		{name: "stats", help: "guest exits by reason, hypercalls by name, runtime counters", run: (*monitor).stats},
		{name: "evtchn", aliases: []string{"e"}, args: []string{"[NAME|ID]"}, help: "a domain's (or every live domain's) vCPUs and event channels: binding, pending/masked/linked (as Xen's 'e' key)", run: (*monitor).evtchn},
	}
}

// show starts the monitor's line on the console: the prompt and whatever
// was typed before input last went elsewhere.
func (m *monitor) show() {
	m.away = false
	m.out.openLine(monPrompt, m.line)
}

// hide ends the monitor's line on the console, when input goes elsewhere.
func (m *monitor) hide() { m.out.closeLine() }

// key handles one typed byte.
func (m *monitor) key(c byte) {
	cr := m.cr
	m.cr = false
	switch m.seq {
	case 1: // after ESC: '[' or 'O' starts a sequence; anything else ends it
		m.seq = 0
		if c == '[' || c == 'O' {
			m.seq = 2
		}
		return
	case 2: // parameters until a final byte
		if c >= 0x40 && c <= 0x7e {
			m.seq = 0
		}
		return
	}
	switch {
	case c == '\r' || c == '\n':
		if c == '\n' && cr {
			return
		}
		m.cr = c == '\r'
		line := string(m.line)
		m.line = m.line[:0]
		m.out.closeLine()
		m.exec(line)
		if !m.away {
			m.show()
		}
	case c == keyDEL || c == keyBS:
		if len(m.line) > 0 {
			m.line = m.line[:len(m.line)-1]
			m.out.echo("\b \b", m.line)
		}
	case c == keyCtrlU:
		if len(m.line) > 0 {
			m.line = m.line[:0]
			m.out.closeLine()
			m.show()
		}
	case c == keyCtrlC:
		m.line = m.line[:0]
		m.out.echo("^C", m.line)
		m.out.closeLine()
		m.show()
	case c == keyCtrlL:
		m.out.closeLine()
		m.show()
	case c == keyESC:
		m.seq = 1
	case c >= ' ' && c < keyDEL:
		if len(m.line) < monMaxLine {
			m.line = append(m.line, c)
			m.out.echo(string(c), m.line)
		}
	default: // other control keys (Tab, a lone Ctrl-]) mean nothing here
	}
}

// exec runs one command line and prints what it says, or why it failed.
func (m *monitor) exec(line string) {
	f := strings.Fields(line)
	if len(f) == 0 {
		return
	}
	name, args := strings.ToLower(f[0]), f[1:]
	for i := range m.cmds {
		c := &m.cmds[i]
		if c.name != name && !contains(c.aliases, name) {
			continue
		}
		if len(args) < c.required() || len(args) > len(c.args) {
			m.printf("usage: %s\n", c.usage())
			return
		}
		if err := c.run(m, args); err != nil {
			m.printf("%s: %v\n", c.name, err)
		}
		return
	}
	m.printf("unknown command %q (help lists them)\n", f[0])
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// required is how many arguments the command must have.
func (c *monCommand) required() int {
	n := 0
	for _, a := range c.args {
		if !strings.HasPrefix(a, "[") {
			n++
		}
	}
	return n
}

func (c *monCommand) usage() string {
	return strings.TrimSpace(c.name + " " + strings.Join(c.args, " "))
}

func (m *monitor) printf(format string, args ...any) {
	fmt.Fprintf(m.out.raw(), format, args...)
}

func (m *monitor) help([]string) error {
	m.printf("hv console commands (Ctrl-] three times moves input to the next domain):\n")
	for _, c := range m.cmds {
		names := c.usage()
		if len(c.aliases) > 0 {
			names += " (" + strings.Join(c.aliases, ", ") + ")"
		}
		m.printf("  %-24s %s\n", names, c.help)
	}
	return nil
}

func (m *monitor) list([]string) error {
	m.printf("%-16s %5s %8s %5s  %-8s %9s\n", "Name", "ID", "Mem(MiB)", "VCPUs", "State", "Time(s)")
	for _, d := range m.ops.domains() {
		m.printf("%-16s %5d %8d %5d  %-8s %9.1f\n", d.Name, d.ID, d.Mem>>20, d.VCPUs, d.State, float64(d.CPUTime)/1e9)
	}
	return nil
}

// resolve finds the domain an argument names: by name first, then by ID.
func (m *monitor) resolve(arg string) (monDomain, error) {
	ds := m.ops.domains()
	var named []monDomain
	for _, d := range ds {
		if d.Name == arg {
			named = append(named, d)
		}
	}
	switch len(named) {
	case 1:
		return named[0], nil
	case 0:
	default:
		return monDomain{}, fmt.Errorf("%d domains are named %q: give the ID", len(named), arg)
	}
	if id, err := strconv.ParseUint(arg, 10, 16); err == nil {
		for _, d := range ds {
			if uint64(d.ID) == id {
				return d, nil
			}
		}
	}
	return monDomain{}, fmt.Errorf("no domain %q (list shows them)", arg)
}

// domainCmd makes a command that does op to the domain its argument names.
func domainCmd(op func(monitorOps, uint16) error, done string) func(*monitor, []string) error {
	return func(m *monitor, args []string) error {
		d, err := m.resolve(args[0])
		if err != nil {
			return err
		}
		if err := op(m.ops, d.ID); err != nil {
			return fmt.Errorf("domain %d %q: %w", d.ID, d.Name, err)
		}
		m.printf("domain %d %q %s\n", d.ID, d.Name, done)
		return nil
	}
}

func (m *monitor) console(args []string) error {
	d, err := m.resolve(args[0])
	if err != nil {
		return err
	}
	if !d.alive() {
		return fmt.Errorf("domain %d %q is %s", d.ID, d.Name, d.State)
	}
	if err := m.ops.focus(d.ID); err != nil {
		return err
	}
	m.away = true
	return nil
}

func (m *monitor) evtchn(args []string) error {
	if len(args) == 0 {
		for _, d := range m.ops.domains() {
			if d.alive() {
				if err := m.domainEvents(d); err != nil {
					m.printf("evtchn: %v\n", err)
				}
			}
		}
		return nil
	}
	d, err := m.resolve(args[0])
	if err != nil {
		return err
	}
	return m.domainEvents(d)
}

func (m *monitor) domainEvents(d monDomain) error {
	e, err := m.ops.events(d.ID)
	if err != nil {
		return fmt.Errorf("domain %d %q: %w", d.ID, d.Name, err)
	}
	m.printf("domain %d %q: %s ABI, %d ports bound\n", d.ID, d.Name, e.Ev.ABI, len(e.Ev.Ports))
	for i, v := range e.Ev.VCPUs {
		var b strings.Builder
		if i < len(e.VCPUs) {
			s := e.VCPUs[i]
			fmt.Fprintf(&b, "%s rip %#x IF=%d vector %#x;", s.State, s.RIP, b2i(s.IF), s.Vector)
		}
		if v.NoInfo {
			b.WriteString(" no vcpu_info")
		} else {
			fmt.Fprintf(&b, " upcall pending=%d mask=%d", b2i(v.UpcallPending), b2i(v.UpcallMask))
		}
		if v.UpcallLost {
			b.WriteString(" upcall-waiting-for-vcpu_info")
		}
		if e.Ev.ABI == "FIFO" {
			if !v.ControlBlock {
				b.WriteString("; no control block")
			} else {
				fmt.Fprintf(&b, "; ready %#x", v.Ready)
			}
			for q := range v.Heads {
				if v.Heads[q] != 0 || v.Tails[q] != 0 {
					fmt.Fprintf(&b, " q%d head %d tail %d", q, v.Heads[q], v.Tails[q])
				}
			}
		}
		m.printf("  vcpu %d: %s\n", i, b.String())
	}
	for _, p := range e.Ev.Ports {
		var b strings.Builder
		fmt.Fprintf(&b, "  port %4d: ", p.Port)
		switch p.State {
		case xen.EvtchnStatUnbound:
			fmt.Fprintf(&b, "unbound for d%d", p.RemoteDom)
		case xen.EvtchnStatInterdomain:
			if p.RemoteDom == xen.DomIDXen {
				b.WriteString("hv")
			} else {
				fmt.Fprintf(&b, "interdomain d%d:%d", p.RemoteDom, p.RemotePort)
			}
		case xen.EvtchnStatVirq:
			fmt.Fprintf(&b, "virq %d", p.VIRQ)
		case xen.EvtchnStatIPI:
			b.WriteString("ipi")
		default:
			fmt.Fprintf(&b, "state %d", p.State)
		}
		fmt.Fprintf(&b, " vcpu %d", p.VCPU)
		for _, f := range []struct {
			on   bool
			name string
		}{{p.Pending, "pending"}, {p.Masked, "masked"}, {p.Linked, "linked"}, {p.Stored, "held"}} {
			if f.on {
				b.WriteString(" " + f.name)
			}
		}
		if e.Ev.ABI == "FIFO" {
			fmt.Fprintf(&b, " prio %d", p.Priority)
			if p.Link != 0 {
				fmt.Fprintf(&b, " link %d", p.Link)
			}
		}
		m.printf("%s\n", b.String())
	}
	return nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (m *monitor) mem([]string) error {
	const mib = 1 << 20
	if h := m.ops.host(); h != nil {
		hm := h.Memory()
		m.printf("hv pool:    %5d MiB, %5d MiB free; Go heap %d MiB in use of %d MiB\n",
			hm.HVPool/mib, hm.HVFree/mib, hm.HeapInUse/mib, hm.HeapSys/mib)
		m.printf("guest pool: %5d MiB, %5d MiB free\n", hm.GuestPool/mib, hm.GuestFree/mib)
		// Exact, for leak checks (scenario xl-cycles compares two of these).
		m.printf("frames:     guest pool %d of %d free, hv pool %d of %d free\n",
			hm.GuestFree/pageSize, hm.GuestPool/pageSize, hm.HVFree/pageSize, hm.HVPool/pageSize)
	} else {
		m.printf("hv pool, guest pool: not reported by the hv program\n")
	}
	var total uint64
	var each []string
	live := 0
	for _, d := range m.ops.domains() {
		if d.Mem == 0 {
			continue // ended, memory given back
		}
		total += d.Mem
		live++
		each = append(each, fmt.Sprintf("%s %d MiB", d.Name, d.Mem/mib))
	}
	m.printf("domains:    %5d MiB of RAM in %d domain(s)", total/mib, live)
	if len(each) > 0 {
		m.printf(": %s", strings.Join(each, ", "))
	}
	m.printf("\n")
	return nil
}

func (m *monitor) stats([]string) error {
	groups := m.ops.stats()
	if h := m.ops.host(); h != nil {
		groups = append(groups, counterGroup{Name: "runtime", Counts: h.Counters()})
	}
	for _, g := range groups {
		var total uint64
		parts := make([]string, 0, len(g.Counts))
		for _, c := range g.Counts {
			total += c.Value
			parts = append(parts, fmt.Sprintf("%s=%d", c.Name, c.Value))
		}
		if g.Sum {
			m.printf("%s: %d in all: %s\n", g.Name, total, strings.Join(parts, " "))
		} else {
			m.printf("%s: %s\n", g.Name, strings.Join(parts, " "))
		}
	}
	return nil
}

// nonZero keeps the counters that are not zero, largest first (ties by
// name, so the order is stable).
func nonZero(cs []Counter) []Counter {
	out := cs[:0:0]
	for _, c := range cs {
		if c.Value != 0 {
			out = append(out, c)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Value != out[j].Value {
			return out[i].Value > out[j].Value
		}
		return out[i].Name < out[j].Name
	})
	return out
}

var (
	newline   = []byte("\n")
	eraseLine = []byte("\r\x1b[K") // CR, then erase to the end of the line (VT100 EL)
)

// consoleWriter is hv's console output. While hv has console input, the
// monitor's line (the prompt and what has been typed) stays the last
// thing on the screen: output from domains or hv's log that arrives
// meanwhile takes the line's place, and the line is drawn again after it,
// as a shell's line editor does.
type consoleWriter struct {
	mu   sync.Mutex
	w    io.Writer
	open bool   // the monitor's line is on screen, unfinished
	text []byte // what it shows: prompt and typed text
	cut  bool   // other output broke the line and did not end with a newline
	// ring keeps what was written, for XEN_SYSCTL_readconsole (conring.go).
	ring conring
}

// Write is everyone else's output (domains' lines, hv's log).
func (c *consoleWriter) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(p) == 0 {
		return 0, nil
	}
	c.ring.write(p)
	if c.open && !c.cut {
		c.w.Write(eraseLine) // the output takes the line's place
		c.cut = true
	}
	n, err := c.w.Write(p)
	if c.open && p[len(p)-1] == '\n' {
		c.w.Write(c.text)
		c.cut = false
	}
	return n, err
}

// raw is the writer for the monitor's own output, between closeLine and
// openLine.
func (c *consoleWriter) raw() io.Writer { return c.w }

// openLine shows prompt and line as the monitor's unfinished line.
func (c *consoleWriter) openLine(prompt string, line []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.text = append(append(c.text[:0], prompt...), line...)
	c.open, c.cut = true, false
	c.w.Write(c.text)
}

// echo shows typed keys s; line is the typed text afterwards.
func (c *consoleWriter) echo(s string, line []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.text = append(c.text[:0], monPrompt...)
	c.text = append(c.text, line...)
	if c.cut { // other output is on the line: draw it anew
		c.w.Write(newline)
		c.w.Write(c.text)
		c.cut = false
		return
	}
	io.WriteString(c.w, s)
}

// closeLine ends the monitor's line (Enter, or input moving elsewhere).
func (c *consoleWriter) closeLine() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.open && !c.cut {
		c.w.Write(newline)
	}
	c.open, c.cut = false, false
}

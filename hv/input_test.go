package hv

import (
	"strings"
	"testing"

	"gozen/abi/xen"
)

// consoleTyped is what hv has put into d's console ring so far.
func consoleTyped(t *testing.T, d *Domain) string {
	t.Helper()
	p := d.page(d.xen.consoleGFN)
	if p == nil {
		t.Fatalf("domain %s has no console page", d.name)
	}
	prod := le.Uint32(p[consInProd:])
	return string(p[consIn : consIn+prod])
}

func newConsoleTestHV(t *testing.T, names ...string) (*Hypervisor, []*Domain, func() string) {
	t.Helper()
	h, _, out := newTestHV()
	code := append(append([]byte{}, insnVMMCALL...), 0, 0, 0, 0)
	var ds []*Domain
	for _, n := range names {
		d, err := h.CreateDomain(DomainConfig{Name: n, Mem: 4 << 20, Kernel: pvhELF(code)})
		if err != nil {
			t.Fatal(err)
		}
		ds = append(ds, d)
	}
	seen := 0
	// since returns the console output after the previous call.
	since := func() string {
		s := out.String()[seen:]
		seen = out.Len()
		return s
	}
	since()
	return h, ds, since
}

func TestConsoleFocusCyclesThroughHV(t *testing.T) {
	h, ds, since := newConsoleTestHV(t, "a", "b", "c")
	a, b, c := ds[0], ds[1], ds[2]
	typ := func(s string) string {
		h.Input([]byte(s))
		h.pollInput()
		return since()
	}
	if out := typ("x"); !strings.Contains(out, `console input now goes to domain 1 "a"`) {
		t.Errorf("first keystroke: %q", out)
	}
	if out := typ("\x1d\x1d\x1dy"); !strings.Contains(out, `console input now goes to domain 2 "b"`) {
		t.Errorf("Ctrl-] x3 from a: %q", out)
	}
	typ("\x1d\x1dz") // two are not a switch: they go to the guest
	if out := typ("\x1d\x1d"); out != "" {
		t.Errorf("half a switch printed %q", out)
	}
	if out := typ("\x1d"); !strings.Contains(out, `console input now goes to domain 3 "c"`) {
		t.Errorf("a switch split over two reads: %q", out)
	}
	out := typ("\x1d\x1d\x1d")
	if !strings.Contains(out, "console input now goes to hv") || !strings.HasSuffix(out, "hv> ") {
		t.Errorf("Ctrl-] x3 from the last domain: %q", out)
	}
	// The keys after the switch are hv's: they used to switch focus back
	// to the first domain.
	out = typ("list\r")
	if !strings.Contains(out, "a                    1        4     1  running") || strings.Contains(out, "console input now") {
		t.Errorf("list at hv's console: %q", out)
	}
	if got := consoleTyped(t, a); got != "x" {
		t.Errorf("a was typed %q", got)
	}
	if got := consoleTyped(t, b); got != "y\x1d\x1dz" {
		t.Errorf("b was typed %q", got)
	}
	if got := consoleTyped(t, c); got != "" {
		t.Errorf("c was typed %q", got)
	}

	// Lifecycle commands act on the domains, on the run loop. Pausing
	// prints what the domain wrote so far.
	a.console.write(h.out, a.name, []byte("unfinished"), 0)
	out = typ("pause a\r")
	if a.State() != DomainPaused || a.vcpus[0].state != VCPUPaused || !strings.Contains(out, "(a) unfinished\n") ||
		!strings.Contains(out, `domain 1 "a" paused`) {
		t.Errorf("pause: %s, vcpu %d, %q", a.StateString(), a.vcpus[0].state, out)
	}
	if out := typ("pause 1\r"); !strings.Contains(out, `pause: domain 1 "a": is not running`) {
		t.Errorf("pause twice: %q", out)
	}
	if out := typ("list\r"); !strings.Contains(out, "a                    1        4     1  paused") {
		t.Errorf("list after pause: %q", out)
	}
	if out := typ("unpause a\r"); a.State() != DomainRunning || a.vcpus[0].state != VCPURunnable || !strings.Contains(out, "unpaused") {
		t.Errorf("unpause: %s, %q", a.StateString(), out)
	}
	if out := typ("destroy b\r"); b.State() != DomainDead || !strings.Contains(out, `domain 2 "b" destroyed`) {
		t.Errorf("destroy: %s, %q", b.StateString(), out)
	}
	if b.mem != nil {
		t.Error("destroyed domain kept its memory")
	}
	if out := typ("destroy 2\r"); !strings.Contains(out, `destroy: no domain "2"`) {
		t.Errorf("destroy twice: %q", out)
	}
	if out := typ("pause\rbogus 1\r"); !strings.Contains(out, "usage: pause NAME|ID") || !strings.Contains(out, `unknown command "bogus"`) {
		t.Errorf("bad commands: %q", out)
	}
	if out := typ("stats\r"); !strings.Contains(out, "exits by domain: 0 in all: a=0 c=0") {
		t.Errorf("stats: %q", out)
	}

	// The cycle skips the destroyed domain.
	if out := typ("\x1d\x1d\x1d"); !strings.Contains(out, `goes to domain 1 "a"`) {
		t.Errorf("from hv: %q", out)
	}
	if out := typ("\x1d\x1d\x1d"); !strings.Contains(out, `goes to domain 3 "c"`) {
		t.Errorf("from a, b destroyed: %q", out)
	}
	typ("\x1d\x1d\x1d")
	// console NAME moves input there at once, within the same read.
	if out := typ("console a\rq"); !strings.Contains(out, `goes to domain 1 "a"`) {
		t.Errorf("console a: %q", out)
	}
	if got := consoleTyped(t, a); got != "xq" {
		t.Errorf("a was typed %q after console a", got)
	}
	// hv's prompt is gone while a has the input: a's output is plain.
	a.console.write(h.out, a.name, []byte("from a\n"), 0)
	if out := since(); out != "(a) from a\n" {
		t.Errorf("a's output while it has the input: %q", out)
	}
}

func TestConsoleInputForEndedDomainIsDropped(t *testing.T) {
	h, ds, since := newConsoleTestHV(t, "a", "b")
	h.handleInput([]byte("1"))
	h.Crash(ds[0], "test")
	h.handleInput([]byte("2"))
	h.handleInput([]byte("3"))
	if out := since(); strings.Count(out, `domain 1 "a" has ended`) != 1 {
		t.Errorf("want one notice: %q", out)
	}
	// From an ended domain the cycle goes on to the next live one.
	h.handleInput([]byte("\x1d\x1d\x1d4"))
	if got := consoleTyped(t, ds[1]); got != "4" {
		t.Errorf("b was typed %q", got)
	}
}

// Commands typed while domains run take effect on the run loop: here a is
// paused and destroyed before it ever runs (its fake guest has no script,
// so running it would panic), while b runs and powers off.
func TestConsoleCommandsOnTheRunLoop(t *testing.T) {
	h, _, out := newTestHV(nil, []step{callXen(xen.HypercallSchedOp, xen.SchedOpShutdown, 0x100003)})
	code := append(append([]byte{}, insnVMMCALL...), 0, 0, 0, 0)
	a, err1 := h.CreateDomain(DomainConfig{Name: "a", Mem: 4 << 20, Kernel: pvhELF(code)})
	b, err2 := h.CreateDomain(DomainConfig{Name: "b", Mem: 4 << 20, Kernel: pvhELF(code)})
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	h.Input([]byte("\x1d\x1d\x1d\x1d\x1d\x1d")) // a (the first) → b → hv
	h.Input([]byte("pause a\rlist\rdestroy a\r"))
	h.Run()
	if a.State() != DomainDead || b.State() != DomainShutdown {
		t.Errorf("a %s, b %s", a.StateString(), b.StateString())
	}
	s := out.String()
	for _, w := range []string{`domain 1 "a" paused`, "a                    1        4     1  paused", `domain 1 "a" destroyed`, `domain 2 "b" shut down`} {
		if !strings.Contains(s, w) {
			t.Errorf("output lacks %q:\n%s", w, s)
		}
	}
	if !strings.HasSuffix(s, "hv> \n") {
		t.Errorf("Run left hv's prompt line open: %q", s[max(0, len(s)-40):])
	}
}

// dom0 is domain 0: it gets the first keystrokes and its place in the
// cycle (dom0 → domU → hv → dom0), not hv's monitor's.
func TestConsoleFocusDom0(t *testing.T) {
	h, _, c := dom0HV(t)
	d0, err := h.CreateDomain(DomainConfig{Name: "dom0", Kernel: pvhELF(insnHLT), Dom0: c})
	if err != nil {
		t.Fatal(err)
	}
	u, err := h.CreateDomain(DomainConfig{Name: "u", Mem: 4 << 20, Kernel: pvhELF(insnHLT)})
	if err != nil {
		t.Fatal(err)
	}
	typ := func(s string) { h.Input([]byte(s)); h.pollInput() }
	typ("a")
	typ("\x1d\x1d\x1db")
	typ("\x1d\x1d\x1dhelp\r\x1d\x1d\x1dc")
	if got := string(d0.dom0.input); got != "ac" { // dom0's hvc0 is console_io
		t.Errorf("dom0 was typed %q", got)
	}
	if got := consoleTyped(t, u); got != "b" {
		t.Errorf("the domU was typed %q", got)
	}
}

// A line the console reader hands over byte by byte while the run loop is
// busy (no pollInput in between) reaches dom0 whole; only what exceeds the
// queue's bound is dropped.
func TestInputBurstKeptWhole(t *testing.T) {
	h, _, c := dom0HV(t)
	d0, err := h.CreateDomain(DomainConfig{Name: "dom0", Kernel: pvhELF(insnHLT), Dom0: c})
	if err != nil {
		t.Fatal(err)
	}
	line := `xl create /etc/xen/testguest.cfg 'name="hostile"' 'cmdline="xshostile"' && echo HOSTILE-CREATED` + "\r"
	for i := range len(line) {
		h.Input([]byte{line[i]})
	}
	h.pollInput()
	if got := string(d0.dom0.input); got != line {
		t.Errorf("dom0 was typed %q, want %q", got, line)
	}
	d0.dom0.input = nil
	for range maxQueuedInput + 100 {
		h.Input([]byte{'x'})
	}
	h.pollInput()
	if got := len(d0.dom0.input); got != maxQueuedInput {
		t.Errorf("a flood of %d bytes left %d queued for dom0, want the bound %d", maxQueuedInput+100, got, maxQueuedInput)
	}
}

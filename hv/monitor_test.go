package hv

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"gozen/abi/xen"
	"gozen/event"
)

// fakeOps records what the monitor asks for.
type fakeOps struct {
	ds    []monDomain
	calls []string
	fail  error // returned by pause/unpause/destroy when set
	hst   Host
}

func (f *fakeOps) domains() []monDomain { return f.ds }
func (f *fakeOps) do(op string, id uint16) error {
	f.calls = append(f.calls, fmt.Sprintf("%s %d", op, id))
	return f.fail
}
func (f *fakeOps) pause(id uint16) error    { return f.do("pause", id) }
func (f *fakeOps) unpause(id uint16) error  { return f.do("unpause", id) }
func (f *fakeOps) destroy(id uint16) error  { return f.do("destroy", id) }
func (f *fakeOps) shutdown(id uint16) error { return f.do("shutdown", id) }
func (f *fakeOps) focus(id uint16) error    { return f.do("focus", id) }
func (f *fakeOps) host() Host               { return f.hst }
func (f *fakeOps) events(id uint16) (monEvents, error) {
	f.calls = append(f.calls, fmt.Sprintf("events %d", id))
	if f.fail != nil {
		return monEvents{}, f.fail
	}
	return monEvents{
		VCPUs: []monVCPU{{State: VCPUBlocked, RIP: 0xffffffff81000000, IF: true, Vector: 0xf3}},
		Ev: event.Snapshot{ABI: "FIFO",
			VCPUs: []event.VCPUSnapshot{{UpcallPending: true, ControlBlock: true, Ready: 0x80,
				Heads: [16]uint32{7: 5}, Tails: [16]uint32{7: 9}}},
			Ports: []event.PortSnapshot{
				{Port: 1, Status: event.Status{State: xen.EvtchnStatInterdomain, RemoteDom: 0, RemotePort: 14}, Pending: true, Linked: true, Link: 9, Priority: 7},
				{Port: 2, Status: event.Status{State: xen.EvtchnStatVirq, VIRQ: 0}, Masked: true, Priority: 7},
				{Port: 3, Status: event.Status{State: xen.EvtchnStatInterdomain, RemoteDom: xen.DomIDXen}, Priority: 7},
				{Port: 4, Status: event.Status{State: xen.EvtchnStatUnbound, RemoteDom: 2}, Priority: 7},
			}},
	}, nil
}
func (f *fakeOps) stats() []counterGroup {
	return []counterGroup{{Name: "exits", Counts: []Counter{{"io", 7}, {"hlt", 3}}, Sum: true}}
}

type fakeHost struct{}

func (fakeHost) Memory() HostMemory {
	return HostMemory{HVPool: 200 << 20, HVFree: 150 << 20, GuestPool: 800 << 20, GuestFree: 700 << 20, HeapInUse: 9 << 20, HeapSys: 20 << 20}
}
func (fakeHost) Counters() []Counter { return []Counter{{"traps", 5}, {"syscalls", 6}} }

func newFakeMonitor() (*monitor, *fakeOps, *bytes.Buffer) {
	ops := &fakeOps{ds: []monDomain{
		{ID: 1, Name: "a", State: DomainRunning, Mem: 16 << 20, VCPUs: 1, CPUTime: 2_500_000_000},
		{ID: 2, Name: "b", State: DomainPaused, Mem: 32 << 20, VCPUs: 2, CPUTime: 100_000_000},
		{ID: 3, Name: "c", State: DomainShutdown, VCPUs: 1},
	}}
	out := &bytes.Buffer{}
	m := newMonitor(ops, &consoleWriter{w: out})
	m.show()
	return m, ops, out
}

func typeKeys(m *monitor, s string) {
	for i := 0; i < len(s); i++ {
		m.key(s[i])
	}
}

func TestMonitorCommands(t *testing.T) {
	for _, tc := range []struct {
		line  string
		calls string   // the operations called, space-separated
		want  []string // lines (or parts) the output must have
		fail  error    // what the fake's operations return
		host  bool
		away  bool // input went to a domain: no new prompt
	}{
		{line: "help", want: []string{"help (h, ?)", "list (l)", "pause NAME|ID", "unpause NAME|ID", "shutdown NAME|ID", "destroy NAME|ID", "console NAME|ID", "mem ", "stats "}},
		{line: "?", want: []string{"pause NAME|ID"}},
		{line: "list", want: []string{
			"Name                ID Mem(MiB) VCPUs  State      Time(s)",
			"a                    1       16     1  running        2.5",
			"b                    2       32     2  paused         0.1",
			"c                    3        0     1  shutdown       0.0",
		}},
		{line: "  l  ", want: []string{"a                    1       16     1  running"}},
		{line: "pause a", calls: "pause 1", want: []string{`domain 1 "a" paused`}},
		{line: "PAUSE 1", calls: "pause 1", want: []string{`domain 1 "a" paused`}},
		{line: "unpause b", calls: "unpause 2", want: []string{`domain 2 "b" unpaused`}},
		{line: "destroy 2", calls: "destroy 2", want: []string{`domain 2 "b" destroyed`}},
		{line: "shutdown a", calls: "shutdown 1", want: []string{`domain 1 "a" asked to power off`}},
		{line: "shutdown b", calls: "shutdown 2", fail: ErrNoPVControl, want: []string{`shutdown: domain 2 "b": `}},
		{line: "unpause a", calls: "unpause 1", fail: errNotPaused, want: []string{`unpause: domain 1 "a": is not paused`}},
		{line: "pause", want: []string{"usage: pause NAME|ID"}},
		{line: "pause a b", want: []string{"usage: pause NAME|ID"}},
		{line: "list everything", want: []string{"usage: list"}},
		{line: "pause zz", want: []string{`pause: no domain "zz"`}},
		{line: "pause 99999999999", want: []string{`pause: no domain "99999999999"`}},
		{line: "destroy -1", want: []string{`destroy: no domain "-1"`}},
		{line: "frobnicate now", want: []string{`unknown command "frobnicate" (help lists them)`}},
		{line: "console b", calls: "focus 2", away: true},
		{line: "console c", want: []string{`console: domain 3 "c" is shutdown`}},
		{line: "mem", want: []string{"not reported by the hv program", "domains:       48 MiB of RAM in 2 domain(s): a 16 MiB, b 32 MiB"}},
		{line: "mem", host: true, want: []string{
			"hv pool:      200 MiB,   150 MiB free; Go heap 9 MiB in use of 20 MiB",
			"guest pool:   800 MiB,   700 MiB free",
			"frames:     guest pool 179200 of 204800 free, hv pool 38400 of 51200 free",
			"domains:       48 MiB",
		}},
		{line: "stats", want: []string{"exits: 10 in all: io=7 hlt=3"}},
		{line: "stats", host: true, want: []string{"exits: 10 in all: io=7 hlt=3", "runtime: traps=5 syscalls=6"}},
		{line: "evtchn a", calls: "events 1", want: []string{
			`domain 1 "a": FIFO ABI, 4 ports bound`,
			"  vcpu 0: blocked rip 0xffffffff81000000 IF=1 vector 0xf3; upcall pending=1 mask=0; ready 0x80 q7 head 5 tail 9",
			"  port    1: interdomain d0:14 vcpu 0 pending linked prio 7 link 9",
			"  port    2: virq 0 vcpu 0 masked prio 7",
			"  port    3: hv vcpu 0 prio 7",
			"  port    4: unbound for d2 vcpu 0 prio 7",
		}},
		{line: "e", calls: "events 1 events 2", want: []string{`domain 1 "a": FIFO ABI`, `domain 2 "b": FIFO ABI`}},
		{line: "evtchn a b", want: []string{"usage: evtchn [NAME|ID]"}},
		{line: "e 2", calls: "events 2", fail: errors.New("has no event channels"), want: []string{`evtchn: domain 2 "b": has no event channels`}},
		{line: "", want: []string{"hv> \nhv> "}},
	} {
		m, ops, out := newFakeMonitor()
		ops.fail = tc.fail
		if tc.host {
			ops.hst = fakeHost{}
		}
		typeKeys(m, tc.line+"\r")
		got := out.String()
		if calls := strings.Join(ops.calls, " "); calls != tc.calls {
			t.Errorf("%q: calls %q, want %q", tc.line, calls, tc.calls)
		}
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%q: output lacks %q:\n%s", tc.line, w, got)
			}
		}
		if !strings.HasPrefix(got, "hv> "+strings.TrimSpace(tc.line)) && tc.line != "" && tc.line[0] != ' ' {
			t.Errorf("%q: the line was not echoed: %q", tc.line, got)
		}
		if strings.HasSuffix(got, "\nhv> ") == tc.away || m.out.open == tc.away {
			t.Errorf("%q: prompt after the command is %v, want %v: %q", tc.line, !tc.away, tc.away, got)
		}
	}
}

func TestMonitorResolvesNamesBeforeIDs(t *testing.T) {
	m, ops, out := newFakeMonitor()
	ops.ds = append(ops.ds, monDomain{ID: 4, Name: "1", State: DomainRunning}, monDomain{ID: 5, Name: "x", State: DomainRunning},
		monDomain{ID: 6, Name: "x", State: DomainRunning})
	typeKeys(m, "pause 1\rpause x\rpause 6\r")
	if got := strings.Join(ops.calls, ","); got != "pause 4,pause 6" {
		t.Errorf("calls %q, want the domain named 1 (ID 4), then ID 6", got)
	}
	if !strings.Contains(out.String(), `pause: 2 domains are named "x": give the ID`) {
		t.Errorf("ambiguous name not reported:\n%s", out)
	}
}

func TestMonitorLineEditing(t *testing.T) {
	m, ops, out := newFakeMonitor()
	// Backspace and DEL erase; Ctrl-U and Ctrl-C drop the line; arrow keys
	// (escape sequences) and stray control keys do nothing; CR LF is one
	// Enter.
	typeKeys(m, "pausxx\x7f\x08e a\r\n")
	typeKeys(m, "destroy a\x15pause 2\r")
	typeKeys(m, "destroy a\x03")
	typeKeys(m, "\x1b[A\x1bOBun\x1b[1;5Cpause\t\x1d 1\n")
	if got := strings.Join(ops.calls, ","); got != "pause 1,pause 2,unpause 1" {
		t.Errorf("calls %q", got)
	}
	if strings.Count(out.String(), "hv> ") != 6 {
		t.Errorf("want 6 prompts (start, 3 commands, Ctrl-U, Ctrl-C):\n%q", out)
	}
	if !strings.Contains(out.String(), "destroy a^C\nhv> ") {
		t.Errorf("Ctrl-C not shown:\n%q", out)
	}
	// Over-long lines are cut, not grown without bound.
	typeKeys(m, strings.Repeat("x", 10*monMaxLine))
	if len(m.line) != monMaxLine {
		t.Errorf("line grew to %d bytes", len(m.line))
	}
	typeKeys(m, "\r")
	if !strings.Contains(out.String(), `unknown command "xxxx`) {
		t.Error("long line not run as one command")
	}
}

func TestConsoleWriterKeepsThePromptLine(t *testing.T) {
	out := &bytes.Buffer{}
	w := &consoleWriter{w: out}
	fmt.Fprintf(w, "(a) before\n")
	w.openLine(monPrompt, []byte("pa"))
	fmt.Fprintf(w, "(a) line one\n")
	w.echo("u", []byte("pau"))
	fmt.Fprintf(w, "(b) part")
	fmt.Fprintf(w, "ial\n")
	fmt.Fprintf(w, "(b) no newline")
	w.echo("s", []byte("paus"))
	w.closeLine()
	fmt.Fprintf(w, "(a) after\n")
	want := "(a) before\nhv> pa\r\x1b[K(a) line one\nhv> pau\r\x1b[K(b) partial\nhv> pau\r\x1b[K(b) no newline\nhv> paus\n(a) after\n"
	if out.String() != want {
		t.Errorf("console shows\n%q\nwant\n%q", out, want)
	}
}

// FuzzMonitor types random keys at the monitor: whatever is typed, it
// prints an answer and never panics.
func FuzzMonitor(f *testing.F) {
	f.Add([]byte("help\rlist\rpause a\runpause 2\rdestroy b\rmem\rstats\r"))
	f.Add([]byte("pause\x7f\x7f\x7f\x7f\x7f\x7f\x7f\x7f\x1b[A\x15\x03console 3\r"))
	f.Fuzz(func(t *testing.T, keys []byte) {
		m, ops, out := newFakeMonitor()
		ops.hst = fakeHost{}
		if len(keys) > 0 && keys[0]&1 == 1 {
			ops.fail = errors.New("refused")
		}
		for _, k := range keys {
			m.key(k)
		}
		if len(m.line) > monMaxLine {
			t.Fatalf("line of %d bytes", len(m.line))
		}
		if !bytes.HasPrefix(out.Bytes(), []byte(monPrompt)) {
			t.Fatalf("no prompt: %q", out)
		}
	})
}

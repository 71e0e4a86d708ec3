package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"gozen/abi/xen"
	"gozen/dom0/xs"
	"gozen/xenstore"
	"gozen/xenstore/xstest"
)

var le = binary.LittleEndian

type fakeEvents struct {
	mu       sync.Mutex
	next     uint32
	bound    map[uint32][2]uint32
	notified map[uint32]int
}

func (f *fakeEvents) BindInterdomain(dom, port uint32) (uint32, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next++
	f.bound[f.next] = [2]uint32{dom, port}
	return f.next, nil
}

func (f *fakeEvents) Unbind(port uint32) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.bound[port]; !ok {
		return errors.New("EINVAL")
	}
	delete(f.bound, port)
	return nil
}

func (f *fakeEvents) Notify(port uint32) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.notified[port]++
	return nil
}

func (f *fakeEvents) local(dom uint32) (uint32, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for l, b := range f.bound {
		if b[0] == dom {
			return l, true
		}
	}
	return 0, false
}

func (f *fakeEvents) count(p uint32) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.notified[p]
}

type fakeMapper struct {
	mu     sync.Mutex
	pages  map[uint32][]byte
	refs   map[uint32]uint64
	unmaps map[uint32]int
}

func (m *fakeMapper) MapConsole(domid uint32, ref uint64) ([]byte, func() error, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.refs[domid] = ref
	return m.pages[domid], func() error { m.mu.Lock(); m.unmaps[domid]++; m.mu.Unlock(); return nil }, nil
}

// fakePTY stands for a pty's master: writes are the guest's output as the
// user would see it; type() is the user typing.
type fakePTY struct {
	name   string
	mu     sync.Mutex
	out    bytes.Buffer
	stuck  chan struct{} // if set, Write blocks until it is closed (nobody reads the slave)
	in     chan []byte
	closed chan struct{}
	once   sync.Once
}

func (p *fakePTY) Name() string { return p.name }
func (p *fakePTY) Write(b []byte) (int, error) {
	if p.stuck != nil {
		select {
		case <-p.stuck:
		case <-p.closed:
			return 0, io.ErrClosedPipe
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}
func (p *fakePTY) Read(b []byte) (int, error) {
	select {
	case x := <-p.in:
		if len(x) > len(b) {
			panic("fakePTY: a read smaller than what was typed")
		}
		return copy(b, x), nil
	case <-p.closed:
		return 0, io.EOF
	}
}
func (p *fakePTY) Close() error { p.once.Do(func() { close(p.closed) }); return nil }
func (p *fakePTY) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

type logBuf struct {
	mu     sync.Mutex
	b      bytes.Buffer
	closed bool
}

func (l *logBuf) Write(b []byte) (int, error) { l.mu.Lock(); defer l.mu.Unlock(); return l.b.Write(b) }
func (l *logBuf) Close() error                { l.mu.Lock(); l.closed = true; l.mu.Unlock(); return nil }
func (l *logBuf) String() string              { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

type fakeHost struct {
	mu    sync.Mutex
	stuck bool // the next ptys block writes until their stuck channel is closed
	n     int
	ptys  []*fakePTY
	logs  map[string]*logBuf
}

func (h *fakeHost) OpenPTY() (PTY, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	p := &fakePTY{name: fmt.Sprintf("/dev/pts/%d", h.n), in: make(chan []byte), closed: make(chan struct{})}
	if h.stuck {
		p.stuck = make(chan struct{})
	}
	h.n++
	h.ptys = append(h.ptys, p)
	return p, nil
}

func (h *fakeHost) OpenLog(domid uint32, name string) (io.WriteCloser, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	l := &logBuf{}
	h.logs[name] = l
	return l, nil
}

type env struct {
	t    *testing.T
	d    *Daemon
	ev   *fakeEvents
	maps *fakeMapper
	host *fakeHost
	xs   *xs.Client
	log  *logBuf
}

func newEnv(t *testing.T) *env {
	srv := xenstore.NewServer(nil, xenstore.DefaultLimits, xenstore.PrivilegedLimits)
	e := &env{t: t,
		ev:   &fakeEvents{bound: map[uint32][2]uint32{}, notified: map[uint32]int{}},
		maps: &fakeMapper{pages: map[uint32][]byte{}, refs: map[uint32]uint64{}, unmaps: map[uint32]int{}},
		host: &fakeHost{logs: map[string]*logBuf{}},
		xs:   xs.New(&xstest.Pipe{C: srv.Connect(0, true)}),
		log:  &logBuf{},
	}
	e.d = NewDaemon(e.xs, e.ev, e.maps, e.host, func(f string, a ...any) { fmt.Fprintf(e.log, f+"\n", a...) })
	return e
}

// domain writes a domain's console records, as the toolstack does, and
// returns its console page.
func (e *env) domain(id uint32, name string) []byte {
	e.t.Helper()
	home := fmt.Sprintf("/local/domain/%d", id)
	for _, kv := range [][2]string{{"/name", name}, {"/console/ring-ref", "0"}, {"/console/port", "2"}, {"/console/type", "xenconsoled"}} {
		if err := e.xs.Write(home+kv[0], kv[1]); err != nil {
			e.t.Fatal(err)
		}
	}
	p := alignedPage()
	e.maps.mu.Lock()
	e.maps.pages[id] = p
	e.maps.mu.Unlock()
	return p
}

// guestWrite is the guest's hvc driver writing to out[].
func guestWrite(p []byte, s string) {
	prod := le.Uint32(p[xen.XenconsOutProdOffset:])
	for i := 0; i < len(s); i++ {
		p[xen.XenconsOutOffset+int(xen.MaskXenconsOut(prod))] = s[i]
		prod++
	}
	le.PutUint32(p[xen.XenconsOutProdOffset:], prod)
}

// guestRead is the guest consuming in[], in step with the daemon (the
// test's stand-in for the guest's own memory ordering).
func (e *env) guestRead(p []byte) string {
	e.d.mu.Lock()
	defer e.d.mu.Unlock()
	return guestRead(p)
}

// guestRead is the guest consuming in[].
func guestRead(p []byte) string {
	cons := le.Uint32(p[xen.XenconsInConsOffset:])
	prod := le.Uint32(p[xen.XenconsInProdOffset:])
	var b []byte
	for ; cons != prod; cons++ {
		b = append(b, p[xen.XenconsInOffset+int(xen.MaskXenconsIn(cons))])
	}
	le.PutUint32(p[xen.XenconsInConsOffset:], cons)
	return string(b)
}

func eventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	for i := 0; i < 500; i++ {
		if f() {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// A domain with console records gets its ring mapped (grant 0), its port
// bound, a pty recorded in console/tty; its output reaches the pty and the
// log, and typed input reaches its in[] ring with a notification.
func TestConsoleServesDomain(t *testing.T) {
	e := newEnv(t)
	p := e.domain(5, "guest")
	guestWrite(p, "early boot\n")
	if err := e.d.Scan(); err != nil {
		t.Fatal(err)
	}
	port, ok := e.ev.local(5)
	if !ok || e.ev.bound[port] != [2]uint32{5, 2} {
		t.Fatalf("port not bound: %v", e.ev.bound)
	}
	if tty, err := e.xs.Read("/local/domain/5/console/tty"); err != nil || tty != "/dev/pts/0" {
		t.Fatalf("console/tty %q, %v", tty, err)
	}
	pty := e.host.ptys[0]
	eventually(t, "early output on the pty", func() bool { return pty.output() == "early boot\n" })
	if pty.output() != "early boot\n" || e.host.logs["guest"].String() != "early boot\n" {
		t.Fatalf("output written before attach: pty %q, log %q", pty.output(), e.host.logs["guest"])
	}
	guestWrite(p, "login: ")
	n := e.ev.count(port)
	e.d.Event(port)
	eventually(t, "output on the pty", func() bool { return pty.output() == "early boot\nlogin: " })
	if pty.output() != "early boot\nlogin: " || e.ev.count(port) != n+1 {
		t.Fatalf("pty %q, notifications %d -> %d", pty.output(), n, e.ev.count(port))
	}
	if le.Uint32(p[xen.XenconsOutConsOffset:]) != le.Uint32(p[xen.XenconsOutProdOffset:]) {
		t.Fatal("out[] not consumed")
	}
	pty.in <- []byte("root\n")
	eventually(t, "input in the ring", func() bool {
		e.d.mu.Lock()
		defer e.d.mu.Unlock()
		return le.Uint32(p[xen.XenconsInProdOffset:]) == 5
	})
	if got := e.guestRead(p); got != "root\n" {
		t.Fatalf("in[] %q", got)
	}
	// Input beyond in[]'s room waits for the guest to consume it.
	big := strings.Repeat("x", xen.XenconsInSize+100)
	pty.in <- []byte(big[:512])
	pty.in <- []byte(big[512:1024])
	pty.in <- []byte(big[1024:])
	eventually(t, "in[] full", func() bool {
		e.d.mu.Lock()
		defer e.d.mu.Unlock()
		return len(e.d.consoles[5].input) == 100
	})
	got := e.guestRead(p)
	e.d.Event(port)
	got += e.guestRead(p)
	if got != big {
		t.Fatalf("the guest read %d bytes of %d", len(got), len(big))
	}
	// The domain goes: its console is torn down.
	if err := e.xs.Rm("/local/domain/5"); err != nil {
		t.Fatal(err)
	}
	if err := e.d.Scan(); err != nil {
		t.Fatal(err)
	}
	if _, still := e.ev.local(5); still || e.maps.unmaps[5] != 1 || len(e.d.Consoles()) != 0 {
		t.Fatalf("after the domain went: bound %v, unmaps %d", still, e.maps.unmaps[5])
	}
}

// A guest that breaks its console ring loses its console with one log line;
// another domain's console keeps working. A console of another type is
// left alone.
func TestHostileConsole(t *testing.T) {
	e := newEnv(t)
	bad := e.domain(5, "bad")
	good := e.domain(6, "good")
	e.domain(7, "qemu")
	e.xs.Write("/local/domain/7/console/type", "ioemu")
	if err := e.d.Scan(); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.ev.local(7); ok {
		t.Fatal("an ioemu console was taken")
	}
	le.PutUint32(bad[xen.XenconsOutProdOffset:], 0x80000000)
	bp, _ := e.ev.local(5)
	gp, _ := e.ev.local(6)
	e.d.Event(bp)
	e.d.Event(bp)
	if n := strings.Count(e.log.String(), "console ring indexes out of range"); n != 1 {
		t.Fatalf("%d log lines:\n%s", n, e.log)
	}
	guestWrite(good, "still here")
	e.d.Event(gp)
	var gpty *fakePTY
	for _, p := range e.host.ptys {
		if tty, _ := e.xs.Read("/local/domain/6/console/tty"); p.name == tty {
			gpty = p
		}
	}
	if gpty == nil {
		t.Fatal("no pty for the good console")
	}
	eventually(t, "the good console's output", func() bool { return gpty.output() == "still here" })
}

// A console whose pty nobody reads (its writes block) neither stops the
// other consoles nor its own guest: its ring is still drained into the log,
// the pty gets the latest maxBacklog bytes once it is read again.
func TestStuckPTYBlocksNoOne(t *testing.T) {
	e := newEnv(t)
	e.host.stuck = true
	quiet := e.domain(5, "quiet")
	if err := e.d.Scan(); err != nil {
		t.Fatal(err)
	}
	e.host.stuck = false
	busy := e.domain(6, "busy")
	if err := e.d.Scan(); err != nil {
		t.Fatal(err)
	}
	qp, _ := e.ev.local(5)
	bp, _ := e.ev.local(6)
	qpty, bpty := e.host.ptys[0], e.host.ptys[1]
	// quiet writes far more than the backlog while nobody reads its pty.
	line := strings.Repeat("q", 1000) + "\n"
	total := 0
	for total < 2*maxBacklog {
		guestWrite(quiet, line)
		e.d.Event(qp)
		total += len(line)
		guestWrite(busy, "b")
		e.d.Event(bp)
	}
	eventually(t, "busy's output", func() bool { return len(bpty.output()) == total/len(line) })
	if got := len(e.host.logs["quiet"].String()); got != total {
		t.Fatalf("quiet's log has %d bytes of %d", got, total)
	}
	if le.Uint32(quiet[xen.XenconsOutConsOffset:]) != le.Uint32(quiet[xen.XenconsOutProdOffset:]) {
		t.Fatal("quiet's out[] not drained")
	}
	close(qpty.stuck) // someone attaches
	// What the blocked write held (at most maxBacklog), then the latest
	// maxBacklog bytes: older output was dropped.
	eventually(t, "quiet's backlog", func() bool { return len(qpty.output()) >= maxBacklog })
	time.Sleep(20 * time.Millisecond)
	if n := len(qpty.output()); n > 2*maxBacklog || n >= total {
		t.Fatalf("quiet's pty got %d bytes of %d (backlog %d)", n, total, maxBacklog)
	}
	if !strings.HasSuffix(qpty.output(), line) {
		t.Fatal("quiet's pty did not get its latest output")
	}
}

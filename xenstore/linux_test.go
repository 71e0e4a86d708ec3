package xenstore

import (
	"strings"
	"testing"

	"gozen/abi/xen"
)

// events returns the watch events the guest received, as "path token".
func (g *guest) events() []string {
	hs, ps := g.msgs()
	var out []string
	for i, h := range hs {
		if h.Type == xen.XSWatchEvent {
			out = append(out, strings.TrimSuffix(strings.Replace(ps[i], "\x00", " ", 1), "\x00"))
		}
	}
	return out
}

// TestLinuxDomUBootAndShutdown replays what Debian's Linux 6.1 does as a
// PVH domU over its xenstore ring at boot (dom0-toolstack.md §D.5), then
// `xl shutdown`: dom0 writes control/shutdown, the guest's watch fires,
// and the guest acknowledges in a transaction (drivers/xen/manage.c).
func TestLinuxDomUBootAndShutdown(t *testing.T) {
	hooks := &fakeHooks{}
	s := NewServer(hooks, DefaultLimits, PrivilegedLimits)
	d0 := newClient(t, s, 0, true)
	setupDomain(t, d0, "1")
	g := newGuest(t, s, 1)
	id := uint32(0)
	rt := func(typ, tx uint32, p string) string { id++; return g.roundTrip(typ, id, tx, p) }

	steps := []struct {
		typ       uint32
		payload   string
		want      string
		tolerated string // an error Linux copes with
	}{
		{xen.XSRead, "control/platform-feature-xs_reset_watches\x00", "", "!ENOENT"},
		{xen.XSDirectory, "device\x00", "", "!ENOENT"},
		{xen.XSWatch, "device\x00ffff888003c0a000\x00", "OK\x00", ""},
		{xen.XSWatch, "control/shutdown\x00ffffffff82a0c0e0\x00", "OK\x00", ""},
		{xen.XSWatch, "control/sysrq\x00ffffffff82a0c100\x00", "OK\x00", ""},
		{xen.XSWrite, "control/feature-poweroff\x001", "OK\x00", ""},
		{xen.XSWrite, "control/feature-reboot\x001", "OK\x00", ""},
		{xen.XSWatch, "memory/target\x00ffffffff82a0d000\x00", "OK\x00", ""},
		{xen.XSRead, "memory/target\x00", "262144", ""},
		{xen.XSRead, "memory/static-max\x00", "", "!ENOENT"},
		{xen.XSWatch, "cpu\x00ffffffff82a0e000\x00", "OK\x00", ""},
		{xen.XSRead, "vm\x00", "", "!ENOENT"},
	}
	for _, st := range steps {
		got := rt(st.typ, 0, st.payload)
		if got != st.want && (st.tolerated == "" || got != st.tolerated) {
			t.Fatalf("%s %q: %q, want %q", xen.XSTypeName(st.typ), st.payload, got, st.want)
		}
	}
	// Each watch fired once on registration, with the relative path.
	want := []string{
		"device ffff888003c0a000", "control/shutdown ffffffff82a0c0e0",
		"control/sysrq ffffffff82a0c100", "memory/target ffffffff82a0d000", "cpu ffffffff82a0e000",
	}
	if got := g.events(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("boot events %q", got)
	}
	d0.expect(d0.read("/local/domain/1/control/feature-poweroff"), "1")

	// xl shutdown: dom0 writes the request and watches for the guest's
	// acknowledgement.
	d0.expect(d0.watch("/local/domain/1/control/shutdown", "xl"), "OK\x00")
	d0.takeEvents()
	d0.expect(d0.write("/local/domain/1/control/shutdown", "poweroff"), "OK\x00")
	d0.expectEvents("/local/domain/1/control/shutdown xl") // its own write
	if len(hooks.notified) == 0 || hooks.notified[len(hooks.notified)-1] != g.r.Conn() {
		t.Fatal("the guest's connection was not flagged for a flush")
	}
	g.service() // what the host does on Notify
	g.recv()
	ev := g.events()
	if ev[len(ev)-1] != "control/shutdown ffffffff82a0c0e0" {
		t.Fatalf("shutdown watch did not fire: %q", ev)
	}
	// shutdown_handler: start, read, write "", end; retry on EAGAIN.
	txs := rt(xen.XSTransactionStart, 0, "\x00")
	tx := uint32(0)
	for _, ch := range strings.TrimSuffix(txs, "\x00") {
		tx = tx*10 + uint32(ch-'0')
	}
	if r := rt(xen.XSRead, tx, "control/shutdown\x00"); r != "poweroff" {
		t.Fatalf("read in transaction: %q", r)
	}
	if r := rt(xen.XSWrite, tx, "control/shutdown\x00"); r != "OK\x00" {
		t.Fatalf("write in transaction: %q", r)
	}
	d0.expectEvents() // nothing until the commit
	if r := rt(xen.XSTransactionEnd, tx, "T\x00"); r != "OK\x00" {
		t.Fatalf("commit: %q", r)
	}
	d0.expectEvents("/local/domain/1/control/shutdown xl")
	d0.expect(d0.read("/local/domain/1/control/shutdown"), "")
	if g.r.Broken() {
		t.Fatal("ring broken")
	}
	// The domain dies: everything it held goes, dom0 hears @releaseDomain.
	d0.expect(d0.watch(ReleaseDomain, "rel"), "OK\x00")
	d0.takeEvents()
	s.RemoveDomain(1)
	d0.expectEvents("/local/domain/1/control/shutdown xl", "@releaseDomain rel")
	if u := s.DomainUsage(1); u != (Usage{}) {
		t.Fatalf("usage after RemoveDomain: %+v", u)
	}
}

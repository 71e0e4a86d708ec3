package xenstore

import (
	"errors"
	"testing"

	"gozen/abi/xen"
)

func TestWatchFiring(t *testing.T) {
	s, d0 := newTestServer(t)
	d1 := newClient(t, s, 1, false)
	d2 := newClient(t, s, 2, false)
	setupDomain(t, d0, "1")
	setupDomain(t, d0, "2")

	// A new watch fires once, straight away, with the path as given.
	d1.expect(d1.watch("data", "tok"), "OK\x00")
	d1.expectEvents("data tok")
	d1.expect(d1.watch("/local/domain/1/device", "abs"), "OK\x00")
	d1.expectEvents("/local/domain/1/device abs")
	d1.expect(d1.watch("data", "tok"), "!EEXIST")
	d1.expect(d1.watch("data/", "tok"), "!EINVAL")

	// Changes to the node and below fire; relative watches get relative
	// paths, absolute ones absolute.
	d1.expect(d1.write("data/a/b", "1"), "OK\x00")
	d1.expectEvents("data/a/b tok")
	d0.expect(d0.write("/local/domain/1/device/vif/0/state", "1"), "OK\x00")
	d1.expectEvents("/local/domain/1/device/vif/0/state abs")
	// Sibling with a common prefix does not match.
	d0.expect(d0.write("/local/domain/1/device2", "x"), "OK\x00")
	d1.expectEvents()

	// Removing a parent: a watch above sees the removed path; a watch on a
	// removed descendant sees its own path.
	d1.expect(d1.watch("data/a/b", "deep"), "OK\x00")
	d1.expectEvents("data/a/b deep")
	d1.expect(d1.rm("data/a"), "OK\x00")
	d1.expectEvents("data/a tok", "data/a/b deep")
	// A removed watch path that never existed gets nothing from a later rm.
	d1.expect(d1.watch("data/q/r", "never"), "OK\x00")
	d1.expectEvents("data/q/r never")
	d1.expect(d1.write("data/q", "1"), "OK\x00")
	d1.expectEvents("data/q tok")
	d1.expect(d1.rm("data/q"), "OK\x00")
	d1.expectEvents("data/q tok")

	// SET_PERMS fires; MKDIR of an existing node does not.
	d1.expect(d1.write("data/p", "1"), "OK\x00")
	d1.expectEvents("data/p tok")
	d1.expect(d1.setPerms("data/p", "n1", "r2"), "OK\x00")
	d1.expectEvents("data/p tok")
	d1.expect(d1.mkdir("data/p"), "OK\x00")
	d1.expectEvents()

	// Another domain's watch on nodes it cannot read stays silent (except
	// the registration fire), and it hears of nodes it may read.
	d2.expect(d2.watch("/local/domain/1/data", "spy"), "OK\x00")
	d2.expectEvents("/local/domain/1/data spy")
	d1.expect(d1.write("data/hidden", "x"), "OK\x00")
	d2.expectEvents()
	d1.expect(d1.write("data/p", "2"), "OK\x00") // r2
	d2.expectEvents("/local/domain/1/data/p spy")
	d1.takeEvents()
	// Made unreadable: the change itself is still announced to those who
	// could read it before.
	d1.expect(d1.setPerms("data/p", "n1"), "OK\x00")
	d2.expectEvents("/local/domain/1/data/p spy")
	d1.expect(d1.write("data/p", "3"), "OK\x00")
	d2.expectEvents()
	d1.takeEvents()

	// UNWATCH, then silence; unknown watch is ENOENT.
	d1.expect(d1.unwatch("data", "tok"), "OK\x00")
	d1.expect(d1.unwatch("data", "tok"), "!ENOENT")
	d1.expect(d1.write("data/z", "1"), "OK\x00")
	d1.expectEvents()
	// RESET_WATCHES drops the rest.
	d1.expect(d1.res(xen.XSResetWatches, 0, ""), "OK\x00")
	d0.expect(d0.write("/local/domain/1/device/x", "1"), "OK\x00")
	d1.expectEvents()
	if u := s.DomainUsage(1); u.Watches != 0 || u.WatchBytes != 0 {
		t.Fatalf("after RESET_WATCHES usage %+v", u)
	}
}

type fakeHooks struct {
	introduced map[uint32]*Conn
	released   []uint32
	notified   []*Conn
	fail       bool
}

func (h *fakeHooks) Introduce(c *Conn, gfn uint64, port uint32) error {
	if h.fail {
		return errors.New("cannot map")
	}
	if h.introduced == nil {
		h.introduced = map[uint32]*Conn{}
	}
	h.introduced[c.Domid()] = c
	return nil
}
func (h *fakeHooks) Release(domid uint32) { h.released = append(h.released, domid) }
func (h *fakeHooks) Notify(c *Conn)       { h.notified = append(h.notified, c) }

func TestSpecialWatchesAndDomains(t *testing.T) {
	hooks := &fakeHooks{}
	s := NewServer(hooks, DefaultLimits, PrivilegedLimits)
	d0 := newClient(t, s, 0, true)
	d1 := newClient(t, s, 1, false)
	d0.expect(d0.watch(IntroduceDomain, "i"), "OK\x00")
	d0.expect(d0.watch(ReleaseDomain, "r"), "OK\x00")
	d0.expectEvents("@introduceDomain i", "@releaseDomain r")
	d1.expect(d1.watch(ReleaseDomain, "r"), "OK\x00")
	d1.expectEvents("@releaseDomain r")

	d0.expect(d0.res(xen.XSIntroduce, 0, "5\x00"+"-2\x00"+"7\x00"), "OK\x00")
	d0.expectEvents("@introduceDomain i")
	c5 := hooks.introduced[5]
	if c5 == nil || c5.Privileged() || !s.Introduced(5) {
		t.Fatal("INTRODUCE did not connect domain 5")
	}
	d0.expect(d0.res(xen.XSIsDomainIntroduced, 0, "5\x00"), "T\x00")
	d0.expect(d0.res(xen.XSIntroduce, 0, "5\x00"+"1\x00"+"7\x00"), "OK\x00") // again: no-op
	d0.expectEvents()
	d0.expect(d0.res(xen.XSIntroduce, 0, "0\x00"+"1\x00"+"7\x00"), "!EINVAL")
	d0.expect(d0.res(xen.XSIntroduce, 0, "32752\x00"+"1\x00"+"7\x00"), "!EINVAL")
	d0.expect(d0.res(xen.XSIntroduce, 0, "6\x00"+"1\x00"), "!EINVAL")
	hooks.fail = true
	d0.expect(d0.res(xen.XSIntroduce, 0, "6\x00"+"1\x00"+"2\x00"), "!EINVAL")
	d0.expect(d0.res(xen.XSIsDomainIntroduced, 0, "6\x00"), "F\x00")

	// Domain 5 writes, watches; RELEASE drops all of it and fires
	// @releaseDomain for dom0 only (the special node is n0).
	d5 := &client{t: t, c: c5}
	d0.expect(d0.mkdir("/local/domain/5"), "OK\x00")
	d0.expect(d0.setPerms("/local/domain/5", "b5"), "OK\x00")
	d5.expect(d5.write("x", "1"), "OK\x00")
	d5.expect(d5.watch("x", "t"), "OK\x00")
	d0.expect(d0.watch("/local/domain/5/x", "w0"), "OK\x00")
	d0.expectEvents("/local/domain/5/x w0")
	d0.expect(d0.res(xen.XSRelease, 0, "5\x00"), "OK\x00")
	d0.expectEvents("/local/domain/5/x w0", "@releaseDomain r")
	d1.expectEvents()
	if len(hooks.released) != 1 || hooks.released[0] != 5 || !c5.Closed() || s.Introduced(5) {
		t.Fatalf("RELEASE: released %v closed %v", hooks.released, c5.Closed())
	}
	if err := c5.Process(msg(xen.XSRead, 1, 0, "x\x00")); err != ErrClosed {
		t.Fatalf("closed conn Process: %v", err)
	}
	d0.expect(d0.read("/local/domain/5/x"), "!ENOENT")
	if u := s.DomainUsage(5); u != (Usage{}) {
		t.Fatalf("usage after release %+v", u)
	}
	d0.expect(d0.res(xen.XSRelease, 0, "5\x00"), "!ENOENT")

	// Granting dom1 read on @releaseDomain lets it hear the event.
	d0.expect(d0.setPerms(ReleaseDomain, "n0", "r1"), "OK\x00")
	d0.expect(d0.getPerms(ReleaseDomain), "n0,r1,")
	d1.expect(d1.setPerms(ReleaseDomain, "b1"), "!EACCES")
	d2 := newClient(t, s, 2, false)
	s.DomainShutdown(2)
	d0.expectEvents("@releaseDomain r")
	d1.expectEvents("@releaseDomain r")
	if len(hooks.notified) == 0 {
		t.Fatal("Notify not called for events queued outside a request")
	}
	s.DomainShutdown(2) // once only, until RESUME
	d0.expectEvents()
	d0.expect(d0.res(xen.XSResume, 0, "2\x00"), "OK\x00")
	s.DomainShutdown(2)
	d0.expectEvents("@releaseDomain r")
	d1.takeEvents()
	s.RemoveDomain(2)
	d0.expectEvents("@releaseDomain r")
	if !d2.c.Closed() {
		t.Fatal("RemoveDomain left the connection open")
	}
}

func TestRemoveDomainCleansUp(t *testing.T) {
	s, d0 := newTestServer(t)
	before := s.NodeCount()
	setupDomain(t, d0, "3")
	d3 := newClient(t, s, 3, false)
	d3.expect(d3.write("data/a", "1"), "OK\x00")
	d3.expect(d3.watch("data", "w"), "OK\x00")
	d3.call(xen.XSTransactionStart, 0, "\x00")
	// A dom0 node that grants domain 3 access: the entry goes with it, so a
	// future domain 3 inherits nothing.
	d0.expect(d0.write("/local/domain/0/backend/x", "1"), "OK\x00")
	d0.expect(d0.setPerms("/local/domain/0/backend/x", "n0", "b3"), "OK\x00")
	d0.expect(d0.rm("/local/domain/3"), "OK\x00") // the toolstack removes the home
	s.RemoveDomain(3)
	if u := s.DomainUsage(3); u != (Usage{}) {
		t.Fatalf("usage after RemoveDomain %+v", u)
	}
	d0.expect(d0.getPerms("/local/domain/0/backend/x"), "n0,")
	d0.expect(d0.rm("/local/domain/0"), "OK\x00")
	if s.NodeCount() != before {
		t.Fatalf("node count %d, want %d", s.NodeCount(), before)
	}
	// A domU's nodes outside its home (created where it was allowed) go too.
	d0.expect(d0.mkdir("/open"), "OK\x00")
	d0.expect(d0.setPerms("/open", "n0", "w4"), "OK\x00")
	d4 := newClient(t, s, 4, false)
	d4.expect(d4.write("/open/mine/a", "x"), "OK\x00")
	s.RemoveDomain(4)
	d0.expect(d0.dir("/open"), "")
}

// A local client that goes (Close) loses its watches and transactions and
// gets nothing more; its domain and the others carry on.
func TestConnClose(t *testing.T) {
	s, d0 := newTestServer(t)
	sock := newClient(t, s, 0, true)
	sock.expect(sock.watch("/local", "w"), "OK\x00")
	sock.call(xen.XSTransactionStart, 0, "\x00")
	if u := s.DomainUsage(0); u.Watches != 1 || u.Transactions != 1 {
		t.Fatalf("usage before Close %+v", u)
	}
	sock.c.Close()
	if u := s.DomainUsage(0); u.Watches != 0 || u.Transactions != 0 {
		t.Fatalf("usage after Close %+v", u)
	}
	d0.expect(d0.write("/local/x", "1"), "OK\x00")
	if !sock.c.Closed() || sock.c.Pending() != 0 {
		t.Fatalf("closed %v, %d bytes queued", sock.c.Closed(), sock.c.Pending())
	}
	if err := sock.c.Process(msg(xen.XSRead, 1, 0, "/local/x\x00")); err != ErrClosed {
		t.Fatalf("Process after Close: %v", err)
	}
	if !s.Introduced(0) {
		t.Fatal("dom0 forgotten")
	}
}

package xs

import (
	"strings"
	"testing"

	"gozen/xenstore"
	"gozen/xenstore/xstest"
)

func setup(t *testing.T) (dom0, domU *Client) {
	s := xenstore.NewServer(nil, xenstore.DefaultLimits, xenstore.PrivilegedLimits)
	dom0 = New(&xstest.Pipe{C: s.Connect(0, true)})
	domU = New(&xstest.Pipe{C: s.Connect(3, false)})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(dom0.Mkdir("/local/domain/3"))
	must(dom0.Write("/local/domain/3/name", "guest"))
	must(dom0.Write("/local/domain/0/name", "Domain-0"))
	must(dom0.Mkdir("/local/domain/3/control"))
	return dom0, domU
}

func TestReadWriteListAndErrors(t *testing.T) {
	dom0, domU := setup(t)
	// Nothing readable for 3 yet: the home is dom0's with no ACL.
	if _, err := domU.Read("name"); !IsErrno(err, "EACCES") {
		t.Fatalf("read before the ACL: %v, want EACCES", err)
	}
	for _, p := range []string{"/local/domain/3", "/local/domain/3/name"} {
		if err := dom0.SetPerms(p, "n0", "r3"); err != nil {
			t.Fatal(err)
		}
	}
	if v, err := domU.Read("name"); err != nil || v != "guest" {
		t.Fatalf("relative read: %q, %v", v, err)
	}
	if _, err := domU.Read("/local/domain/0/name"); !IsErrno(err, "EACCES") {
		t.Fatalf("read of dom0's name: %v, want EACCES", err)
	}
	if _, err := domU.Read("nothing"); !IsErrno(err, "ENOENT") && !IsErrno(err, "EACCES") {
		t.Fatalf("read of a missing node: %v", err)
	}
	if err := domU.Write("control/x", "1"); !IsErrno(err, "EACCES") {
		t.Fatalf("write under a read-only node: %v, want EACCES", err)
	}
	if kids, err := dom0.Directory("/local/domain"); err != nil || strings.Join(kids, ",") != "3,0" {
		t.Fatalf("directory: %q, %v", kids, err)
	}
	if p, err := dom0.Perms("/local/domain/3"); err != nil || strings.Join(p, ",") != "n0,r3" {
		t.Fatalf("perms: %q, %v", p, err)
	}
	if p, err := dom0.DomainPath(3); err != nil || p != "/local/domain/3" {
		t.Fatalf("domain path: %q, %v", p, err)
	}
	if err := dom0.Rm("/local/domain/3/control"); err != nil {
		t.Fatal(err)
	}
	if _, err := dom0.Read("/local/domain/3/control"); !IsErrno(err, "ENOENT") {
		t.Fatalf("read after rm: %v", err)
	}
	if err := dom0.Write(strings.Repeat("a", 5000), ""); err == nil {
		t.Fatal("an oversized request was sent")
	}
}

func TestWalk(t *testing.T) {
	dom0, _ := setup(t)
	var lines []string
	dom0.Walk("/local/domain/3", true, func(n Node) {
		if n.Err != nil {
			t.Fatal(n.Err)
		}
		lines = append(lines, strings.Repeat(" ", n.Depth)+n.Path+"="+n.Value+" "+strings.Join(n.Perms, ","))
	})
	if got := strings.Join(lines, "|"); got != "= n0| control= n0| name=guest n0" {
		t.Fatalf("walk: %q", got)
	}
}

// Introduce and Release reach xenstored as XS_INTRODUCE / XS_RELEASE
// from dom0 (a server with no hooks answers ENOSYS), and are refused to a
// domU.
func TestIntroduceRelease(t *testing.T) {
	dom0, domU := setup(t)
	if err := dom0.Introduce(5, 0xfeffc, 5); !IsErrno(err, "ENOSYS") {
		t.Fatalf("introduce: %v, want ENOSYS from a hookless server", err)
	}
	if err := dom0.Introduce(3, 0xfeffc, 5); err != nil {
		t.Fatalf("introduce of a connected domain: %v, want OK", err)
	}
	if err := dom0.Release(5); !IsErrno(err, "ENOENT") {
		t.Fatalf("release of an unknown domain: %v, want ENOENT", err)
	}
	if err := domU.Introduce(4, 1, 1); !IsErrno(err, "EACCES") {
		t.Fatalf("introduce from a domU: %v, want EACCES", err)
	}
	if err := domU.Release(3); !IsErrno(err, "EACCES") {
		t.Fatalf("release from a domU: %v, want EACCES", err)
	}
}

// WriteBatch keeps several requests in flight and matches the replies in
// order: every node and permission list lands, a failure in the middle
// is reported (the first one) without hiding the later writes, and the
// connection stays in step for the next call.
func TestWriteBatch(t *testing.T) {
	dom0, domU := setup(t)
	var ws []Write
	for i := range 3 * batchWindow {
		w := Write{Path: "/local/domain/3/n" + strings.Repeat("x", i), Value: "v" + strings.Repeat("y", i)}
		if i%2 == 0 {
			w.Perms = []string{"n0", "r3"}
		}
		ws = append(ws, w)
	}
	if err := dom0.WriteBatch(ws); err != nil {
		t.Fatal(err)
	}
	for i, w := range ws {
		if v, err := dom0.Read(w.Path); err != nil || v != w.Value {
			t.Fatalf("node %d: %q %v", i, v, err)
		}
		p, err := dom0.Perms(w.Path)
		if err != nil {
			t.Fatal(err)
		}
		if want := w.Perms; want != nil && strings.Join(p, ",") != strings.Join(want, ",") {
			t.Errorf("node %d perms %v, want %v", i, p, want)
		}
	}
	// domU 3 may not write dom0's nodes: the batch reports EACCES for
	// the first, and the write it may do (its own control node) is done.
	bad := []Write{{Path: "/local/domain/0/name", Value: "x"}, {Path: "/local/domain/0/other", Value: "y"}}
	if err := dom0.SetPerms("/local/domain/3/control", "n3"); err != nil {
		t.Fatal(err)
	}
	err := domU.WriteBatch(append(bad, Write{Path: "control/shutdown", Value: "poweroff"}))
	if !IsErrno(err, "EACCES") || !strings.Contains(err.Error(), "/local/domain/0/name") {
		t.Fatalf("batch with refused writes: %v", err)
	}
	if v, err := dom0.Read("/local/domain/3/control/shutdown"); err != nil || v != "poweroff" {
		t.Errorf("write after the refused ones: %q %v", v, err)
	}
	if v, err := domU.Read("control/shutdown"); err != nil || v != "poweroff" {
		t.Errorf("the connection is out of step after the batch: %q %v", v, err)
	}
}

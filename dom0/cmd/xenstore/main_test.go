package main

import (
	"bytes"
	"testing"

	"gozen/dom0/xs"
	"gozen/xenstore"
	"gozen/xenstore/xstest"
)

func TestCommands(t *testing.T) {
	s := xenstore.NewServer(nil, xenstore.DefaultLimits, xenstore.PrivilegedLimits)
	dom0 := xs.New(&xstest.Pipe{C: s.Connect(0, true)})
	guest := xs.New(&xstest.Pipe{C: s.Connect(5, false)})
	sh := func(c *xs.Client, argv ...string) (int, string, string) {
		var o, e bytes.Buffer
		verb, args := verbOf(argv)
		st := run(verb, args, c, &o, &e)
		return st, o.String(), e.String()
	}
	check := func(st int, out, errs string, wantSt int, wantOut, wantErr string) {
		t.Helper()
		if st != wantSt || out != wantOut || errs != wantErr {
			t.Errorf("status %d, out %q, err %q; want %d, %q, %q", st, out, errs, wantSt, wantOut, wantErr)
		}
	}
	st, o, e := sh(dom0, "xenstore-write", "/local/domain/5/name", "g", "/local/domain/5/control/shutdown", "")
	check(st, o, e, 0, "", "")
	st, o, e = sh(dom0, "/bin/xenstore", "ls", "-p", "/local/domain")
	check(st, o, e, 0, "5 = \"\"  (n0)\n control = \"\"  (n0)\n  shutdown = \"\"  (n0)\n name = \"g\"  (n0)\n", "")
	st, o, e = sh(dom0, "xenstore-read", "/local/domain/5/name")
	check(st, o, e, 0, "g\n", "")
	st, o, e = sh(guest, "xenstore-read", "name")
	check(st, o, e, 1, "", "xenstore-read: READ name: EACCES\n")
	st, o, e = sh(dom0, "xenstore-list", "/local/domain/5")
	check(st, o, e, 0, "name\ncontrol\n", "") // the server's order
	st, o, e = sh(dom0, "xenstore-rm", "/local/domain/5/control")
	check(st, o, e, 0, "", "")
	st, o, e = sh(dom0, "xenstore-read", "/local/domain/5/control")
	check(st, o, e, 1, "", "xenstore-read: READ /local/domain/5/control: ENOENT\n")
	if st, _, _ = sh(dom0, "xenstore-write", "odd"); st != 2 {
		t.Errorf("write with no value: status %d", st)
	}
}

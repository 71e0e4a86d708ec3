package xenstore

import (
	"strconv"
	"strings"
	"testing"

	"gozen/abi/xen"
)

func (cl *client) txStart() uint32 {
	cl.t.Helper()
	p, ok := cl.call(xen.XSTransactionStart, 0, "\x00")
	if !ok || !strings.HasSuffix(p, "\x00") {
		cl.t.Fatalf("TRANSACTION_START: %q", p)
	}
	id, err := strconv.ParseUint(strings.TrimSuffix(p, "\x00"), 10, 32)
	if err != nil || id == 0 {
		cl.t.Fatalf("transaction id %q", p)
	}
	return uint32(id)
}

func (cl *client) txEnd(id uint32, commit bool) string {
	cl.t.Helper()
	a := "F\x00"
	if commit {
		a = "T\x00"
	}
	return cl.res(xen.XSTransactionEnd, id, a)
}

func TestTransactions(t *testing.T) {
	s, d0 := newTestServer(t)
	d1 := newClient(t, s, 1, false)
	setupDomain(t, d0, "1")
	d1.expect(d1.write("data/a", "0"), "OK\x00")
	d0.expect(d0.watch("/local/domain/1/data", "w"), "OK\x00")
	d0.takeEvents()

	// A private view: writes show inside, not outside, until commit; the
	// watch fires at commit only.
	tx := d1.txStart()
	d1.expect(d1.res(xen.XSWrite, tx, "data/a\x00"+"1"), "OK\x00")
	d1.expect(d1.res(xen.XSWrite, tx, "data/new/deep\x00"+"n"), "OK\x00")
	d1.expect(d1.res(xen.XSRead, tx, "data/a\x00"), "1")
	d1.expect(d1.res(xen.XSRead, tx, "data/new/deep\x00"), "n")
	d1.expect(d1.read("data/a"), "0")
	d1.expect(d1.read("data/new"), "!ENOENT")
	d1.expect(d1.res(xen.XSDirectory, tx, "data\x00"), "a\x00new\x00")
	d0.expectEvents()
	d1.expect(d1.txEnd(tx, true), "OK\x00")
	d1.expect(d1.read("data/a"), "1")
	d1.expect(d1.read("data/new/deep"), "n")
	d0.expectEvents("/local/domain/1/data/a w", "/local/domain/1/data/new/deep w")
	d1.expect(d1.res(xen.XSRead, tx, "data/a\x00"), "!ENOENT") // ended

	// Abort leaves nothing and fires nothing.
	tx = d1.txStart()
	d1.expect(d1.res(xen.XSRm, tx, "data/new\x00"), "OK\x00")
	d1.expect(d1.res(xen.XSRead, tx, "data/new/deep\x00"), "!ENOENT")
	d1.expect(d1.txEnd(tx, false), "OK\x00")
	d1.expect(d1.read("data/new/deep"), "n")
	d0.expectEvents()

	// A conflicting write between start and commit: EAGAIN, nothing
	// applied, no events.
	tx = d1.txStart()
	d1.expect(d1.res(xen.XSRead, tx, "data/a\x00"), "1")
	d1.expect(d1.res(xen.XSWrite, tx, "data/b\x00"+"x"), "OK\x00")
	d0.expect(d0.write("/local/domain/1/data/a", "2"), "OK\x00")
	d0.takeEvents()
	d1.expect(d1.txEnd(tx, true), "!EAGAIN")
	d1.expect(d1.read("data/b"), "!ENOENT")
	d0.expectEvents()

	// Two transactions over the same node: the first commit wins.
	t1, t2 := d1.txStart(), d1.txStart()
	if t1 == t2 {
		t.Fatal("same transaction id twice")
	}
	d1.expect(d1.res(xen.XSWrite, t1, "data/a\x00"+"t1"), "OK\x00")
	d1.expect(d1.res(xen.XSWrite, t2, "data/a\x00"+"t2"), "OK\x00")
	d1.expect(d1.txEnd(t1, true), "OK\x00")
	d1.expect(d1.txEnd(t2, true), "!EAGAIN")
	d1.expect(d1.read("data/a"), "t1")
	d0.takeEvents()

	// Unrelated changes do not conflict.
	tx = d1.txStart()
	d1.expect(d1.res(xen.XSWrite, tx, "data/a\x00"+"u"), "OK\x00")
	d0.expect(d0.write("/tool/other", "1"), "OK\x00")
	d1.expect(d1.txEnd(tx, true), "OK\x00")

	// Protocol errors.
	d1.expect(d1.res(xen.XSTransactionStart, 5, "\x00"), "!EBUSY")
	tx = d1.txStart()
	d1.expect(d1.res(xen.XSTransactionEnd, tx, "X\x00"), "!EINVAL")
	d1.expect(d1.res(xen.XSTransactionEnd, tx+100, "T\x00"), "!ENOENT")
	// Permissions hold inside transactions too.
	d1.expect(d1.res(xen.XSWrite, tx, "/tool/x\x00"+"1"), "!EACCES")
	d1.expect(d1.res(xen.XSRead, tx, "/local/domain/0\x00"), "!EACCES")
	d1.expect(d1.txEnd(tx, false), "OK\x00")
	if u := s.DomainUsage(1); u.Transactions != 0 || u.TransactionBytes != 0 {
		t.Fatalf("usage after all transactions ended: %+v", u)
	}
}

func TestQuotas(t *testing.T) {
	lim := DefaultLimits
	lim.Entries = 50
	lim.Watches = 10
	lim.Transactions = 3
	lim.TransactionNodes = 40
	lim.EntrySize = 100
	lim.EventBytes = 2000
	s := NewServer(nil, lim, PrivilegedLimits)
	d0 := newClient(t, s, 0, true)
	setupDomain(t, d0, "1")
	d1 := newClient(t, s, 1, false)
	have := s.DomainUsage(1).Entries // the toolstack's rw nodes are domain 1's

	// Nodes until ENOSPC, at exactly the quota.
	made := 0
	for i := 0; i < 1000; i++ {
		if r := d1.write("data/n"+strconv.Itoa(i), "v"); r != "OK\x00" {
			if r != "!ENOSPC" {
				t.Fatalf("write %d: %q", i, r)
			}
			break
		}
		made++
	}
	if have+made != lim.Entries || s.DomainUsage(1).Entries != lim.Entries {
		t.Fatalf("made %d nodes (+%d owned), usage %+v; quota %d", made, have, s.DomainUsage(1), lim.Entries)
	}
	// Existing nodes can still be rewritten; a value over the size is ENOSPC.
	d1.expect(d1.write("data/n0", strings.Repeat("x", 100)), "OK\x00")
	d1.expect(d1.write("data/n0", strings.Repeat("x", 101)), "!ENOSPC")
	// A write creating several parents is checked as a whole.
	d1.expect(d1.rm("data/n1"), "OK\x00")
	d1.expect(d1.write("data/p/q/r", "1"), "!ENOSPC")
	d1.expect(d1.read("data/p"), "!ENOENT")
	// dom0 is not limited, even writing in the domain's home.
	for i := 0; i < 100; i++ {
		d0.expect(d0.write("/local/domain/0/x"+strconv.Itoa(i), "1"), "OK\x00")
	}

	// Watches until E2BIG.
	for i := 0; ; i++ {
		r := d1.watch("data", "t"+strconv.Itoa(i))
		if r == "!E2BIG" {
			if i != lim.Watches {
				t.Fatalf("E2BIG after %d watches, quota %d", i, lim.Watches)
			}
			break
		}
		d1.expect(r, "OK\x00")
		if i > lim.Watches {
			t.Fatal("watch quota not enforced")
		}
	}
	// Event queue bound: with nobody reading, events past EventBytes drop.
	d1.takeEvents()
	for i := 0; i < 100; i++ {
		d0.expect(d0.write("/local/domain/1/data/n2", strconv.Itoa(i)), "OK\x00")
	}
	if p := d1.c.Pending(); p > lim.EventBytes {
		t.Fatalf("%d bytes of events queued, bound %d", p, lim.EventBytes)
	}
	if d1.c.Dropped() == 0 {
		t.Fatal("no events dropped past the bound")
	}
	d1.takeEvents()

	// Transactions until ENOSPC.
	var txs []uint32
	for i := 0; i < lim.Transactions; i++ {
		txs = append(txs, d1.txStart())
	}
	d1.expect(d1.res(xen.XSTransactionStart, 0, "\x00"), "!ENOSPC")
	for _, tx := range txs[1:] {
		d1.expect(d1.txEnd(tx, false), "OK\x00")
	}
	// A transaction that touches too many nodes fails, and so does its commit.
	tx := txs[0]
	var r string
	for i := 0; i < lim.TransactionNodes+10; i++ {
		if r = d1.res(xen.XSRead, tx, "data/n"+strconv.Itoa(i+2)+"\x00"); r == "!ENOSPC" {
			break
		}
	}
	d1.expect(r, "!ENOSPC")
	d1.expect(d1.res(xen.XSRead, tx, "data/n2\x00"), "!ENOSPC")
	d1.expect(d1.txEnd(tx, true), "!ENOSPC")
	// Entries created in a transaction count too.
	d1.expect(d1.rm("data/n3"), "OK\x00")
	tx = d1.txStart()
	d1.expect(d1.res(xen.XSWrite, tx, "data/t1\x00"+"1"), "OK\x00")
	d1.expect(d1.res(xen.XSWrite, tx, "data/t2\x00"+"1"), "OK\x00")
	d1.expect(d1.res(xen.XSWrite, tx, "data/t3\x00"+"1"), "!ENOSPC") // 48 owned + 2 in the transaction
	d1.expect(d1.write("device/t4", "1"), "OK\x00")                  // live: 49, no conflict
	d1.expect(d1.txEnd(tx, true), "!ENOSPC")                         // 49 + 2 > 50
	d1.expect(d1.read("data/t1"), "!ENOENT")
}

// A hostile domain cannot pin more than its memory quota however it
// combines nodes, values, watches and transactions.
func TestMemoryBounded(t *testing.T) {
	lim := DefaultLimits
	lim.Memory = 256 << 10
	s := NewServer(nil, lim, PrivilegedLimits)
	d0 := newClient(t, s, 0, true)
	setupDomain(t, d0, "1")
	d1 := newClient(t, s, 1, false)
	long := strings.Repeat("p", 200)
	val := strings.Repeat("v", lim.EntrySize)
	fails := 0
	for i := 0; i < 2000 && fails < 50; i++ {
		if d1.write("data/"+long+strconv.Itoa(i), val) != "OK\x00" {
			fails++
		}
		if d1.watch("data/"+long+strconv.Itoa(i), strings.Repeat("t", 1000)) != "OK\x00" {
			fails++
		}
	}
	var txs []uint32
	for i := 0; i < lim.Transactions; i++ {
		txs = append(txs, d1.txStart())
	}
	for _, tx := range txs {
		for i := 0; i < 200; i++ {
			d1.res(xen.XSWrite, tx, "data/"+long+"t"+strconv.Itoa(i)+"\x00"+val)
		}
	}
	u := s.DomainUsage(1)
	total := u.NodeBytes + u.WatchBytes + u.TransactionBytes
	if total > lim.Memory+lim.EntrySize+4096 {
		t.Fatalf("domain holds %d bytes (%+v), quota %d", total, u, lim.Memory)
	}
	if u.NodeBytes < lim.Memory/4 {
		t.Fatalf("quota hit too early: %+v", u)
	}
	d1.takeEvents()
}

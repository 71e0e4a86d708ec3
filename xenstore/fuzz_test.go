package xenstore

import (
	"encoding/binary"
	"testing"

	"gozen/abi/xen"
)

// checkInvariants recounts the store and compares with the books: every
// node's parent lists it, every listed child exists, and the per-owner
// entry and byte counts match.
func checkInvariants(t testing.TB, s *Server) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	entries := map[uint32]int{}
	bytes := map[uint32]int{}
	for p, n := range s.nodes {
		if len(n.perms) == 0 {
			t.Fatalf("%s: no permissions", p)
		}
		entries[n.owner()]++
		bytes[n.owner()] += n.cost(p)
		for _, ch := range n.children {
			if s.nodes[childPath(p, ch)] == nil {
				t.Fatalf("%s lists missing child %s", p, ch)
			}
		}
		if p != "/" {
			parent := s.nodes[parentOf(p)]
			if parent == nil {
				t.Fatalf("%s has no parent", p)
			}
			found := 0
			for _, ch := range parent.children {
				if ch == baseOf(p) {
					found++
				}
			}
			if found != 1 {
				t.Fatalf("%s listed %d times by its parent", p, found)
			}
		}
	}
	for id, d := range s.doms {
		if d.entries != entries[id] || d.bytes != bytes[id] {
			t.Fatalf("domain %d books %d/%d, store %d/%d", id, d.entries, d.bytes, entries[id], bytes[id])
		}
		if d.watches < 0 || d.watchBytes < 0 || d.txs < 0 || d.txBytes < 0 {
			t.Fatalf("domain %d negative usage %+v", id, d)
		}
		w, tx := 0, 0
		for _, c := range s.conns {
			if c.domid == id {
				w += len(c.watches)
				tx += len(c.txs)
			}
		}
		if w != d.watches || tx != d.txs {
			t.Fatalf("domain %d: %d watches/%d txs counted, %d/%d held", id, d.watches, d.txs, w, tx)
		}
	}
}

var knownErrors = func() map[string]bool {
	m := map[string]bool{}
	for _, e := range xen.XsdErrors {
		m[e.Name+"\x00"] = true
	}
	return m
}()

// checkOutput takes c's output and checks it is well-formed: whole
// messages within XENSTORE_PAYLOAD_MAX, one reply per request (ids
// echoed), errors named from xs_wire.h's table, events with two strings.
func checkOutput(t testing.TB, c *Conn, reqs []xen.XsdSockmsg) {
	t.Helper()
	buf := make([]byte, c.Pending())
	n := c.ReadOutput(buf)
	b := buf[:n]
	i := 0
	for len(b) > 0 {
		var h xen.XsdSockmsg
		if h.Decode(b) != nil || h.Len > xen.XenstorePayloadMax || int(h.Len) > len(b)-16 {
			t.Fatalf("malformed output %x", b)
		}
		p := b[16 : 16+h.Len]
		b = b[16+h.Len:]
		if h.Type == xen.XSWatchEvent {
			if h.ReqID != 0 || h.TxID != 0 || len(p) < 2 || p[len(p)-1] != 0 {
				t.Fatalf("malformed event %+v %q", h, p)
			}
			continue
		}
		if i >= len(reqs) {
			t.Fatalf("extra reply %+v", h)
		}
		r := reqs[i]
		i++
		if h.ReqID != r.ReqID || h.TxID != r.TxID {
			t.Fatalf("reply %+v to %+v", h, r)
		}
		if h.Type == xen.XSError {
			if !knownErrors[string(p)] {
				t.Fatalf("error payload %q", p)
			}
		} else if h.Type != r.Type {
			t.Fatalf("reply type %d to %d", h.Type, r.Type)
		}
	}
	if i != len(reqs) {
		t.Fatalf("%d replies to %d requests", i, len(reqs))
	}
}

func fuzzServer(t testing.TB) (*Server, []*Conn) {
	lim := DefaultLimits
	lim.Entries, lim.Watches, lim.Transactions, lim.TransactionNodes, lim.Memory = 40, 8, 3, 30, 64<<10
	s := NewServer(&fakeHooks{}, lim, PrivilegedLimits)
	d0 := newClient(t, s, 0, true)
	setupDomain(t, d0, "1")
	setupDomain(t, d0, "2")
	return s, []*Conn{d0.c, s.Connect(1, false), s.Connect(2, false)}
}

// FuzzMessage sends arbitrary requests from three connections (dom0 and
// two domUs): nothing panics, every request gets one well-formed reply,
// and the store's books stay balanced.
func FuzzMessage(f *testing.F) {
	f.Add([]byte("\x01\x02\x00\x00\x00\x07\x00\x00\x00\x00\x00\x00\x00\x05\x00\x00\x00data\x00"))
	f.Add(append([]byte{1}, msg(xen.XSWrite, 1, 0, "data/a/b\x00v")...))
	f.Add(append(append([]byte{1}, msg(xen.XSTransactionStart, 1, 0, "\x00")...),
		append([]byte{1}, msg(xen.XSWrite, 2, 1, "data/x\x00y")...)...))
	f.Add(append([]byte{0}, msg(xen.XSSetPerms, 1, 0, "/local/domain/1/data\x00n2\x00r1\x00")...))
	f.Add(append([]byte{2}, msg(xen.XSWatch, 1, 0, "/local/domain/1\x00tok\x00")...))
	f.Add(append([]byte{0}, msg(xen.XSRelease, 1, 0, "1\x00")...))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, conns := fuzzServer(t)
		for len(data) > 0 {
			who := conns[int(data[0])%len(conns)]
			data = data[1:]
			var m []byte
			if len(data) < 16 {
				m, data = data, nil
			} else {
				l := int(binary.LittleEndian.Uint32(data[12:]))
				if l > len(data)-16 {
					l = len(data) - 16
				}
				m, data = data[:16+l], data[16+l:]
			}
			var h xen.XsdSockmsg
			h.Decode(m)
			err := who.Process(m)
			switch {
			case who.Closed():
				continue
			case err == nil:
				checkOutput(t, who, []xen.XsdSockmsg{h})
			case err == ErrShort || err == ErrLength || err == ErrTooLong || err == ErrClosed:
				if who.Pending() != 0 {
					t.Fatalf("framing error %v left output", err)
				}
			default:
				t.Fatalf("Process: %v", err)
			}
			for _, c := range conns {
				if !c.Closed() {
					checkOutput(t, c, nil) // others only ever get events
				}
			}
		}
		checkInvariants(t, s)
	})
}

// FuzzRing gives Service arbitrary page contents and a guest that keeps
// scribbling on the page between calls: no panic, no endless loop, and
// the server writes only where it may (rsp[] within the free space, its
// own indexes and the error and feature words), never req[] or beyond the
// interface.
func FuzzRing(f *testing.F) {
	var seed []byte
	page := make([]byte, xen.XenstoreDomainInterfaceSize)
	m := msg(xen.XSWrite, 1, 0, "data/x\x00hello")
	copy(page[1020:], m[:4])
	copy(page, m[4:])
	binary.LittleEndian.PutUint32(page[2048:], 1020)
	binary.LittleEndian.PutUint32(page[2052:], 1020+uint32(len(m)))
	binary.LittleEndian.PutUint32(page[2056:], 1000)
	binary.LittleEndian.PutUint32(page[2060:], 1000)
	seed = append(seed, page...)
	f.Add(seed)
	f.Add(append(make([]byte, 2080), 0x34, 0x08, 0x10, 0x00, 0x00, 0x00)) // req_prod = 16 between calls
	f.Add([]byte{})
	f.Fuzz(fuzzRingBody)
}

func fuzzRingBody(t *testing.T, data []byte) {
	{
		s, conns := fuzzServer(t)
		page := make([]byte, 4096)
		n := copy(page[:xen.XenstoreDomainInterfaceSize], data)
		data = data[n:]
		r, err := NewRing(page, conns[1])
		if err != nil {
			t.Fatal(err)
		}
		for round := 0; round < 64; round++ {
			before := append([]byte(nil), page...)
			rc, rp := binary.LittleEndian.Uint32(page[2056:]), binary.LittleEndian.Uint32(page[2060:])
			r.Service()
			rp2 := binary.LittleEndian.Uint32(page[2060:])
			for i := range page {
				if page[i] == before[i] {
					continue
				}
				switch {
				case i >= 1024 && i < 2048: // rsp[]: only the free part
					off := uint32(i - 1024)
					if rp-rc > 1024 || (off-(rp&1023))&1023 >= 1024-(rp-rc) {
						t.Fatalf("wrote rsp[%d] outside the free space (cons %d prod %d)", off, rc, rp)
					}
				case i >= 2048 && i < 2052, i >= 2060 && i < 2076: // req_cons, rsp_prod, features, connection, error
				case i >= 2052 && i < 2060 && before[2068] == xen.XenstoreReconnect: // reset on reconnect
				default:
					t.Fatalf("server wrote byte %d", i)
				}
			}
			if before[2068] != xen.XenstoreReconnect && rp2-rp > 1024-(rp-rc) && !r.Broken() {
				t.Fatalf("rsp_prod moved %d with %d free", rp2-rp, 1024-(rp-rc))
			}
			if len(data) < 3 {
				break
			}
			// The guest writes a byte and may bump req_prod or rsp_cons.
			off := int(binary.LittleEndian.Uint16(data)) % xen.XenstoreDomainInterfaceSize
			page[off] = data[2]
			data = data[3:]
		}
		checkInvariants(t, s)
	}
}

package xenstore

import (
	"encoding/binary"
	"strings"
	"testing"

	"gozen/abi/xen"
)

// client drives a Conn the way a guest's xenbus would, one request at a
// time, and sorts what comes back into the reply and watch events.
type client struct {
	t      testing.TB
	c      *Conn
	reqID  uint32
	events []string // "path token"
}

func newClient(t testing.TB, s *Server, domid uint32, priv bool) *client {
	return &client{t: t, c: s.Connect(domid, priv)}
}

func msg(typ, reqID, txID uint32, payload string) []byte {
	b := make([]byte, 16+len(payload))
	binary.LittleEndian.PutUint32(b[0:], typ)
	binary.LittleEndian.PutUint32(b[4:], reqID)
	binary.LittleEndian.PutUint32(b[8:], txID)
	binary.LittleEndian.PutUint32(b[12:], uint32(len(payload)))
	copy(b[16:], payload)
	return b
}

// parseMsgs splits an output stream into messages, failing on a malformed
// one.
func parseMsgs(t testing.TB, b []byte) (out []xen.XsdSockmsg, payloads []string) {
	t.Helper()
	for len(b) > 0 {
		var h xen.XsdSockmsg
		if err := h.Decode(b); err != nil {
			t.Fatalf("truncated header in output: %x", b)
		}
		if h.Len > xen.XenstorePayloadMax || int(h.Len) > len(b)-16 {
			t.Fatalf("bad output message %+v (have %d bytes)", h, len(b)-16)
		}
		out = append(out, h)
		payloads = append(payloads, string(b[16:16+h.Len]))
		b = b[16+h.Len:]
	}
	return
}

// drain takes the connection's output; it returns the replies and records
// the events.
func (cl *client) drain() (hs []xen.XsdSockmsg, ps []string) {
	cl.t.Helper()
	buf := make([]byte, cl.c.Pending())
	n := cl.c.ReadOutput(buf)
	h, p := parseMsgs(cl.t, buf[:n])
	for i := range h {
		if h[i].Type == xen.XSWatchEvent {
			if h[i].ReqID != 0 || h[i].TxID != 0 {
				cl.t.Fatalf("watch event with ids %+v", h[i])
			}
			parts := strings.Split(p[i], "\x00")
			if len(parts) != 3 || parts[2] != "" {
				cl.t.Fatalf("malformed watch event %q", p[i])
			}
			cl.events = append(cl.events, parts[0]+" "+parts[1])
			continue
		}
		hs = append(hs, h[i])
		ps = append(ps, p[i])
	}
	return
}

// call sends one request and returns the reply payload, or the error name
// (with its NUL stripped) and ok=false.
func (cl *client) call(typ, tx uint32, payload string) (string, bool) {
	cl.t.Helper()
	cl.reqID++
	if err := cl.c.Process(msg(typ, cl.reqID, tx, payload)); err != nil {
		cl.t.Fatalf("Process: %v", err)
	}
	hs, ps := cl.drain()
	if len(hs) != 1 {
		cl.t.Fatalf("request %s %q: %d replies", xen.XSTypeName(typ), payload, len(hs))
	}
	h := hs[0]
	if h.ReqID != cl.reqID || h.TxID != tx {
		cl.t.Fatalf("reply ids %d/%d, want %d/%d", h.ReqID, h.TxID, cl.reqID, tx)
	}
	if h.Type == xen.XSError {
		if !strings.HasSuffix(ps[0], "\x00") {
			cl.t.Fatalf("error payload %q not NUL-terminated", ps[0])
		}
		return strings.TrimSuffix(ps[0], "\x00"), false
	}
	if h.Type != typ {
		cl.t.Fatalf("reply type %d to %d", h.Type, typ)
	}
	return ps[0], true
}

// res formats a call's outcome as the tables want it: the payload, or
// "!ENAME".
func (cl *client) res(typ, tx uint32, payload string) string {
	cl.t.Helper()
	p, ok := cl.call(typ, tx, payload)
	if !ok {
		return "!" + p
	}
	return p
}

func (cl *client) read(path string) string { cl.t.Helper(); return cl.res(xen.XSRead, 0, path+"\x00") }
func (cl *client) write(path, v string) string {
	cl.t.Helper()
	return cl.res(xen.XSWrite, 0, path+"\x00"+v)
}
func (cl *client) mkdir(path string) string {
	cl.t.Helper()
	return cl.res(xen.XSMkdir, 0, path+"\x00")
}
func (cl *client) rm(path string) string { cl.t.Helper(); return cl.res(xen.XSRm, 0, path+"\x00") }
func (cl *client) dir(path string) string {
	cl.t.Helper()
	return strings.ReplaceAll(cl.res(xen.XSDirectory, 0, path+"\x00"), "\x00", ",")
}
func (cl *client) setPerms(path string, ps ...string) string {
	cl.t.Helper()
	return cl.res(xen.XSSetPerms, 0, path+"\x00"+strings.Join(ps, "\x00")+"\x00")
}
func (cl *client) getPerms(path string) string {
	cl.t.Helper()
	return strings.ReplaceAll(cl.res(xen.XSGetPerms, 0, path+"\x00"), "\x00", ",")
}
func (cl *client) watch(path, token string) string {
	cl.t.Helper()
	return cl.res(xen.XSWatch, 0, path+"\x00"+token+"\x00")
}
func (cl *client) unwatch(path, token string) string {
	cl.t.Helper()
	return cl.res(xen.XSUnwatch, 0, path+"\x00"+token+"\x00")
}

// takeEvents returns and clears the events seen so far (draining first).
func (cl *client) takeEvents() []string {
	cl.t.Helper()
	if hs, _ := cl.drain(); len(hs) != 0 {
		cl.t.Fatalf("unexpected replies %+v", hs)
	}
	e := cl.events
	cl.events = nil
	return e
}

func (cl *client) expect(got, want string) {
	cl.t.Helper()
	if got != want {
		cl.t.Fatalf("got %q, want %q", got, want)
	}
}

func (cl *client) expectEvents(want ...string) {
	cl.t.Helper()
	got := cl.takeEvents()
	if strings.Join(got, "|") != strings.Join(want, "|") {
		cl.t.Fatalf("events %q, want %q", got, want)
	}
}

// setupDomain makes the nodes the toolstack (libxl__domain_make) gives a
// new domain: a home dom0 owns and the domain may read, and subdirectories
// the domain may write.
func setupDomain(t testing.TB, d0 *client, id string) {
	t.Helper()
	home := "/local/domain/" + id
	d0.expect(d0.mkdir(home), "OK\x00")
	d0.expect(d0.setPerms(home, "n0", "r"+id), "OK\x00")
	for _, sub := range []string{"control/shutdown", "control/feature-poweroff", "control/feature-reboot",
		"control/sysrq", "data", "device", "memory"} {
		d0.expect(d0.mkdir(home+"/"+sub), "OK\x00")
		d0.expect(d0.setPerms(home+"/"+sub, "n"+id), "OK\x00")
	}
	d0.expect(d0.setPerms(home+"/control", "n0", "r"+id), "OK\x00")
	d0.expect(d0.write(home+"/name", "guest"+id), "OK\x00")
	d0.expect(d0.write(home+"/memory/target", "262144"), "OK\x00")
	d0.expect(d0.setPerms(home+"/memory/target", "n0", "r"+id), "OK\x00")
}

func newTestServer(t testing.TB) (*Server, *client) {
	s := NewServer(nil, DefaultLimits, PrivilegedLimits)
	return s, newClient(t, s, 0, true)
}

package event

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"testing"

	"gozen/abi/xen"
)

// fakeMem is guest memory: frames 0..n-1 are RAM, everything else is not.
type fakeMem struct {
	pages map[uint64]*[4096]byte
	snap  map[uint64]*[4096]byte
}

func newMem(n int) *fakeMem {
	m := &fakeMem{pages: make(map[uint64]*[4096]byte)}
	for i := 0; i < n; i++ {
		m.pages[uint64(i)] = new([4096]byte)
	}
	return m
}

func (m *fakeMem) Page(gfn uint64) *[4096]byte { return m.pages[gfn] }

// snapshot copies every page into the memory's one snapshot buffer (reused:
// only one snapshot per memory is live at a time) and returns it.
func (m *fakeMem) snapshot() map[uint64]*[4096]byte {
	if m.snap == nil {
		m.snap = make(map[uint64]*[4096]byte, len(m.pages))
	}
	for g, p := range m.pages {
		b := m.snap[g]
		if b == nil {
			b = new([4096]byte)
			m.snap[g] = b
		}
		*b = *p
	}
	return m.snap
}

// region is a byte range of one frame.
type region struct {
	gfn      uint64
	off, end int
}

// changed lists the bytes of m that differ from snapshot s.
func (m *fakeMem) changed(s map[uint64]*[4096]byte) []region {
	var out []region
	for g, p := range m.pages {
		old := s[g]
		if *p == *old {
			continue
		}
		for i := 0; i < 4096; i++ {
			if p[i] != old[i] {
				out = append(out, region{g, i, i + 1})
			}
		}
	}
	return out
}

// kick is one Notifier call.
type kick struct {
	h    DomainHandle
	vcpu int
}

// recorder is a Notifier and PortNotifier that logs its calls.
type recorder struct {
	kicks  []kick
	ports  []uint32
	onKick func(h DomainHandle, vcpu int)
}

func (r *recorder) Kick(h DomainHandle, vcpu int) {
	r.kicks = append(r.kicks, kick{h, vcpu})
	if r.onKick != nil {
		r.onKick(h, vcpu)
	}
}

func (r *recorder) PortPending(h DomainHandle, port uint32) { r.ports = append(r.ports, port) }

func (r *recorder) reset() { r.kicks, r.ports = nil, nil }

// env is a System with test domains.
type env struct {
	t   *testing.T
	sys *System
}

type tdom struct {
	*Domain
	mem *fakeMem
	rec *recorder
}

func newEnv(t *testing.T) *env { return &env{t: t, sys: NewSystem()} }

func (e *env) add(id uint16, vcpus, pages int, priv bool) *tdom {
	e.t.Helper()
	mem := newMem(pages)
	rec := &recorder{}
	d, err := e.sys.AddDomain(Config{ID: id, VCPUs: vcpus, Mem: mem, Notifier: rec, Handle: id, Privileged: priv})
	if err != nil {
		e.t.Fatal(err)
	}
	return &tdom{d, mem, rec}
}

// ok fails the test unless rc is 0.
func ok(t *testing.T, what string, rc int) {
	t.Helper()
	if rc != 0 {
		t.Fatalf("%s: rc %d, want 0", what, rc)
	}
}

// wantErr fails the test unless rc is -errno.
func wantErr(t *testing.T, what string, rc, errno int) {
	t.Helper()
	if rc != -errno {
		t.Fatalf("%s: rc %d, want %d", what, rc, -errno)
	}
}

// port returns a function that returns p after checking that rc is 0:
// port(t)(d.BindIPI(0)).
func port(t *testing.T) func(p uint32, rc int) uint32 {
	return func(p uint32, rc int) uint32 {
		t.Helper()
		ok(t, "bind", rc)
		return p
	}
}

// Guest views of the 2-level structures.

func bit(p *[4096]byte, base int, n uint32) bool {
	return p[base+int(n/8)]&(1<<(n%8)) != 0
}

func setBit(p *[4096]byte, base int, n uint32, v bool) {
	if v {
		p[base+int(n/8)] |= 1 << (n % 8)
	} else {
		p[base+int(n/8)] &^= 1 << (n % 8)
	}
}

func u64(b []byte) uint64 { return binary.LittleEndian.Uint64(b) }

// fifoGuest is a guest-side FIFO consumer modelled on Linux's
// evtchn_fifo_handle_events / consume_one_event.
type fifoGuest struct {
	mem    *fakeMem
	arrays []uint64
	cbGFN  uint64
	cbOff  int
	head   [xen.EvtchnFIFOMaxQueues]uint32 // Linux's per-CPU cached heads
}

func (g *fifoGuest) word(port uint32) []byte {
	if int(port/1024) >= len(g.arrays) {
		return nil
	}
	p := g.mem.Page(g.arrays[port/1024])
	if p == nil {
		return nil
	}
	o := (port % 1024) * 4
	return p[o : o+4]
}

func (g *fifoGuest) cb() []byte {
	return g.mem.Page(g.cbGFN)[g.cbOff : g.cbOff+xen.EvtchnFIFOControlBlockSize]
}

// consume handles events in priority order and returns the ports that were
// pending and unmasked (clearing their PENDING, as Linux's ack does). It
// stops after limit steps whatever the memory says.
func (g *fifoGuest) consume(limit int) []uint32 {
	var out []uint32
	cb := g.cb()
	for steps := 0; steps < limit; steps++ {
		ready := le32(cb[0:])
		if ready&0xffff == 0 {
			break
		}
		prio := uint32(bits.TrailingZeros32(ready))
		h := g.head[prio]
		if h == 0 {
			h = le32(cb[xen.EvtchnFIFOControlBlockHeadOffset+4*prio:])
		}
		w := g.word(h)
		if w == nil {
			put32(cb[0:], le32(cb[0:])&^(1<<prio))
			g.head[prio] = 0
			continue
		}
		v := le32(w)
		put32(w, v&^(FIFOLinked|xen.EvtchnFIFOLinkMask))
		next := v & xen.EvtchnFIFOLinkMask
		if next == 0 {
			put32(cb[0:], le32(cb[0:])&^(1<<prio))
		}
		if v&FIFOPending != 0 && v&FIFOMasked == 0 {
			out = append(out, h)
			put32(w, le32(w)&^FIFOPending)
		}
		g.head[prio] = next
	}
	return out
}

// check verifies the internal invariants of every table in the system.
func (s *System) check() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, d := range s.doms {
		t := d.Table
		if d.id != id || t.dom != d || t.dead {
			return fmt.Errorf("dom %d: bad registry entry", id)
		}
		if len(t.chans) == 0 || t.chans[0].state != csReserved {
			return fmt.Errorf("dom %d: port 0 not reserved", id)
		}
		if (t.fifo == nil) != (t.ops.Name() == "2-level") {
			return fmt.Errorf("dom %d: ops/fifo mismatch", id)
		}
		if t.fifo == nil && len(t.chans) > xen.Evtchn2LNrChannels {
			for p := xen.Evtchn2LNrChannels; p < len(t.chans); p++ {
				if t.chans[p].state != csFree {
					return fmt.Errorf("dom %d: port %d bound beyond 2-level range", id, p)
				}
			}
		}
		for p := range t.chans {
			ch := &t.chans[p]
			if ch.usable() && ch.vcpu >= uint32(len(t.vcpus)) {
				return fmt.Errorf("dom %d port %d: vcpu %d", id, p, ch.vcpu)
			}
			if ch.prio > xen.EvtchnFIFOPriorityMin || ch.lastPrio > xen.EvtchnFIFOPriorityMin || ch.lastVCPU >= uint32(len(t.vcpus)) {
				return fmt.Errorf("dom %d port %d: bad FIFO queue fields", id, p)
			}
			switch ch.state {
			case csInterdomain:
				r := ch.remote
				if r == nil || r.dead || s.doms[r.id] != r || r.id != ch.remoteID || !r.validPort(ch.remotePort) {
					return fmt.Errorf("dom %d port %d: bad peer", id, p)
				}
				rc := &r.chans[ch.remotePort]
				if rc.state != csInterdomain || rc.remote != d || rc.remotePort != uint32(p) {
					return fmt.Errorf("dom %d port %d: peer does not point back", id, p)
				}
			case csVIRQ:
				v := uint32(0)
				if virqKind(uint32(ch.virq)) == virqVCPU {
					v = ch.vcpu
				}
				if t.vcpus[v].virq[ch.virq] != uint32(p) {
					return fmt.Errorf("dom %d port %d: VIRQ %d not in table", id, p, ch.virq)
				}
			case csListener:
				if ch.listener == nil {
					return fmt.Errorf("dom %d port %d: listener without Listener", id, p)
				}
			}
		}
		for v := range t.vcpus {
			vs := &t.vcpus[v]
			for virq, p := range vs.virq {
				if p == 0 {
					continue
				}
				if !t.validPort(p) || t.chans[p].state != csVIRQ || int(t.chans[p].virq) != virq {
					return fmt.Errorf("dom %d vcpu %d: VIRQ %d → port %d is not that VIRQ", id, v, virq, p)
				}
			}
			if vs.infoSet && vs.infoOff > pageSize-xen.VCPUInfoSize {
				return fmt.Errorf("dom %d vcpu %d: vcpu_info offset", id, v)
			}
			if vs.cbSet && (t.fifo == nil || vs.cbOff > pageSize-xen.EvtchnFIFOControlBlockSize) {
				return fmt.Errorf("dom %d vcpu %d: control block", id, v)
			}
			for q, tail := range vs.tail {
				if tail != 0 && (t.fifo == nil || !t.validPort(tail)) {
					return fmt.Errorf("dom %d vcpu %d queue %d: tail %d", id, v, q, tail)
				}
			}
		}
		if t.fifo != nil && len(t.fifo.arrays) > fifoMaxArrayPages {
			return fmt.Errorf("dom %d: %d event-array pages", id, len(t.fifo.arrays))
		}
	}
	return nil
}

package event

import (
	"testing"

	"gozen/abi/xen"
)

// TestSnapshotFIFO: the snapshot shows each port's binding and its bits as
// guest memory has them, and the vCPU's READY word, queue head and tail.
func TestSnapshotFIFO(t *testing.T) {
	e := newEnv(t)
	d, _ := fifoDom(t, e, 1, 1)
	o := e.add(2, 1, 16, false)
	ok(t, "shared", o.SetSharedInfo(shGFN))
	a := port(t)(d.BindIPI(0))
	b := port(t)(d.BindIPI(0))
	u := port(t)(d.AllocUnbound(xen.DomIDSelf, 2))
	r := port(t)(o.BindInterdomain(1, u))
	v := port(t)(d.BindVIRQ(xen.VIRQTimer, 0))
	setWord(d, b, FIFOMasked)
	ok(t, "send a", d.Send(a))
	ok(t, "send b", d.Send(b))
	ok(t, "send remote", o.Send(r))

	s := d.Snapshot()
	if s.ABI != "FIFO" || len(s.VCPUs) != 1 || len(s.Ports) != 4 {
		t.Fatalf("snapshot %+v", s)
	}
	vc := s.VCPUs[0]
	p := xen.EvtchnFIFOPriorityDefault
	if !vc.UpcallPending || !vc.ControlBlock || vc.Ready != 1<<p || vc.Heads[p] != a || vc.Tails[p] != u {
		t.Fatalf("vcpu %+v", vc)
	}
	byPort := map[uint32]PortSnapshot{}
	for _, ps := range s.Ports {
		byPort[ps.Port] = ps
	}
	if ps := byPort[a]; ps.State != xen.EvtchnStatIPI || !ps.Pending || ps.Masked || !ps.Linked || ps.Link != u {
		t.Errorf("ipi a %+v", ps)
	}
	if ps := byPort[b]; !ps.Pending || !ps.Masked || ps.Linked {
		t.Errorf("masked b %+v", ps)
	}
	if ps := byPort[u]; ps.State != xen.EvtchnStatInterdomain || ps.RemoteDom != 2 || ps.RemotePort != r || !ps.Linked || ps.Link != 0 {
		t.Errorf("interdomain %+v", ps)
	}
	if ps := byPort[v]; ps.State != xen.EvtchnStatVirq || ps.VIRQ != xen.VIRQTimer || ps.Pending {
		t.Errorf("virq %+v", ps)
	}
}

// TestSnapshot2L: under the 2-level ABI the bits come from shared_info; a
// vCPU without vcpu_info says so.
func TestSnapshot2L(t *testing.T) {
	e := newEnv(t)
	d := e.add(1, 40, 16, false)
	ok(t, "shared", d.SetSharedInfo(shGFN))
	a := port(t)(d.BindIPI(0))
	ok(t, "send", d.Send(a))
	s := d.Snapshot()
	if s.ABI != "2-level" || len(s.Ports) != 1 || !s.Ports[0].Pending || s.Ports[0].Masked || s.Ports[0].Linked {
		t.Fatalf("snapshot %+v", s)
	}
	if !s.VCPUs[0].UpcallPending || s.VCPUs[0].NoInfo || !s.VCPUs[39].NoInfo || s.VCPUs[0].ControlBlock {
		t.Fatalf("vcpus %+v %+v", s.VCPUs[0], s.VCPUs[39])
	}
}

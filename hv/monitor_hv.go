package hv

import (
	"errors"
	"sort"

	"gozen/abi/xen"
	"gozen/hv/backend"
	"gozen/hv/x86"
	"gozen/hypercall"
)

// hvOps is the monitor's view of the Hypervisor. Its methods run on the run
// loop (console input is handled there), so they read and change domain
// state directly and call the lifecycle operations (Pause, Unpause,
// Destroy) the run loop may call.
type hvOps struct{ h *Hypervisor }

func (o hvOps) domains() []monDomain {
	ds := make([]monDomain, 0, len(o.h.domains))
	for _, d := range o.h.domains {
		m := monDomain{ID: d.id, Name: d.name, State: d.state, VCPUs: len(d.vcpus), CPUTime: d.cpuTime}
		if d.mem != nil {
			m.Mem = d.mem.Pages() * pageSize
		}
		ds = append(ds, m)
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i].ID < ds[j].ID })
	return ds
}

func (o hvOps) find(id uint16) (*Domain, error) {
	for _, d := range o.h.domains {
		if d.id == id {
			return d, nil
		}
	}
	return nil, errors.New("no such domain")
}

// errNotRunning and friends say why a command does not apply.
var (
	errNotRunning = errors.New("is not running")
	errNotPaused  = errors.New("is not paused")
)

func (o hvOps) pause(id uint16) error {
	d, err := o.find(id)
	if err != nil {
		return err
	}
	if d.state != DomainRunning {
		return errNotRunning
	}
	// What it printed so far shows now, not when it runs again.
	d.console.flush(o.h.out, d.name)
	o.h.Pause(d)
	return nil
}

func (o hvOps) unpause(id uint16) error {
	d, err := o.find(id)
	if err != nil {
		return err
	}
	if d.state != DomainPaused {
		return errNotPaused
	}
	o.h.Unpause(d)
	return nil
}

// destroy ends a domain, live or already ended, and removes it from the
// list (as xl destroy does).
func (o hvOps) destroy(id uint16) error {
	d, err := o.find(id)
	if err != nil {
		return err
	}
	d.console.flush(o.h.out, d.name)
	if err := o.h.Destroy(d); err != nil {
		return err
	}
	o.h.logf("domain %d %q destroyed from the console", d.id, d.name)
	return nil
}

func (o hvOps) shutdown(id uint16) error {
	d, err := o.find(id)
	if err != nil {
		return err
	}
	return o.h.RequestShutdown(d, "poweroff")
}

func (o hvOps) focus(id uint16) error {
	o.h.setFocus(id)
	return nil
}

func (o hvOps) host() Host { return o.h.con.host }

func (o hvOps) events(id uint16) (monEvents, error) {
	d, err := o.find(id)
	if err != nil {
		return monEvents{}, err
	}
	if d.ev == nil {
		return monEvents{}, errors.New("has no event channels")
	}
	e := monEvents{Ev: d.ev.Snapshot()}
	for _, v := range d.vcpus {
		e.VCPUs = append(e.VCPUs, monVCPU{State: v.state, RIP: v.arch.RIP(),
			IF: v.arch.RFlags()&x86.RFLAGSIF != 0, Vector: d.xen.upcallVector})
	}
	return e, nil
}

func (o hvOps) stats() []counterGroup {
	h := o.h
	var exits []Counter
	for r, n := range h.exits {
		exits = append(exits, Counter{backend.Reason(r).String(), n})
	}
	var calls []Counter
	for nr, n := range h.hc.Count {
		name := xen.HypercallName(uint64(nr))
		if nr == hypercall.HypercallGoZenOp {
			name = "gozen_op"
		}
		calls = append(calls, Counter{name, n})
	}
	var perDomain []Counter
	for _, d := range h.domains {
		var n uint64
		for _, v := range d.vcpus {
			n += v.exitCount
		}
		perDomain = append(perDomain, Counter{d.name, n})
	}
	return []counterGroup{
		{Name: "exits", Counts: nonZero(exits), Sum: true},
		{Name: "hypercalls", Counts: nonZero(calls), Sum: true},
		{Name: "exits by domain", Counts: perDomain, Sum: true},
		{Name: "idle", Counts: []Counter{{"scrub_batches", h.idleScrubs}}},
	}
}

package hv

import (
	"errors"
	"fmt"
	"gozen/abi/xen"
	"runtime"
	"time"
)

// Domain lifecycle from any goroutine.
//
// The run loop (Run) owns every vCPU, the scheduler and all domain state;
// nothing else may touch them while it runs. Lifecycle operations (create,
// pause, unpause, destroy, crash) and the List snapshot may nevertheless be
// asked for from any goroutine, through exec:
//
//   - on the goroutine that owns the state (the run loop itself: an exit or
//     hypercall handler, the console input handler; or, while Run is not
//     running, a caller holding h.owner), the operation runs at once. A
//     toolstack hypercall of one domain that pauses or destroys another is
//     such a call, and must not wait for the loop it is running on;
//   - from any other goroutine while Run runs, the operation is queued and
//     the caller waits; the run loop drains the queue between slices (and
//     wakes from idle for it), so the operation runs on the loop;
//   - while Run is not running (building domains before it, reading the
//     results after it), the caller takes h.owner and runs the operation
//     itself; Run takes h.owner for as long as it runs, so the two never
//     overlap.
//
// "On the owning goroutine" is decided by goroutine identity (goid). Go
// hides it on purpose, but here it is the one fact that tells a nested
// request (which must run directly) from a foreign one (which must queue),
// and reading it costs a runtime.Stack call and a 40-byte allocation, on a
// path that is rare (lifecycle, not exits).

// request is one queued operation; done is closed once it has run.
type request struct {
	f    func()
	done chan struct{}
}

// exec runs f on the goroutine that owns domain state and returns when it
// has run. It may be called from any goroutine, including the owner.
func (h *Hypervisor) exec(f func()) {
	g := goid()
	if h.ownerG.Load() == g {
		f()
		return
	}
	for {
		h.mu.Lock()
		if h.running {
			r := request{f, make(chan struct{})}
			h.reqs = append(h.reqs, r)
			h.mu.Unlock()
			h.kick()
			<-r.done
			return
		}
		h.mu.Unlock()
		if h.owner.TryLock() {
			h.ownerG.Store(g)
			defer func() {
				h.ownerG.Store(0)
				h.owner.Unlock()
			}()
			f()
			return
		}
		// Run is starting (it holds owner and is about to set running),
		// or another goroutine is running an operation directly.
		runtime.Gosched()
	}
}

// runRequests runs the queued operations (on the run loop). It reports
// whether there were any.
func (h *Hypervisor) runRequests() bool {
	h.mu.Lock()
	q := h.reqs
	h.reqs = nil
	h.mu.Unlock()
	for _, r := range q {
		r.f()
		close(r.done)
	}
	return len(q) > 0
}

// goid returns the current goroutine's ID, parsed from the first line of
// its stack trace ("goroutine 18 [running]:").
func goid() uint64 {
	var buf [40]byte
	n := runtime.Stack(buf[:], false)
	var id uint64
	for _, c := range buf[len("goroutine "):n] {
		if c < '0' || c > '9' {
			break
		}
		id = id*10 + uint64(c-'0')
	}
	return id
}

// Lifecycle errors.
var (
	ErrNoDomain   = errors.New("no such domain")
	ErrNotRunning = errors.New("domain is not running")
	ErrNotPaused  = errors.New("domain is not paused")
)

// DomainInfo is a snapshot of one domain, what `xl list` shows.
type DomainInfo struct {
	ID    uint16
	Name  string
	State DomainState
	// Status is the state with its reason ("shutdown (poweroff)",
	// "crashed: triple fault ...").
	Status string
	// MaxMem is the RAM the domain was built with; Mem is what it holds
	// now (less after ballooning; 0 once released).
	MaxMem, Mem uint64
	VCPUs       int
	CPUTime     time.Duration
}

// List describes every domain that has not been destroyed, in ID order
// (safe from any goroutine).
func (h *Hypervisor) List() []DomainInfo {
	var out []DomainInfo
	h.exec(func() {
		for _, d := range h.domains {
			out = append(out, d.info())
		}
	})
	return out
}

func (d *Domain) info() DomainInfo {
	i := DomainInfo{ID: d.id, Name: d.name, State: d.state, Status: d.StateString(), MaxMem: d.maxPages() * pageSize,
		VCPUs: len(d.vcpus), CPUTime: time.Duration(d.cpuTime)}
	if d.mem != nil && d.state != DomainDead && d.state != DomainShutdown && d.state != DomainCrashed {
		i.Mem = d.mem.Pages() * pageSize
	}
	return i
}

// Lookup finds a domain that has not been destroyed by ID, or nil (safe
// from any goroutine).
func (h *Hypervisor) Lookup(id uint16) *Domain {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.byID(id)
}

// LookupName finds a domain that has not been destroyed by name, or nil
// (safe from any goroutine).
func (h *Hypervisor) LookupName(name string) *Domain {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, d := range h.domains {
		if d.name == name {
			return d
		}
	}
	return nil
}

// byID finds a listed domain (h.mu held, or on the owner).
func (h *Hypervisor) byID(id uint16) *Domain {
	for _, d := range h.domains {
		if d.id == id {
			return d
		}
	}
	return nil
}

// Pause stops scheduling d's vCPUs until Unpause (Xen's
// XEN_DOMCTL_pausedomain). Safe from any goroutine, the run loop included.
func (h *Hypervisor) Pause(d *Domain) error {
	var err error
	h.exec(func() { err = h.pause(d) })
	return err
}

// Unpause lets a paused d run again. Safe from any goroutine.
func (h *Hypervisor) Unpause(d *Domain) error {
	var err error
	h.exec(func() { err = h.unpause(d) })
	return err
}

// Crash stops d as if its guest had crashed, with why as the reason (Xen's
// domain_crash from the toolstack or a debug key). Safe from any goroutine.
func (h *Hypervisor) Crash(d *Domain, why string) error {
	var err error
	h.exec(func() {
		if d == nil || (d.state != DomainRunning && d.state != DomainPaused) {
			err = ErrNotRunning
			return
		}
		h.crash(d, nil, why)
	})
	return err
}

// Destroy ends d at once if it still runs, frees what it owns (see
// release) and removes it from the domain list (Xen's
// XEN_DOMCTL_destroydomain; a shut-down or crashed domain is destroyed to
// make it disappear). Safe from any goroutine.
func (h *Hypervisor) Destroy(d *Domain) error {
	var err error
	h.exec(func() { err = h.destroy(d) })
	return err
}

func (h *Hypervisor) pause(d *Domain) error {
	if d == nil || h.byID(d.id) != d {
		return ErrNoDomain
	}
	if d.state != DomainRunning {
		return fmt.Errorf("domain %d is %s: %w", d.id, d.state, ErrNotRunning)
	}
	d.setState(DomainPaused)
	for _, v := range d.vcpus {
		switch v.state {
		case VCPURunnable, VCPURunning:
			// A running vCPU is the one whose exit asked for this: its
			// slice ends (runSlice sees the state).
			h.rq.Remove(v)
			v.state = VCPUPaused
			h.setRunstate(v, runstateOffline)
		case VCPUBlocked:
			// It stays blocked; a wake-up while paused is remembered
			// (unblock) and happens at Unpause.
		}
	}
	h.logf("domain %d %q paused", d.id, d.name)
	return nil
}

func (h *Hypervisor) unpause(d *Domain) error {
	if d == nil || h.byID(d.id) != d {
		return ErrNoDomain
	}
	if d.state != DomainPaused {
		return fmt.Errorf("domain %d is %s: %w", d.id, d.state, ErrNotPaused)
	}
	d.setState(DomainRunning)
	d.ran = true
	for _, v := range d.vcpus {
		switch {
		case v.state == VCPUPaused:
			v.state = VCPURunnable
			h.setRunstate(v, runstateRunnable)
			h.rq.Add(v)
		case v.state == VCPUBlocked && v.wakeOnUnpause:
			h.unblock(v)
		}
		v.wakeOnUnpause = false
	}
	h.logf("domain %d %q unpaused", d.id, d.name)
	h.kick()
	return nil
}

func (h *Hypervisor) destroy(d *Domain) error {
	if d == nil || h.byID(d.id) != d {
		return ErrNoDomain
	}
	if d.state == DomainRunning || d.state == DomainPaused {
		d.console.flush(h.out, d.name)
		h.logf("domain %d %q destroyed", d.id, d.name)
		d.release()
		h.unclean = true // it never shut down: CleanShutdowns remembers
	} else if d.state != DomainShutdown || d.shutdown != xen.ShutdownPoweroff {
		h.unclean = true
	}
	d.release() // a toolstack domain kept its memory until now (endDomain)
	d.setState(DomainDead)
	h.storeForget(d)
	h.unlist(d)
	h.domainException(d)
	return nil
}

// unlist removes d from h.domains. It builds a new slice, so a loop
// ranging over the old one (the caller may be inside one) is not
// disturbed.
func (h *Hypervisor) unlist(d *Domain) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ds := make([]*Domain, 0, len(h.domains))
	for _, o := range h.domains {
		if o != d {
			ds = append(ds, o)
		}
	}
	h.domains = ds
}

// setState changes d's state under h.mu, so Domain.State is safe from any
// goroutine.
func (d *Domain) setState(s DomainState) {
	d.hv.mu.Lock()
	d.state = s
	d.hv.mu.Unlock()
}

// Package hv is GoZen's arch-neutral core: domains and their vCPUs, their
// lifecycle, the run loop that schedules vCPUs on the physical CPU, and the
// handling of every guest exit (CPUID, MSRs, I/O, HLT, hypercalls, nested
// page faults, shutdowns). A hardware backend (package hv/backend's
// interface; arch/amd64/svm today) enters the guest and reports exits; the
// core decides what they mean. The core does not import a backend or rt:
// the hv program wires them in through Env.
//
// Concurrency: one goroutine, the run loop (Run), owns every vCPU and the
// scheduler and runs guests; other goroutines (the console reader, later a
// toolstack) reach domains only through the methods documented as safe:
// lifecycle operations and snapshots are carried out on the run loop
// (lifecycle.go), a few reads take h.mu.
package hv

import (
	"fmt"
	"io"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gozen/event"
	"gozen/grant"
	"gozen/hv/backend"
	"gozen/hypercall"
	"gozen/mm/npt"
	"gozen/sched"
)

// Env is what the core needs from the platform.
type Env interface {
	// Now is monotonic time in nanoseconds.
	Now() int64
	// ArmTimer asks for a host interrupt no later than deadline (Now
	// units), so a running guest exits in time; 0 cancels.
	ArmTimer(deadline int64)
	// NewGuestMemory returns empty nested page tables over the guest pool,
	// with a paging pool of poolPages frames set aside for them (the
	// domain's p2m pool; an error if that much is not free).
	NewGuestMemory(poolPages uint64) (*npt.Memory, error)
	// TSC reads the host's time-stamp counter, and TSCHz is its rate.
	// Guests see it plus the offset the core gives their vCPUs (msr.go).
	TSC() uint64
	TSCHz() uint64
	// AllocPage returns a zeroed machine frame from hv's pool for pages hv
	// shares with guests (grant-table frames); FreePage returns it (when
	// the domain owning a grant table is gone).
	AllocPage() (uint64, error)
	FreePage(pa uint64)
	// PageBytes reaches a machine frame.
	PageBytes(pa uint64) *[4096]byte
	// Scratch lends n bytes of contiguous memory outside hv's Go heap for a
	// short-lived buffer (a decompressed kernel), and a function that gives
	// it back; nil if there is no such memory, and the heap is used.
	Scratch(n uint64) (buf []byte, release func())
	// ScrubIdle clears a bounded batch of free guest-pool frames that a
	// domain left dirty, so that building the next domain writes fewer
	// (Xen's scrubbing of free pages in the idle loop). The run loop calls
	// it only when no vCPU can run. It reports whether it did any work
	// (false: nothing is left to clear).
	ScrubIdle() bool
}

// TimeSlice is how long a vCPU runs before the next runnable one gets the
// CPU.
const TimeSlice = 10 * time.Millisecond

// Hypervisor is the core.
type Hypervisor struct {
	be  backend.Backend
	env Env
	out io.Writer

	// mu guards, for other goroutines: domains (written only by the owner
	// below, which reads it without mu), the domains' state field, and
	// running and reqs.
	mu      sync.Mutex
	domains []*Domain // listed (not destroyed) domains, in creation order
	nextID  uint16
	// zombies are released domains whose memory waits until no other
	// domain maps their grants (see release).
	zombies map[uint16]*Domain
	// foreignMFNs counts dom0's foreign mappings of each machine frame
	// (toolstack.go): such a frame is never freed or given back.
	foreignMFNs map[uint64]int
	// unclean is set when a domain that had not powered off was destroyed
	// (CleanShutdowns).
	unclean bool

	// Ownership of domain state (lifecycle.go): Run holds owner while it
	// runs; otherwise a caller of exec holds it for one operation. ownerG
	// is the holder's goroutine ID. reqs are operations queued for the
	// run loop while running is set.
	owner   sync.Mutex
	ownerG  atomic.Uint64
	running bool
	reqs    []request

	// rq is the scheduler: weighted fair share with caps, per domain.
	rq   sched.FairShare[*VCPU]
	wake chan struct{}
	// input carries console keystrokes from Input to the run loop; con
	// gives them to the focused domain or hv's monitor (input.go).
	input inputQueue
	con   console
	// Guest time: pvclock scaling of the TSC from tscAnchor, shared by all
	// domains (see time.go).
	clock pvclock
	// events is the event-channel registry of all domains.
	events *event.System
	// grants is the grant-table registry of all domains.
	grants *grant.System
	// xs is the xenstore hv serves to every domain (xen_store.go).
	xs hvStore
	// wallBoot is the Unix time (ns) of system time 0 once dom0 has set
	// the clock (wallSet); before, hv's own clock says.
	wallBoot int64
	wallSet  bool
	// iommu is dom0's IOMMU (Dom0Config.IOMMU), whose event log the run
	// loop polls every iommuPollInterval, next at iommuNext.
	iommu     IOMMU
	iommuNext int64
	// Stats.
	exits      [backend.ExitUnhandled + 1]uint64
	idleScrubs uint64 // batches of freed memory cleared while idle (Env.ScrubIdle)
	// irq routes the host's device interrupts to dom0 (dom0_irq.go; nil
	// without a dom0 or a platform that offers them).
	irq *dom0IRQ
	// hc serves hypercalls (and counts them).
	hc hypercall.Dispatcher
	// stopping is a power-off or reset dom0 asked for (power.go), nil
	// until then; ShutdownGrace is how long the other domains then get to
	// shut down (0: DefaultShutdownGrace).
	stopping      *machineStop
	ShutdownGrace time.Duration
	// Debug makes the run loop print a status line every few seconds.
	Debug     bool
	lastDebug int64
	// ExitFloor (testhooks images only, exitfloor.go) makes the run loop
	// resume the guest at once after the exits of the exit benchmark.
	ExitFloor bool
}

// New makes a hypervisor over a backend. Console output (domain lines and
// hv's own log) goes to out.
func New(be backend.Backend, env Env, out io.Writer) *Hypervisor {
	h := &Hypervisor{be: be, env: env, out: out, nextID: 1, zombies: map[uint16]*Domain{}, foreignMFNs: map[uint64]int{},
		wake: make(chan struct{}, 1)}
	h.out = h.con.setup(h, out) // the console's writer keeps hv's prompt line whole
	h.hc.Info = xenInfo
	h.clock = newPVClock(env.TSC(), env.TSCHz())
	h.events = event.NewSystem()
	h.grants = grant.NewSystem(grant.Config{Frames: grantFrames{h}, OnGone: h.grantsGone})
	h.initStore()
	return h
}

func (h *Hypervisor) logf(format string, args ...any) {
	fmt.Fprintf(h.out, "hv: "+format+"\n", args...)
}

// Domains returns the domains not destroyed yet, in creation order (safe
// from any goroutine; the Domain methods other than ID, Name and State are
// for the run loop, or for after Run has returned: List gives a snapshot
// any goroutine may read).
func (h *Hypervisor) Domains() []*Domain {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]*Domain(nil), h.domains...)
}

// kick wakes the run loop if it is idle.
func (h *Hypervisor) kick() {
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// Run schedules vCPUs until no domain is left alive, then returns. It must
// be called from one goroutine only; it locks that goroutine to its thread,
// because the backend's per-CPU state (the host save area) belongs to it.
// While it runs it owns every domain: lifecycle requests from other
// goroutines are carried out here, between slices.
func (h *Hypervisor) Run() {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	h.owner.Lock()
	h.ownerG.Store(goid())
	h.mu.Lock()
	h.running = true
	h.mu.Unlock()
	defer func() {
		h.ownerG.Store(0)
		h.owner.Unlock()
	}()
	idle := time.NewTimer(time.Hour)
	defer idle.Stop()
	for {
		h.runRequests()
		now := h.env.Now()
		if h.Debug && now-h.lastDebug > 5e9 {
			h.lastDebug = now
			h.debugStatus()
		}
		h.pollIRQs(nil)
		h.fireTimers(now)
		h.checkMachineStop(now)
		h.pollIOMMU(now)
		h.pollInput()
		partial := h.flushStaleConsoles(now)
		h.announceConsole()
		v, ok := h.rq.Pick(now)
		if !ok {
			if !h.anyAlive() {
				if h.stop() {
					h.env.ArmTimer(0)
					h.con.out.closeLine() // end hv's prompt line, if it shows
					return
				}
				continue // a request came in: it may create a domain
			}
			// Nothing may run: clear freed memory a batch at a time,
			// looking for work between batches; then sleep until the next
			// vCPU timer, the end of the accounting period (capped
			// vCPUs), or a kick.
			if h.env.ScrubIdle() {
				h.idleScrubs++
				continue
			}
			d := time.Hour
			if dl, ok := h.nextTimer(); ok {
				d = time.Duration(dl - now)
			}
			if dl, ok := h.stopDeadline(); ok {
				d = min(d, time.Duration(dl-now))
			}
			if h.rq.Len() > 0 {
				d = min(d, time.Duration(h.rq.NextRefill(now)-now))
			}
			if d <= 0 {
				continue
			}
			if h.Debug && d > 5*time.Second {
				d = 5 * time.Second
			}
			if partial && d > partialFlushDelay {
				d = partialFlushDelay
			}
			idle.Reset(d)
			select {
			case <-idle.C:
			case <-h.wake: // a request, an interrupt or input (Input kicks)
				if !idle.Stop() {
					<-idle.C
				}
			}
			continue
		}
		h.runSlice(v, now)
		// Let hv's other goroutines (console, timers) have the CPU too.
		runtime.Gosched()
	}
}

// stop ends the running phase unless requests are waiting (one may create
// a domain): those run first, and the loop goes on.
func (h *Hypervisor) stop() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.reqs) > 0 {
		return false
	}
	h.running = false
	return true
}

// runSlice runs v until it blocks, its domain stops, or its slice ends.
func (h *Hypervisor) runSlice(v *VCPU, now int64) {
	start := now
	end := now + int64(TimeSlice)
	if b := h.rq.Budget(v, now); b >= 0 && now+b < end {
		end = now + max(b, 100_000) // a capped domain stops at its cap
	}
	deadline := end
	if dl, ok := h.nextTimer(); ok && dl < deadline {
		deadline = dl
	}
	h.env.ArmTimer(deadline)
	v.state = VCPURunning
	v.slices++
	h.setRunstate(v, runstateRunning)
	for v.state == VCPURunning {
		if h.pollIRQs(v) {
			break // a device interrupt woke a vCPU of dom0: let it run
		}
		h.deliverInterrupt(v)
		e := &v.exit
		v.arch.Run(e)
		for h.ExitFloor && floorExit(v, e) {
			v.arch.Run(e)
		}
		v.exitCount++
		h.exits[e.Reason]++
		h.handleExit(v, e)
		if v.state != VCPURunning {
			break
		}
		// The slice ends at its deadline (its end, or the earliest vCPU timer
		// as of its start: other vCPUs' timers cannot change while this one
		// runs), or when this vCPU's own timer, which it may just have set,
		// is due. fireTimers then sees the timer.
		now = h.env.Now()
		if now >= deadline || (v.timer != 0 && now >= v.timer) {
			break
		}
		// The APIC timer fires in place; one it just armed for earlier
		// than the deadline moves the host timer as the vCPU timer does.
		if dl, ok := v.lapic.TimerDeadline(); ok {
			if now >= dl {
				v.lapic.TimerExpire(now)
			} else if dl < deadline {
				deadline = dl
				h.env.ArmTimer(deadline)
			}
		}
		// A timer it set for earlier than the deadline moves the host
		// timer forward, so a guest that keeps running (never exits) still
		// gets its tick on time.
		if v.timer != 0 && v.timer < deadline {
			deadline = v.timer
			h.env.ArmTimer(deadline)
		}
	}
	ran := h.env.Now() - start
	h.rq.Charge(v, ran)
	v.cpuTime += ran
	v.dom.cpuTime += ran
	switch v.state {
	case VCPURunning:
		v.state = VCPURunnable
		h.setRunstate(v, runstateRunnable)
	case VCPUBlocked:
		h.rq.Remove(v)
		h.setRunstate(v, runstateBlocked)
	case VCPURunnable:
		h.setRunstate(v, runstateRunnable)
	case VCPUPaused:
		h.rq.Remove(v) // its domain was paused by its own exit
	default:
		h.rq.Remove(v)
	}
}

// fireTimers wakes blocked vCPUs whose timers are due.
func (h *Hypervisor) fireTimers(now int64) {
	for _, d := range h.domains {
		for _, v := range d.vcpus {
			if v.timer != 0 && now >= v.timer {
				v.timer = 0
				if v.xen.xenTimer {
					v.xen.xenTimer = false
					h.raiseTimer(v) // VIRQ_TIMER; wakes v through kickVCPU
					continue
				}
				v.timerFired = true
				if v.state == VCPUBlocked {
					h.unblock(v)
				}
			}
			if dl, ok := v.lapic.TimerDeadline(); ok && now >= dl && v.lapic.TimerExpire(now) {
				h.kickVCPU(v)
			}
			if v.xen.pollTimer != 0 && now >= v.xen.pollTimer {
				v.xen.pollTimer = 0 // SCHEDOP_poll timed out: return 0
				if v.xen.polling && v.state == VCPUBlocked {
					h.unblock(v)
				}
			}
		}
	}
}

func (h *Hypervisor) nextTimer() (int64, bool) {
	var best int64
	ok := false
	for _, d := range h.domains {
		for _, v := range d.vcpus {
			live := v.state == VCPUBlocked || v.state == VCPURunnable || v.state == VCPURunning
			if v.timer != 0 && live && (!ok || v.timer < best) {
				best, ok = v.timer, true
			}
			if v.xen.pollTimer != 0 && live && (!ok || v.xen.pollTimer < best) {
				best, ok = v.xen.pollTimer, true
			}
			if dl, on := v.lapic.TimerDeadline(); on && live && (!ok || dl < best) {
				best, ok = dl, true
			}
		}
	}
	return best, ok
}

// kickVCPU is called when an event becomes pending for v: a blocked vCPU
// wakes; a runnable one takes the upcall on its next entry.
func (h *Hypervisor) kickVCPU(v *VCPU) {
	if v.state == VCPUBlocked {
		h.unblock(v)
	}
}

func (h *Hypervisor) unblock(v *VCPU) {
	if v.state == VCPUBlocked && v.dom.state == DomainPaused {
		v.wakeOnUnpause = true // Unpause wakes it
		return
	}
	if v.state == VCPUBlocked && v.dom.state == DomainRunning {
		v.xen.polling, v.xen.pollTimer = false, 0
		v.state = VCPURunnable
		h.rq.Add(v)
	}
}

func (h *Hypervisor) anyAlive() bool {
	for _, d := range h.domains {
		if d.state == DomainRunning || d.state == DomainPaused {
			return true
		}
	}
	return false
}

// Summary describes every domain, one line each, as `xl list` does (safe
// from any goroutine). Mem is the RAM the domain was built with.
func (h *Hypervisor) Summary() string {
	var b strings.Builder
	ds := h.List()
	sort.Slice(ds, func(i, j int) bool { return ds[i].ID < ds[j].ID })
	fmt.Fprintf(&b, "%-4s %-16s %8s %6s %9s  %s\n", "ID", "Name", "Mem(MiB)", "VCPUs", "Time(s)", "State")
	for _, d := range ds {
		fmt.Fprintf(&b, "%-4d %-16s %8d %6d %9.1f  %s\n", d.ID, d.Name, d.MaxMem>>20, d.VCPUs, d.CPUTime.Seconds(), d.Status)
	}
	return b.String()
}

// ExitStats reports exit counts by reason.
func (h *Hypervisor) ExitStats() string {
	var parts []string
	for r, n := range h.exits {
		if n != 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", backend.Reason(r), n))
		}
	}
	return strings.Join(parts, " ")
}

// TotalExits is the number of guest exits handled so far.
func (h *Hypervisor) TotalExits() uint64 {
	var n uint64
	for _, c := range h.exits {
		n += c
	}
	return n
}

// debugStatus prints where every vCPU is, for loglvl=debug.
func (h *Hypervisor) debugStatus() {
	fmt.Fprintf(h.out, "hv: debug: exits %s\n", h.ExitStats())
	var hc []string
	for nr, n := range h.hc.Count {
		if n != 0 {
			hc = append(hc, fmt.Sprintf("%d:%d", nr, n))
		}
	}
	fmt.Fprintf(h.out, "hv: debug: hypercalls %s vcpu_op %v\n", strings.Join(hc, " "), h.hc.VCPUOpCount)
	for _, d := range h.domains {
		for _, v := range d.vcpus {
			if v.state == VCPUDead {
				continue
			}
			fmt.Fprintf(h.out, "hv: debug: d%d v%d state %d rip %#x rflags %#x timer %d (now %d) upcall %v vector %#x\n",
				d.id, v.id, v.state, v.arch.RIP(), v.arch.RFlags(), v.timer, h.env.Now(), v.upcallPending(), d.xen.upcallVector)
		}
	}
}

// flushStaleConsoles prints unfinished console lines that have waited long
// enough, and reports whether any unfinished line is still waiting.
func (h *Hypervisor) flushStaleConsoles(now int64) bool {
	waiting := false
	for _, d := range h.domains {
		if len(d.console.buf) == 0 {
			continue
		}
		if now-d.console.touched >= partialFlushDelay {
			d.console.flush(h.out, d.name)
		} else {
			waiting = true
		}
	}
	return waiting
}

package hv

import (
	"errors"
	"fmt"
	"strings"

	"gozen/event"
	"gozen/grant"

	"gozen/abi/xen"
	"gozen/hv/backend"
	"gozen/loader"
	"gozen/mm/npt"
	"gozen/sched"
)

// DomainState is a domain's lifecycle state.
type DomainState int

// Domain states.
const (
	DomainBuilding DomainState = iota
	DomainRunning
	DomainPaused
	DomainShutdown // the guest asked to stop (see ShutdownReason)
	DomainCrashed  // hv stopped it (see CrashReason)
	DomainDead     // resources released
)

var domainStateNames = [...]string{"building", "running", "paused", "shutdown", "crashed", "dead"}

func (s DomainState) String() string { return domainStateNames[s] }

// Shutdown reasons (Xen's SHUTDOWN_*).
const (
	ShutdownPoweroff = 0
	ShutdownReboot   = 1
	ShutdownSuspend  = 2
	ShutdownCrash    = 3
	ShutdownWatchdog = 4
)

var shutdownNames = [...]string{"poweroff", "reboot", "suspend", "crash", "watchdog"}

// ShutdownName names a shutdown reason.
func ShutdownName(r uint32) string {
	if int(r) < len(shutdownNames) {
		return shutdownNames[r]
	}
	return fmt.Sprintf("reason %d", r)
}

// VCPUState is a vCPU's scheduling state.
type VCPUState int

// vCPU states.
const (
	VCPURunnable VCPUState = iota // waiting for the CPU
	VCPURunning                   // in the guest (or handling its exit)
	VCPUBlocked                   // halted until a timer or an event
	VCPUPaused                    // its domain is paused
	VCPUDown                      // not started (secondary vCPUs before bring-up)
	VCPUDead
)

// Domain is a guest.
type Domain struct {
	hv       *Hypervisor
	id       uint16
	name     string
	memSize  uint64
	mem      *npt.Memory
	vcpus    []*VCPU
	state    DomainState
	shutdown uint32
	crash    string
	console  lineBuffer
	// Reports from the test ABI (gozen_op report), by key.
	reports map[uint32][]uint32
	xen     xenDomain
	cpuTime int64 // ns its vCPUs ran
	ev      *event.Domain
	gnt     *grant.Domain
	io      domainIO // port I/O: PIT channel 2, exit counts (portcount.go)
}

// ID is the domain ID.
func (d *Domain) ID() uint16 { return d.id }

// Name is the domain's name.
func (d *Domain) Name() string { return d.name }

// State is the domain's state.
func (d *Domain) State() DomainState { return d.state }

// StateString describes the state with its reason.
func (d *Domain) StateString() string {
	switch d.state {
	case DomainShutdown:
		return "shutdown (" + ShutdownName(d.shutdown) + ")"
	case DomainCrashed:
		return "crashed: " + d.crash
	}
	return d.state.String()
}

// VCPU is one virtual CPU of a domain.
type VCPU struct {
	id         int
	dom        *Domain
	arch       backend.VCPU
	state      VCPUState
	timer      int64 // one-shot timer deadline (Env.Now units); 0 = none
	timerFired bool  // the timer fired since the vCPU last halted
	exitCount  uint64
	slices     uint64
	cpuTime    int64    // ns spent running
	insn       [15]byte // instruction fetch buffer
	xen        xenVCPU
	lapic      lapic
}

// DomainConfig describes a domain to build.
type DomainConfig struct {
	Name    string
	Mem     uint64
	VCPUs   int
	Kernel  []byte // a PVH ELF image, or a Linux bzImage holding one
	Cmdline string
	Ramdisk []byte // optional initial ramdisk (start_info module 0)
	// Weight (1..65535, default 256) and Cap (percent of one CPU, 0 for
	// none) set the domain's CPU share, as in Xen's credit scheduler.
	Weight, Cap int
}

// CreateDomain builds a domain from a PVH kernel image and starts it. On
// error nothing of the domain remains and the error says what was wrong
// with it; other domains are unaffected.
func (h *Hypervisor) CreateDomain(cfg DomainConfig) (*Domain, error) {
	if cfg.VCPUs < 1 {
		cfg.VCPUs = 1
	}
	if cfg.Mem%4096 != 0 {
		cfg.Mem = (cfg.Mem + 4095) &^ 4095
	}
	kernel := cfg.Kernel
	if loader.IsBzImage(kernel) {
		vmlinux, release, err := h.extractVmlinux(cfg.Name, kernel)
		if err != nil {
			return nil, fmt.Errorf("kernel image: %w", err)
		}
		defer release() // the segments are in guest memory by then
		kernel = vmlinux
	}
	img, err := loader.ParseELF(kernel)
	if err != nil {
		return nil, fmt.Errorf("kernel image: %w", err)
	}
	if err := img.Check(cfg.Mem, loader.LowLoadLimit); err != nil {
		return nil, fmt.Errorf("kernel image: %w", err)
	}
	mem, err := h.env.NewGuestMemory()
	if err != nil {
		return nil, err
	}
	if err := mem.Populate(cfg.Mem); err != nil {
		mem.Release()
		if errors.Is(err, npt.ErrNoMemory) {
			return nil, fmt.Errorf("not enough free guest memory for %d MiB", cfg.Mem>>20)
		}
		return nil, err
	}
	d := &Domain{hv: h, name: cfg.Name, memSize: cfg.Mem, mem: mem, state: DomainBuilding, reports: map[uint32][]uint32{}}
	fail := func(err error) (*Domain, error) {
		d.release()
		return nil, err
	}
	for _, s := range img.Segments {
		if err := mem.WritePhys(s.Paddr, s.Data); err != nil {
			return fail(fmt.Errorf("loading segment at %#x: %w", s.Paddr, err))
		}
		if s.Memsz > uint64(len(s.Data)) {
			if err := mem.Zero(s.Paddr+uint64(len(s.Data)), s.Memsz-uint64(len(s.Data))); err != nil {
				return fail(err)
			}
		}
	}
	var mods []loader.ModulePlacement
	if cfg.Ramdisk != nil {
		mods, err = img.PlaceModules(cfg.Mem, []loader.Module{{Data: cfg.Ramdisk}})
		if err != nil {
			return fail(fmt.Errorf("ramdisk: %w", err))
		}
		if err := mem.WritePhys(mods[0].Paddr, cfg.Ramdisk); err != nil {
			return fail(fmt.Errorf("ramdisk: %w", err))
		}
	}
	bi, err := writeBootInfo(mem, cfg, mods)
	if err != nil {
		return fail(err)
	}
	for i := 0; i < cfg.VCPUs; i++ {
		a, err := h.be.NewVCPU(mem.Root())
		if err != nil {
			return fail(err)
		}
		v := &VCPU{id: i, dom: d, arch: a, state: VCPUDown}
		v.lapic.reset(i)
		if i == 0 {
			a.SetPVHEntry(img.Entry32, bi.StartInfo)
			v.state = VCPURunnable
		}
		d.vcpus = append(d.vcpus, v)
	}
	h.mu.Lock()
	d.id = h.nextID
	h.nextID++
	h.mu.Unlock()
	if err := h.addEvents(d); err != nil {
		return fail(fmt.Errorf("event channels: %w", err))
	}
	if err := h.addGrants(d); err != nil {
		return fail(fmt.Errorf("grant table: %w", err))
	}
	if err := h.setupXen(d); err != nil {
		return fail(err)
	}
	h.mu.Lock()
	h.domains = append(h.domains, d)
	h.mu.Unlock()
	weight := uint64(cfg.Weight)
	if weight == 0 {
		weight = sched.DefaultWeight
	}
	h.rq.SetGroup(int(d.id), weight, uint64(cfg.Cap))
	for _, v := range d.vcpus {
		h.rq.Join(v, int(d.id))
	}
	d.state = DomainRunning
	h.rq.Add(d.vcpus[0])
	h.kick()
	h.logf("domain %d %q: %d MiB (%d x 2 MiB pages), %d vCPU(s), PVH entry %#x, cmdline %q",
		d.id, d.name, cfg.Mem>>20, mem.BigPages(), cfg.VCPUs, img.Entry32, cfg.Cmdline)
	return d, nil
}

var _ = xen.HVMStartInfoMagic

// extractVmlinux decompresses the ELF kernel inside bzImage bz. It goes to
// Env's scratch memory when there is some, since hv's own heap is small
// (a distribution vmlinux is over 60 MiB), and otherwise to the heap.
// release gives the memory back; nothing may use vmlinux after it.
func (h *Hypervisor) extractVmlinux(name string, bz []byte) (vmlinux []byte, release func(), err error) {
	t0 := h.env.Now()
	n, err := loader.VmlinuxSize(bz)
	if err != nil {
		return nil, nil, err
	}
	buf, release := h.env.Scratch(uint64(n))
	if buf == nil {
		buf, release = make([]byte, n), func() {}
	}
	if err := loader.ExtractVmlinuxInto(bz, buf); err != nil {
		release()
		return nil, nil, err
	}
	h.logf("domain %q: bzImage of %d bytes decompressed to a %d-byte vmlinux in %d ms",
		name, len(bz), n, (h.env.Now()-t0)/1e6)
	return buf, release, nil
}

// release frees the domain's hardware structures and memory.
func (d *Domain) release() {
	for _, v := range d.vcpus {
		d.hv.rq.Leave(v)
		v.state = VCPUDead
		v.arch.Destroy()
	}
	if d.ev != nil {
		d.hv.events.RemoveDomain(d.ev)
		d.ev = nil
	}
	if d.gnt != nil {
		// Other domains' grants this one mapped are undone. If others still
		// map this domain's grants, its grant state lingers (as a Xen
		// zombie) until they let go; its RAM is released below only when
		// nothing is mapped (see releaseMemory).
		lingering := d.hv.grants.ReleaseDomain(d.gnt)
		d.gnt = nil
		if lingering {
			// Its pages are still mapped by other domains: keep them (and
			// the nested tables) rather than hand them to someone else.
			d.hv.logf("domain %d %q: keeping its memory while other domains map its grants", d.id, d.name)
			return
		}
	}
	if d.mem != nil {
		d.mem.Release()
		d.mem = nil
	}
}

// crashDomain stops d because of something its guest did, with a log line
// that says what; hv and the other domains carry on.
func (h *Hypervisor) crashDomain(v *VCPU, why string) {
	d := v.dom
	if d.state != DomainRunning && d.state != DomainPaused {
		return
	}
	d.console.flush(h.out, d.name)
	h.logf("domain %d %q crashed: %s", d.id, d.name, why)
	h.logPortExits(d)
	fmt.Fprintf(h.out, "hv: vcpu %d state: %s\n", v.id, indent(v.arch.Dump()))
	d.state = DomainCrashed
	d.crash = why
	d.release()
	d.state = DomainCrashed
}

// shutdownDomain ends d at its guest's request.
func (h *Hypervisor) shutdownDomain(d *Domain, reason uint32) {
	if d.state != DomainRunning && d.state != DomainPaused {
		return
	}
	d.console.flush(h.out, d.name)
	h.logf("domain %d %q shut down: %s", d.id, d.name, ShutdownName(reason))
	h.logPortExits(d)
	h.logCPUTimes()
	d.state = DomainShutdown
	d.shutdown = reason
	d.release()
}

// Pause stops scheduling d's vCPUs (safe from the run loop only for now).
func (h *Hypervisor) Pause(d *Domain) {
	if d.state != DomainRunning {
		return
	}
	d.state = DomainPaused
	for _, v := range d.vcpus {
		if v.state == VCPURunnable || v.state == VCPURunning || v.state == VCPUBlocked {
			h.rq.Remove(v)
			v.state = VCPUPaused
		}
	}
}

// Unpause lets d's vCPUs run again.
func (h *Hypervisor) Unpause(d *Domain) {
	if d.state != DomainPaused {
		return
	}
	d.state = DomainRunning
	for _, v := range d.vcpus {
		if v.state == VCPUPaused {
			v.state = VCPURunnable
			h.rq.Add(v)
		}
	}
	h.kick()
}

// Destroy ends d at once.
func (h *Hypervisor) Destroy(d *Domain) {
	if d.state == DomainDead {
		return
	}
	d.release()
	d.state = DomainDead
}

// CleanShutdowns reports whether every domain that ended shut down with
// poweroff.
func (h *Hypervisor) CleanShutdowns() bool {
	for _, d := range h.Domains() {
		if d.state != DomainShutdown || d.shutdown != ShutdownPoweroff {
			return false
		}
	}
	return true
}

func indent(s string) string { return strings.ReplaceAll(s, "\n", "\n    ") }

// Report returns the values a domain reported through the test ABI under key.
func (d *Domain) Report(key uint32) []uint32 { return d.reports[key] }

// CPUTime is how long d's vCPUs have run.
func (d *Domain) CPUTime() int64 { return d.cpuTime }

// logCPUTimes prints how much CPU every domain has had so far.
func (h *Hypervisor) logCPUTimes() {
	line := "CPU time so far:"
	for _, o := range h.domains {
		line += fmt.Sprintf(" %s %.3fs", o.name, float64(o.cpuTime)/1e9)
	}
	h.logf("%s", line)
}

package hv

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unsafe"

	"gozen/abi/xen"
	"gozen/hv/backend"
	"gozen/hv/x86"
	"gozen/mm"
	"gozen/mm/npt"
)

// Lifecycle tests: requests from other goroutines and from the run loop,
// and the accounting of every frame a domain owned.

// yieldForever is a guest that yields the CPU at every exit, for ever: it
// keeps its domain runnable with short slices.
func yieldForever(v *fakeVCPU) backend.Exit {
	v.rip = 0x100000
	v.regs[x86.RAX] = xen.HypercallSchedOp
	v.regs[x86.RBX] = xen.SchedOpYield
	return backend.Exit{Reason: backend.ExitHypercall, InsnLen: 3}
}

// runAsync starts h.Run on its own goroutine; the returned function waits
// for it to return (failing the test after timeout).
func runAsync(t *testing.T, h *Hypervisor) (wait func(timeout time.Duration)) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.Run()
	}()
	return func(timeout time.Duration) {
		select {
		case <-done:
		case <-time.After(timeout):
			t.Fatal("Run did not return")
		}
	}
}

func infoOf(h *Hypervisor, id uint16) (DomainInfo, bool) {
	for _, i := range h.List() {
		if i.ID == id {
			return i, true
		}
	}
	return DomainInfo{}, false
}

// waitCPU waits until domain id has run more than ns in total.
func waitCPU(t *testing.T, h *Hypervisor, id uint16, ns time.Duration) DomainInfo {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if i, ok := infoOf(h, id); ok && i.CPUTime > ns {
			return i
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("domain %d did not run past %v", id, ns)
	return DomainInfo{}
}

// Pause, unpause, crash, create and destroy, each asked from the test's
// goroutine while Run runs domains on its own.
func TestLifecycleFromAnotherGoroutine(t *testing.T) {
	h, be, out := newTestHV()
	be.forever = yieldForever
	code := append([]byte{}, insnVMMCALL...)
	a, errA := h.CreateDomain(DomainConfig{Name: "a", Mem: 4 << 20, Kernel: pvhELF(code)})
	b, errB := h.CreateDomain(DomainConfig{Name: "b", Mem: 4 << 20, Kernel: pvhELF(code)})
	if errA != nil || errB != nil {
		t.Fatal(errA, errB)
	}
	wait := runAsync(t, h)
	if h.LookupName("b") != b || h.Lookup(a.ID()) != a || h.LookupName("nobody") != nil {
		t.Error("Lookup/LookupName do not find the domains")
	}

	waitCPU(t, h, a.ID(), 0)
	if err := h.Pause(a); err != nil {
		t.Fatal("pause:", err)
	}
	if a.State() != DomainPaused {
		t.Fatalf("state after Pause: %s", a.State())
	}
	if err := h.Pause(a); !errors.Is(err, ErrNotRunning) {
		t.Errorf("second Pause: %v, want ErrNotRunning", err)
	}
	frozen, _ := infoOf(h, a.ID())
	// b goes on running; a does not run at all while paused.
	bNow, _ := infoOf(h, b.ID())
	waitCPU(t, h, b.ID(), bNow.CPUTime+time.Millisecond)
	if i, _ := infoOf(h, a.ID()); i.CPUTime != frozen.CPUTime || i.State != DomainPaused || i.Status != "paused" {
		t.Errorf("paused domain: %+v, CPU time was %v when paused", i, frozen.CPUTime)
	}
	if err := h.Unpause(a); err != nil {
		t.Fatal("unpause:", err)
	}
	if err := h.Unpause(a); !errors.Is(err, ErrNotPaused) {
		t.Errorf("second Unpause: %v, want ErrNotPaused", err)
	}
	waitCPU(t, h, a.ID(), frozen.CPUTime+time.Millisecond)

	// A domain created while the others run gets the CPU too.
	c, err := h.CreateDomain(DomainConfig{Name: "c", Mem: 4 << 20, Kernel: pvhELF(code)})
	if err != nil {
		t.Fatal("create while running:", err)
	}
	waitCPU(t, h, c.ID(), time.Millisecond)

	if err := h.Crash(a, "asked by the test"); err != nil {
		t.Fatal("crash:", err)
	}
	if i, _ := infoOf(h, a.ID()); i.State != DomainCrashed || i.Status != "crashed: asked by the test" || i.Mem != 0 {
		t.Errorf("crashed domain: %+v", i)
	}
	if err := h.Crash(a, "again"); !errors.Is(err, ErrNotRunning) {
		t.Errorf("crashing a crashed domain: %v", err)
	}
	for _, d := range []*Domain{a, b, c} {
		if err := h.Destroy(d); err != nil {
			t.Fatalf("destroy %s: %v", d.Name(), err)
		}
		if _, ok := infoOf(h, d.ID()); ok {
			t.Errorf("destroyed domain %s still listed", d.Name())
		}
	}
	wait(20 * time.Second) // nothing left alive: Run returns
	if err := h.Pause(b); !errors.Is(err, ErrNoDomain) {
		t.Errorf("pausing a destroyed domain: %v", err)
	}
	if be.live != 0 {
		t.Errorf("%d vCPUs not destroyed", be.live)
	}
	for _, want := range []string{`domain 1 "a" paused`, `domain 1 "a" unpaused`, `domain 1 "a" crashed: asked by the test`,
		`domain 2 "b" destroyed`, `domain 3 "c" destroyed`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("log lacks %q", want)
		}
	}
}

// A request made on the run loop itself (here from a guest's exit, as a
// toolstack hypercall will) runs at once instead of waiting for the loop
// it is on.
func TestLifecycleFromTheRunLoop(t *testing.T) {
	var errs []error
	var victim *Domain
	var states []DomainState
	ctl := []step{
		func(v *fakeVCPU) backend.Exit {
			h := victim.hv
			errs = append(errs, h.Pause(victim))
			states = append(states, victim.state)
			errs = append(errs, h.Unpause(victim))
			states = append(states, victim.state)
			errs = append(errs, h.Destroy(victim))
			states = append(states, victim.state)
			_ = h.List() // a snapshot from the loop, too
			return backend.Exit{Reason: backend.ExitNone}
		},
		callXen(xen.HypercallSchedOp, xen.SchedOpShutdown, 0x100003),
	}
	h, be, _ := newTestHV(ctl)
	be.forever = yieldForever
	code := append(append([]byte{}, insnVMMCALL...), 0, 0, 0, 0)
	if _, err := h.CreateDomain(DomainConfig{Name: "ctl", Mem: 4 << 20, Kernel: pvhELF(code)}); err != nil {
		t.Fatal(err)
	}
	var err error
	if victim, err = h.CreateDomain(DomainConfig{Name: "victim", Mem: 4 << 20, Kernel: pvhELF(code)}); err != nil {
		t.Fatal(err)
	}
	runAsync(t, h)(20 * time.Second)
	want := []DomainState{DomainPaused, DomainRunning, DomainDead}
	if fmt.Sprint(errs) != "[<nil> <nil> <nil>]" || fmt.Sprint(states) != fmt.Sprint(want) {
		t.Errorf("errors %v, states %v; want no errors and %v", errs, states, want)
	}
}

// A blocked vCPU stays blocked through a pause; a wake-up that arrives
// while its domain is paused is kept for Unpause.
func TestPauseKeepsBlockedVCPUsBlocked(t *testing.T) {
	h, _, _ := newTestHV()
	d, err := h.CreateDomain(DomainConfig{Name: "p", Mem: 4 << 20, Kernel: pvhELF(insnHLT)})
	if err != nil {
		t.Fatal(err)
	}
	v := d.vcpus[0]
	h.rq.Remove(v)
	v.state = VCPUBlocked
	if err := h.Pause(d); err != nil {
		t.Fatal(err)
	}
	if err := h.Unpause(d); err != nil {
		t.Fatal(err)
	}
	if v.state != VCPUBlocked || h.rq.Contains(v) {
		t.Fatalf("blocked vCPU woken by a pause/unpause: state %d", v.state)
	}
	h.Pause(d)
	h.kickVCPU(v) // an event while paused
	if v.state != VCPUBlocked || h.rq.Contains(v) {
		t.Fatal("a paused domain's vCPU was made runnable")
	}
	h.Unpause(d)
	if v.state != VCPURunnable || !h.rq.Contains(v) {
		t.Errorf("wake-up during the pause lost: state %d", v.state)
	}
}

// poolEnv is an Env over real memory code: the guest pool is an
// mm.FrameAllocator over a window of Go memory, hv's pool (nested page
// tables, grant-table frames, the fake backend's per-vCPU pages) a
// fakeMachine whose live frames are counted.
type poolEnv struct {
	fakeEnv
	guest  mm.FrameAllocator
	window []byte
	base   uint64
}

const poolBase = 1 << 40

func newPoolEnv(t *testing.T, size uint64) *poolEnv {
	e := &poolEnv{fakeEnv: fakeEnv{m: &fakeMachine{frames: map[uint64]*[4096]byte{}, next: 1 << 30}, noScratch: true}, base: poolBase}
	e.window = make([]byte, size)
	if err := e.guest.Init("guest", poolBase, poolBase+size, make([]uint64, mm.BitmapWords(poolBase, poolBase+size))); err != nil {
		t.Fatal(err)
	}
	e.guest.AddFree(poolBase, poolBase+size)
	return e
}

func (e *poolEnv) inPool(pa uint64) bool { return pa >= e.base && pa < e.base+uint64(len(e.window)) }

// Alloc and Free are npt.Frames over the guest pool; frames come zeroed.
func (e *poolEnv) Alloc(n, align uint64) (uint64, bool) {
	pa, ok := e.guest.AllocContig(n, align)
	if ok {
		clear(e.window[pa-e.base : pa-e.base+n*4096])
	}
	return pa, ok
}
func (e *poolEnv) Free(pa, n uint64) {
	if err := e.guest.FreeContig(pa, n); err != nil {
		panic(fmt.Sprintf("guest pool: bad free of %d frames at %#x: %v", n, pa, err))
	}
}

func (e *poolEnv) Bytes(pa, n uint64) []byte {
	if e.inPool(pa) {
		return e.window[pa-e.base : pa-e.base+n]
	}
	return e.m.Bytes(pa, n)
}

func (e *poolEnv) PageBytes(pa uint64) *[4096]byte {
	if e.inPool(pa) {
		return (*[4096]byte)(e.window[pa-e.base:])
	}
	return e.m.frames[pa]
}

// NewGuestMemory gives each domain a paging pool from the guest pool, as
// cmd/hv does, so its nested tables come back to the guest pool too.
func (e *poolEnv) NewGuestMemory(poolPages uint64) (*npt.Memory, error) {
	p, err := npt.NewPool(e, e, poolPages)
	if err != nil {
		return nil, err
	}
	return npt.NewWithPool(npt.NPT, p, e, e)
}

// Table is npt.TableMemory over the guest pool's window.
func (e *poolEnv) Table(pa uint64) *[512]uint64 {
	return (*[512]uint64)(unsafe.Pointer(&e.window[pa-e.base]))
}

func (e *poolEnv) freeGuest() uint64 { _, free := e.guest.Stats(); return free }

func newPoolHV(t *testing.T, size uint64) (*Hypervisor, *fakeBackend, *poolEnv) {
	env := newPoolEnv(t, size)
	be := &fakeBackend{frames: env.m}
	return New(be, env, &bytes.Buffer{}), be, env
}

// grantPage makes d grant its frame gfn to domain to, at grant ref ref
// (d's guest writing its grant table).
func grantPage(t *testing.T, d *Domain, ref uint32, to uint16, gfn uint32) {
	t.Helper()
	mfn, err := d.gnt.FrameMFN(0)
	if err != nil {
		t.Fatal(err)
	}
	p := d.hv.env.PageBytes(mfn * pageSize)
	e := (*[2]uint32)(unsafe.Pointer(&p[ref*xen.GrantEntryV1Size]))
	e[1] = gfn
	e[0] = xen.GTFPermitAccess | uint32(to)<<16
}

// mapGrant maps from's grant ref at gfn of d through the hypercall path.
func mapGrant(t *testing.T, d *Domain, from uint16, ref uint32, gfn uint64) uint32 {
	t.Helper()
	ops := []xen.GnttabMapGrantRef{{HostAddr: gfn * pageSize, Flags: xen.GNTMAPHostMap, Ref: ref, Dom: from}}
	(*grantTables)(d).Map(ops)
	if ops[0].Status != xen.GNTSTOkay {
		t.Fatalf("map: status %d", ops[0].Status)
	}
	return ops[0].Handle
}

func unmapGrant(t *testing.T, d *Domain, gfn uint64, handle uint32) {
	t.Helper()
	ops := []xen.GnttabUnmapGrantRef{{HostAddr: gfn * pageSize, Handle: handle}}
	(*grantTables)(d).Unmap(ops)
	if ops[0].Status != xen.GNTSTOkay {
		t.Fatalf("unmap: status %d", ops[0].Status)
	}
}

// Creating and destroying 1,000 pairs of domains, which set up shared_info,
// grow their grant tables, bind event channels to each other and (every
// tenth pair) map each other's grants, destroyed in either order, leaves
// the guest pool and hv's pool exactly where they started, and domain IDs
// wrap without reusing one that is still in use.
func TestCreateDestroyThousandDomainsFreesEverything(t *testing.T) {
	h, be, env := newPoolHV(t, 32<<20)
	guest0, hv0 := env.freeGuest(), len(env.m.frames)
	h.nextID = xen.DomIDFirstReserved - 300 // IDs wrap around during the test
	code := append([]byte{}, insnVMMCALL...)
	const hostGFN = 0x8000 // where a grant is mapped: beyond the 4 MiB of RAM
	for i := 0; i < 1000; i++ {
		var ds [2]*Domain
		for j := range ds {
			d, err := h.CreateDomain(DomainConfig{Name: fmt.Sprintf("d%d", i), Mem: 4 << 20, VCPUs: 2, Kernel: pvhELF(code)})
			if err != nil {
				t.Fatalf("pair %d: %v", i, err)
			}
			if d.id == 0 || d.id >= xen.DomIDFirstReserved {
				t.Fatalf("domain ID %#x", d.id)
			}
			if e := h.mapSharedInfo(d, 0x10); e != 0 {
				t.Fatal("shared_info:", e)
			}
			if e := h.mapGrantFrame(d, 2, 0x9000); e != 0 { // grows the table to 3 frames
				t.Fatal("grant frame:", e)
			}
			ds[j] = d
		}
		a, b := ds[0], ds[1]
		if a.id == b.id {
			t.Fatalf("two domains with ID %d", a.id)
		}
		port, e := a.ev.AllocUnbound(a.id, b.id)
		if e != 0 {
			t.Fatal("alloc unbound:", e)
		}
		if _, e := b.ev.BindInterdomain(a.id, port); e != 0 {
			t.Fatal("bind interdomain:", e)
		}
		first, second := a, b
		if i%2 == 1 {
			first, second = b, a
		}
		if i%10 == 0 {
			// second maps a page of first's: first's memory outlives it.
			grantPage(t, first, 7, second.id, 0x20)
			mapGrant(t, second, first.id, 7, hostGFN)
			h.Destroy(first)
			if h.zombies[first.id] != first || first.mem == nil {
				t.Fatalf("pair %d: mapped memory of destroyed domain %d not kept", i, first.id)
			}
			// Its ID stays taken while it is a zombie.
			c, err := h.CreateDomain(DomainConfig{Name: "c", Mem: 4 << 20, Kernel: pvhELF(code)})
			if err != nil {
				t.Fatal(err)
			}
			if c.id == first.id {
				t.Fatalf("zombie's ID %d given to a new domain", c.id)
			}
			h.Destroy(c)
		} else {
			h.Destroy(first)
		}
		h.Destroy(second)
		if first.state != DomainDead || first.mem != nil || second.mem != nil {
			t.Fatalf("pair %d: state %s, memory kept: %v %v", i, first.state, first.mem != nil, second.mem != nil)
		}
	}
	if g, m := env.freeGuest(), len(env.m.frames); g != guest0 || m != hv0 {
		t.Errorf("after 1000 pairs: guest pool %d free frames (was %d), hv pool %d frames in use (was %d)", g, guest0, m, hv0)
	}
	if len(h.Domains()) != 0 || len(h.zombies) != 0 || be.live != 0 || h.rq.Len() != 0 {
		t.Errorf("left behind: %d domains, %d zombies, %d vCPUs, %d runnable", len(h.Domains()), len(h.zombies), be.live, h.rq.Len())
	}
	for id := uint16(1); id < 400; id++ {
		if h.grants.Domain(id) != nil {
			t.Fatalf("grant state of domain %d left behind", id)
		}
	}
}

// Domain a's page is mapped by b through a grant. Destroying a keeps its
// memory (b still reads a's data there); when b unmaps, a's RAM, nested
// page tables and grant-table frames are freed.
func TestGrantMappedMemoryIsFreedAtLastUnmap(t *testing.T) {
	h, _, env := newPoolHV(t, 16<<20)
	guest0, hv0 := env.freeGuest(), len(env.m.frames)
	code := append([]byte{}, insnVMMCALL...)
	a, err := h.CreateDomain(DomainConfig{Name: "a", Mem: 4 << 20, Kernel: pvhELF(code)})
	if err != nil {
		t.Fatal(err)
	}
	b, err := h.CreateDomain(DomainConfig{Name: "b", Mem: 4 << 20, Kernel: pvhELF(code)})
	if err != nil {
		t.Fatal(err)
	}
	guestB := env.freeGuest()
	a.mem.WritePhys(0x30*pageSize, []byte("a's data"))
	grantPage(t, a, 3, b.id, 0x30)
	const at = 0x8000
	handle := mapGrant(t, b, a.id, 3, at)

	hvBefore := len(env.m.frames)
	aPool := a.P2MPool().Total
	if err := h.Destroy(a); err != nil {
		t.Fatal(err)
	}
	if a.State() != DomainDead || h.Lookup(a.id) != nil {
		t.Fatalf("destroyed domain: state %s, still listed %v", a.State(), h.Lookup(a.id) != nil)
	}
	if g := env.freeGuest(); g != guestB {
		t.Errorf("guest pool: %d frames freed while b maps a's page", g-guestB)
	}
	// Only a's vCPU page went back to hv's pool: its grant frames are kept
	// (and its nested page tables, in its paging pool in the guest pool).
	if m := len(env.m.frames); m != hvBefore-1 {
		t.Errorf("hv pool: %d frames in use after destroy, want %d", m, hvBefore-1)
	}
	got := make([]byte, 8)
	if err := b.mem.ReadPhys(at*pageSize, got); err != nil || string(got) != "a's data" {
		t.Errorf("b reads %q (%v) through its mapping", got, err)
	}

	unmapGrant(t, b, at, handle)
	// a's RAM and its paging pool (its nested tables) come back together.
	if g, want := env.freeGuest(), guestB+(4<<20)/pageSize+aPool; g != want {
		t.Errorf("guest pool after the last unmap: %d frames freed, want a's %d (RAM and p2m pool)", g-guestB, want-guestB)
	}
	if len(h.zombies) != 0 || h.grants.Domain(a.id) != nil {
		t.Error("a still a zombie after the last unmap")
	}
	h.Destroy(b)
	if g, m := env.freeGuest(), len(env.m.frames); g != guest0 || m != hv0 {
		t.Errorf("guest pool %d free (was %d), hv pool %d in use (was %d)", g, guest0, m, hv0)
	}
}

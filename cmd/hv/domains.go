package main

import (
	"fmt"
	"os"
	"runtime"
	"time"
	"unsafe"

	"gozen/bootparam"
	"gozen/hv"
	"gozen/mm/npt"
	"gozen/rt"
)

// platform is hv's Env and the backends' memory source, over rt. paging is
// the backend's nested page-table format, which guest memory is built in.
type platform struct{ paging npt.Format }

func (platform) Now() int64              { return rt.Nanotime() }
func (platform) ArmTimer(deadline int64) { rt.ArmTimer(deadline) }

func (platform) TSC() uint64   { return rt.ReadTSC() }
func (platform) TSCHz() uint64 { return rt.TSCHz() }

// AllocPage serves pages a guest makes hv allocate (grant-table frames).
// They come from hv's pool, but only while it keeps its reserve: the Go
// heap grows into the same pool, and running it dry would stop hv (rt
// treats a failed demand fault as fatal). Below the reserve the guest's
// call fails instead.
func (platform) AllocPage() (uint64, error) {
	if !hvPoolAboveReserve(1) {
		return 0, fmt.Errorf("hv's pool is down to its reserve")
	}
	pa, ok := rt.AllocHVFrames(1, 1)
	if !ok {
		return 0, fmt.Errorf("out of hv memory")
	}
	return pa, nil
}

// hvReserve is the part of hv's pool (of pool bytes) that guest-driven
// allocations may not take: an eighth of the pool, at least 4 MiB, left
// for the Go heap and hv's own structures (VMCBs, its page tables).
func hvReserve(pool uint64) uint64 { return max(pool/8, 4<<20) }

// leavesReserve reports whether n more frames can come from a pool of pool
// bytes with free bytes free and leave its reserve.
func leavesReserve(free, pool, n uint64) bool {
	return free >= n*4096 && free-n*4096 >= hvReserve(pool)
}

func hvPoolAboveReserve(n uint64) bool {
	m := rt.ReadMemStats()
	return leavesReserve(m.HVFree, m.HVPool, n)
}
func (platform) FreePage(pa uint64) { rt.FreeHVFrames(pa, 1) }
func (platform) PageBytes(pa uint64) *[4096]byte {
	return (*[4096]byte)(unsafe.Pointer(uintptr(pa)))
}

// Scratch lends frames of the guest pool, which is many times the size of
// hv's: a decompressed kernel waits there until its segments are loaded.
func (platform) Scratch(n uint64) ([]byte, func()) {
	frames := (n + 4095) / 4096
	pa, ok := rt.AllocGuestFrames(frames, 1)
	if !ok {
		return nil, nil
	}
	return directMap{}.Bytes(pa, n), func() { rt.FreeGuestFrames(pa, frames) }
}

// ScrubIdle clears 32 freed guest frames (128 KiB) a call: under
// emulation a batch takes a fraction of a millisecond, short enough for
// the run loop to notice new work between batches.
func (platform) ScrubIdle() bool { return rt.ScrubGuestFrames(32) }

// NewGuestMemory gives a domain nested page tables whose pages come from
// its own paging pool, set aside from the guest pool (as Xen's p2m pool
// comes from the domain heap): hv's small pool, which the Go heap shares,
// never pays for a guest's tables.
func (p platform) NewGuestMemory(poolPages uint64) (*npt.Memory, error) {
	pool, err := npt.NewPool(guestFrames{}, directTables{}, poolPages)
	if err != nil {
		return nil, err
	}
	return npt.NewWithPool(p.paging, pool, guestFrames{}, directMap{})
}

// hvFrames hands out frames from hv's pool (hardware structures).
type hvFrames struct{}

func (hvFrames) Alloc(n, align uint64) (uint64, bool) { return rt.AllocHVFrames(n, align) }
func (hvFrames) Free(pa, n uint64)                    { rt.FreeHVFrames(pa, n) }

// guestFrames hands out guest RAM from the guest pool.
type guestFrames struct{}

func (guestFrames) Alloc(n, align uint64) (uint64, bool) { return rt.AllocGuestFrames(n, align) }
func (guestFrames) Free(pa, n uint64)                    { rt.FreeGuestFrames(pa, n) }
func (guestFrames) FreeZeroed(pa, n uint64)              { rt.FreeGuestFramesZeroed(pa, n) }

// directTables reaches table pages through the direct map.
type directTables struct{}

func (directTables) Table(pa uint64) *[512]uint64 {
	return (*[512]uint64)(unsafe.Pointer(uintptr(pa)))
}

// directMap reaches machine memory: the direct map is an identity map.
type directMap struct{}

func (directMap) Bytes(pa, n uint64) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(uintptr(pa))), n)
}

// lendableModules returns, by module number, the machine address of each
// boot module hv may give to the one domU that uses it as RAM in place of a
// copy (hv.DomainConfig.KernelAt), 0 for the others: modules used by dom0,
// by more than one domain or twice by one, and those moduleImages moved
// (their copy is scratch memory, given back after the build): a module is
// where the loader put it, starts[i], or was moved. Boot modules
// are reserved frames no allocator hands out, so once lent they are the
// domain's alone; they are not reclaimed when it ends, as unlent modules
// are not.
func lendableModules(specs []bootparam.DomainSpec, mods [][]byte, starts []uint64) []uint64 {
	uses := make([]int, len(mods))
	dom0 := make([]bool, len(mods))
	for _, s := range specs {
		for _, i := range []int{s.Module, s.Ramdisk} {
			if i >= 0 && i < len(mods) {
				uses[i]++
				dom0[i] = dom0[i] || s.Dom0
			}
		}
	}
	at := make([]uint64, len(mods))
	for i, start := range starts {
		if i >= len(mods) || uses[i] != 1 || dom0[i] || len(mods[i]) == 0 {
			continue
		}
		if uint64(uintptr(unsafe.Pointer(&mods[i][0]))) == start {
			at[i] = start
		}
	}
	return at
}

// runDomains builds the domains the command line asks for from boot modules
// and runs them until every one has ended. It returns hv's exit code.
func runDomains(specs []bootparam.DomainSpec, debug bool) uint8 {
	be, err := newBackend()
	if err != nil {
		fmt.Println("hv: cannot run domains:", err)
		return rt.ExitBadBoot
	}
	h := hv.New(be, platform{paging: be.PagingFormat()}, os.Stdout)
	h.Debug = debug
	h.ExitFloor = exitFloor // testhooks images only (exitfloor)
	h.SetHost(host{})
	mods, releaseMods, err := moduleImages()
	if err != nil {
		fmt.Println("hv: boot error:", err)
		return rt.ExitBadBoot
	}
	var starts []uint64
	for _, m := range rt.Modules() {
		starts = append(starts, m.Start)
	}
	at := lendableModules(specs, mods, starts)
	started := 0
	hasDom0 := false
	for _, s := range specs {
		hasDom0 = hasDom0 || s.Dom0
	}
	for _, s := range specs {
		if s.Module >= len(mods) {
			fmt.Printf("hv: domain %s: module %d does not exist (%d boot modules)\n", s.Name, s.Module, len(mods))
			if s.Dom0 {
				return rt.ExitBadBoot
			}
			continue
		}
		image := mods[s.Module]
		cmdline := rt.ModuleCmdline(s.Module)
		var ramdisk []byte
		if s.Ramdisk >= 0 {
			if s.Ramdisk >= len(mods) {
				fmt.Printf("hv: domain %s: ramdisk module %d does not exist\n", s.Name, s.Ramdisk)
				if s.Dom0 {
					return rt.ExitBadBoot
				}
				continue
			}
			ramdisk = mods[s.Ramdisk]
		}
		cfg := hv.DomainConfig{Name: s.Name, Mem: s.Mem, VCPUs: s.VCPUs, Kernel: image, Cmdline: cmdline, Ramdisk: ramdisk, Weight: s.Weight, Cap: s.Cap, P2MPool: s.P2MPool,
			XenstoreInDom0: s.XenstoreInDom0}
		if s.XenstoreInDom0 && !hasDom0 {
			// Nobody would ever connect its xenstore: hv serves it.
			fmt.Printf("hv: domain %s: xenstore=dom0 without dom0=: hv serves its xenstore\n", s.Name)
			cfg.XenstoreInDom0 = false
		}
		cfg.KernelAt = at[s.Module]
		if s.Ramdisk >= 0 {
			cfg.RamdiskAt = at[s.Ramdisk]
		}
		if s.Dom0 {
			cfg.Dom0 = dom0Config()
		}
		if _, err := h.CreateDomain(cfg); err != nil {
			fmt.Printf("hv: domain %s: %v\n", s.Name, err)
			if s.Dom0 {
				// The machine's owner is missing: nothing sensible runs.
				fmt.Println("hv: boot error: dom0 could not be built")
				return rt.ExitBadBoot
			}
			continue
		}
		started++
	}
	releaseMods()
	if started == 0 {
		fmt.Println("hv: no domain could be started")
		return rt.ExitFailure
	}
	go forwardInput(h)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	t0 := rt.Nanotime()
	h.Run()
	elapsed := float64(rt.Nanotime()-t0) / 1e9
	runtime.ReadMemStats(&after)
	fmt.Print(h.Summary())
	n := h.TotalExits()
	fmt.Printf("hv: %d exits in %.2fs (%.0f/s): %s\n", n, elapsed, float64(n)/elapsed, h.ExitStats())
	fmt.Printf("hv: %d heap allocations while domains ran (%.4f per exit)\n",
		after.Mallocs-before.Mallocs, float64(after.Mallocs-before.Mallocs)/float64(max(n, 1)))
	m := rt.ReadMemStats()
	where := "above"
	if m.HVFree < hvReserve(m.HVPool) {
		where = "BELOW"
	}
	fmt.Printf("hv: hv pool %d KiB free of %d KiB, %s its reserve of %d KiB; guest pool %d KiB free of %d KiB\n",
		m.HVFree>>10, m.HVPool>>10, where, hvReserve(m.HVPool)>>10, m.GuestFree>>10, m.GuestPool>>10)
	switch a, how := h.Machine(); a {
	case hv.MachinePowerOff:
		fmt.Printf("hv: dom0 turned the machine off (%s)\n", how)
		rt.PowerOff(machinePower.pm1, true)
	case hv.MachineReboot:
		fmt.Printf("hv: dom0 reset the machine (%s)\n", how)
		rt.Reset(machinePower.reset, rt.ResetACPI)
	}
	if h.CleanShutdowns() {
		fmt.Println("hv: all domains have shut down")
		return rt.ExitSuccess
	}
	fmt.Println("hv: all domains have ended, not all cleanly")
	return rt.ExitFailure
}

// host tells hv's console (its mem and stats commands) about the machine,
// from rt and the Go runtime.
type host struct{}

func (host) Memory() hv.HostMemory {
	m := rt.ReadMemStats()
	var g runtime.MemStats
	runtime.ReadMemStats(&g) // stops the world briefly: a person asked
	return hv.HostMemory{HVPool: m.HVPool, HVFree: m.HVFree, GuestPool: m.GuestPool, GuestFree: m.GuestFree,
		HeapInUse: g.HeapInuse, HeapSys: g.HeapSys}
}

func (host) Counters() []hv.Counter {
	c := rt.ReadCounters()
	m := rt.ReadMemStats()
	return []hv.Counter{{Name: "traps", Value: c.Traps}, {Name: "syscalls", Value: c.Syscalls},
		{Name: "timer_irqs", Value: c.TimerIRQs}, {Name: "hv_timer_fired", Value: c.HVTimerFired}, {Name: "switches", Value: c.Switches},
		{Name: "threads", Value: uint64(c.Threads)}, {Name: "pages_faulted", Value: m.PagesFaulted}}
}

// forwardInput passes serial-console keystrokes to the hypervisor, which
// gives them to the focused domain. The console hands out one byte a read,
// so it collects what is waiting before queueing it: one queue entry a
// byte filled hv's input queue (64 entries) with a pasted line while the
// run loop was busy in a guest, and the rest of the line was dropped.
func forwardInput(h *hv.Hypervisor) {
	buf := make([]byte, 256)
	for {
		n := 0
		for n < len(buf) {
			k, _ := os.Stdin.Read(buf[n:])
			if k <= 0 {
				break // no byte waiting (EAGAIN)
			}
			n += k
		}
		if n > 0 {
			h.Input(buf[:n])
			continue
		}
		time.Sleep(10 * time.Millisecond) // poll again shortly
	}
}

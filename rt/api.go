package rt

import (
	"unsafe"

	"gozen/mm"
	"strings"

	"gozen/arch/amd64"
	"gozen/boot/multiboot"
	"gozen/bootparam"
)

// This file is rt's surface for hv code running as ordinary Go.

// Stop ends the machine with an exit code (ExitSuccess, ExitFailure,
// ExitBadBoot, ExitFatal): under QEMU with isa-debug-exit, QEMU exits with
// status 2*code+1; on hardware the CPU halts.
func Stop(code uint8) {
	amd64.DisableInterrupts()
	stop(code)
}

// BootError reports bad boot input found after the runtime started (for
// example an unknown command-line option) and stops with ExitBadBoot.
func BootError(msg string) {
	amd64.DisableInterrupts()
	bootError(msg)
}

// Cmdline returns the hv command line with the boot image's path removed.
func Cmdline() string {
	return strings.TrimSpace(string(stripImage()))
}

func stripImage() []byte {
	return bootparam.StripImageName(BootInfo.Cmdline(), BootInfo.LoaderName())
}

// Modules returns the boot modules.
func Modules() []multiboot.Module { return BootInfo.Modules[:BootInfo.NModules] }

// MemStats describes physical memory.
type MemStats struct {
	TotalRAM     uint64 // bytes of RAM in the memory map (usable, ACPI)
	UsableRAM    uint64 // usable bytes after hv's image, modules and low memory
	HVPool       uint64 // bytes in hv's pool (page tables, Go heap)
	HVFree       uint64
	GuestPool    uint64 // bytes kept for guest domains
	GuestFree    uint64
	PagesFaulted uint64 // demand-paged 4 KiB pages so far
}

// ReadMemStats reports physical memory use.
func ReadMemStats() MemStats {
	amd64.DisableInterrupts()
	defer amd64.EnableInterrupts()
	var s MemStats
	for i := 0; i < BootInfo.NRegions; i++ {
		r := BootInfo.Regions[i]
		if r.Type == multiboot.RegionUsable || r.Type == multiboot.RegionACPIReclaimable || r.Type == multiboot.RegionACPINVS {
			s.TotalRAM += r.Len
		}
	}
	s.UsableRAM = usableTotal
	t, f := HVFrames.Stats()
	s.HVPool, s.HVFree = t*pageSize, f*pageSize
	t, f = GuestFrames.Stats()
	s.GuestPool, s.GuestFree = t*pageSize, f*pageSize
	s.PagesFaulted = pagesFaulted
	return s
}

// Counters are trap statistics.
type Counters struct {
	Traps, Syscalls, TimerIRQs, Switches uint64
	HVTimerFired                         uint64 // ArmTimer deadlines reached
	DeviceIRQs                           uint64 // device interrupts taken for dom0 (irq.go)
	Threads                              int
}

// ReadCounters returns trap statistics.
func ReadCounters() Counters {
	amd64.DisableInterrupts()
	defer amd64.EnableInterrupts()
	return Counters{Traps: nTraps, Syscalls: nSyscalls, TimerIRQs: nTimerIRQs, Switches: nSwitches, HVTimerFired: nHVTimerFired, DeviceIRQs: nDeviceIRQs, Threads: threads.Live()}
}

// CPU returns the CPU features found at boot.
func CPU() amd64.Features { return features }

// LoaderName is the boot loader's name from the multiboot information.
func LoaderName() string { return string(BootInfo.LoaderName()) }

// Physical memory for hv code. Frames come zeroed (scrubbed on allocation:
// a frame freed by one user never reaches the next with its data) and are
// reached through the direct map: a frame's virtual address equals its
// physical address.
// Interrupts are held off while the allocators are touched, because trap
// context (demand paging) uses the hv pool too.

// AllocHVFrames returns n contiguous zeroed frames from hv's pool, aligned
// to align frames (a power of two; 1 for none).
func AllocHVFrames(n, align uint64) (uint64, bool) {
	return allocFrames(&HVFrames, n, align)
}

// FreeHVFrames returns frames from AllocHVFrames.
func FreeHVFrames(pa, n uint64) {
	amd64.DisableInterrupts()
	HVFrames.FreeContig(pa, n)
	amd64.EnableInterrupts()
}

// AllocGuestFrames returns n contiguous zeroed frames from the guest pool.
func AllocGuestFrames(n, align uint64) (uint64, bool) {
	return allocFrames(&GuestFrames, n, align)
}

// FreeGuestFrames returns frames from AllocGuestFrames.
func FreeGuestFrames(pa, n uint64) {
	amd64.DisableInterrupts()
	if GuestFrames.FreeContig(pa, n) == nil {
		guestScrubPending = true
	}
	amd64.EnableInterrupts()
}

// FreeGuestFramesZeroed returns frames from AllocGuestFrames that their
// holder never wrote: they stay clean (mm.FrameAllocator.FreeContigZeroed),
// so neither the idle scrub nor the next allocation writes them.
func FreeGuestFramesZeroed(pa, n uint64) {
	amd64.DisableInterrupts()
	GuestFrames.FreeContigZeroed(pa, n)
	amd64.EnableInterrupts()
}

// guestScrubPending says the guest pool may hold frames given back dirty:
// set by every free, cleared when ScrubGuestFrames finds none left.
// Touched with interrupts held off.
var guestScrubPending bool

// ScrubGuestFrames zeroes up to max free guest-pool frames that a domain
// (or hv's scratch use) gave back dirty (mm.FrameAllocator.ScrubFree;
// boot RAM of unknown contents is left to allocation), so that handing them out later writes
// nothing, and reports whether it zeroed any. Interrupts are held off for
// the batch: keep max small (a few dozen frames).
func ScrubGuestFrames(max uint64) bool {
	amd64.DisableInterrupts()
	defer amd64.EnableInterrupts()
	if !guestScrubPending {
		return false
	}
	n, more := GuestFrames.ScrubFree(max, directPage)
	if !more {
		guestScrubPending = false
	}
	return n > 0
}

func allocFrames(a *mm.FrameAllocator, n, align uint64) (uint64, bool) {
	if n == 0 {
		return 0, false
	}
	amd64.DisableInterrupts()
	var pa uint64
	var ok bool
	if n == 1 && align <= 1 {
		pa, ok = a.Alloc()
	} else {
		pa, ok = a.AllocContig(n, align)
	}
	amd64.EnableInterrupts()
	if ok {
		// Only dirty frames are cleared: frames known to be zero
		// (bootscrub=off) stay untouched, so building a domain writes
		// just its kernel, ramdisk and boot structures.
		a.ScrubAllocated(pa, n, directPage)
	}
	return pa, ok
}

func directPage(pa uint64) *[mm.PageSize]byte {
	return (*[mm.PageSize]byte)(unsafe.Pointer(uintptr(pa)))
}

// ModuleCmdline returns boot module i's command line without the module's
// file name when the loader put it first (QEMU does; GRUB does not).
func ModuleCmdline(i int) string {
	if i < 0 || i >= BootInfo.NModules {
		return ""
	}
	return strings.TrimSpace(string(bootparam.StripImageName(BootInfo.Modules[i].Cmdline(), BootInfo.LoaderName())))
}

// ReadTSC returns the time-stamp counter, which guests see unchanged (hv
// sets no TSC offset).
func ReadTSC() uint64 { return amd64.Rdtsc() }

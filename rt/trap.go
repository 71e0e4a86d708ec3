package rt

import (
	"unsafe"

	"gozen/arch/amd64"
	"gozen/rt/fd"
	"gozen/rt/thread"
)

// Scheduler state (trap context only).
var (
	threads    thread.Table
	fds        fd.Table
	curSlot    = idleSlot
	sliceEnd   int64
	yieldReq   bool
	needResult [thread.Max]bool // woken thread's blocking call result goes to RAX
	started    bool             // the Go runtime is running
	// Counters.
	nTraps, nSyscalls, nTimerIRQs, nSwitches, nHVTimerFired uint64
)

func setCurrent(slot int) {
	if slot != curSlot {
		nSwitches++
	}
	curSlot = slot
	curFrame = uintptr(unsafe.Pointer(&frames[slot]))
	curFx = fxArea(slot)
	curFS = fsBase[slot]
}

// trap is called by trapCommon on the kernel stack with the interrupted
// context saved in frames[curSlot].
func trap() {
	nTraps++
	f := &frames[curSlot]
	switch v := f.Vector; {
	case v == vectorSyscall:
		nSyscalls++
		doSyscall(f)
	case v == vectorTimer:
		nTimerIRQs++
		armedAt = 0
		lapicEOI()
	case v == vectorSpurious:
	case v < 32:
		exception(f)
	case v >= 0x20 && v < 0x30:
		// A legacy PIC line (all masked): spurious, ignore.
	case v >= IRQVectorFirst && v <= IRQVectorLast:
		deviceIRQ(v) // a device's interrupt, for dom0 (irq.go)
	default:
		if logLevel >= logDebug {
			kprint("rt: unexpected interrupt vector ")
			kprintDec(int64(v))
			kprint("\n")
		}
		lapicEOI()
	}
	schedule()
}

// schedule picks the context to resume and programs the timer.
func schedule() {
	now := Nanotime()
	threads.Expire(now)
	if hvDeadline != 0 && now >= hvDeadline {
		hvDeadline = 0
		nHVTimerFired++
	}
	next := -1
	if cur := curSlot; cur != idleSlot {
		switch threads.T[cur].State {
		case thread.Runnable:
			if (yieldReq || now >= sliceEnd) && threads.Queued() > 0 {
				threads.Requeue(cur)
			} else {
				next = cur
			}
		case thread.Dead:
			threads.Reap(cur)
		}
	}
	yieldReq = false
	if next < 0 {
		if s, ok := threads.Next(); ok {
			next = s
			sliceEnd = now + timeSliceNs
		} else {
			next = idleSlot
			if started && threads.Live() == 0 {
				kprint("hv: fatal: every thread of the Go runtime has exited\n")
				stop(ExitFatal)
			}
		}
	}
	if next != idleSlot && needResult[next] {
		frames[next].RAX = uint64(threads.T[next].Result)
		needResult[next] = false
	}
	setCurrent(next)
	programTimer(now)
}

func programTimer(now int64) {
	d, ok := threads.NextDeadline()
	if !ok {
		d = 0
	}
	if hvDeadline != 0 && (d == 0 || hvDeadline < d) {
		d = hvDeadline
	}
	if curSlot != idleSlot && threads.Queued() > 0 && (d == 0 || sliceEnd < d) {
		d = sliceEnd
	}
	armTimer(d, now)
}

// block parks the current thread in a system call; its result is set when
// it is woken.
func block(w thread.Wait, deadline int64) {
	threads.Block(curSlot, w, deadline)
	needResult[curSlot] = true
}

var exceptionNames = [32]string{
	"#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow", "#BR bound range",
	"#UD invalid opcode", "#NM device not available", "#DF double fault", "coprocessor overrun",
	"#TS invalid TSS", "#NP segment not present", "#SS stack fault", "#GP general protection",
	"#PF page fault", "reserved 15", "#MF x87 error", "#AC alignment check", "#MC machine check",
	"#XM SIMD error", "#VE virtualization", "#CP control protection", "reserved 22", "reserved 23",
	"reserved 24", "reserved 25", "reserved 26", "reserved 27", "#HV hypervisor injection",
	"#VC VMM communication", "#SX security", "reserved 31",
}

// exception handles a CPU exception raised by a thread: demand paging, or a
// signal to the Go runtime, or (when that is impossible) a fatal report.
func exception(f *Frame) {
	cr2 := amd64.ReadCR2()
	if curSlot == idleSlot {
		fatalFrame("exception in the idle loop", f, cr2)
	}
	var sig, code int32
	addr := f.RIP
	switch f.Vector {
	case 14:
		if f.ErrCode&1 == 0 && demandFault(cr2, f.ErrCode&2 != 0, f.ErrCode&16 != 0) {
			return
		}
		sig, code, addr = sigSEGV, segvMapErr, cr2
		if f.ErrCode&1 != 0 {
			code = segvAccErr
		}
	case 0:
		sig, code = sigFPE, fpeIntDiv
	case 16, 19:
		sig, code = sigFPE, 0
	case 6:
		sig, code = sigILL, illIllOpn
	case 13, 12, 11, 17:
		sig, code, addr = sigSEGV, siKernel, 0
	case 3, 1:
		sig, code = sigTRAP, 0
	default:
		fatalFrame("unexpected exception", f, cr2)
	}
	if logLevel >= logDebug {
		kprint("rt: ")
		kprint(exceptionNames[f.Vector])
		kprint(" in thread ")
		kprintDec(int64(threads.T[curSlot].Tid))
		kprint(" rip=")
		kprintHex(f.RIP)
		kprint(" cr2=")
		kprintHex(cr2)
		kprint(" err=")
		kprintHex(f.ErrCode)
		kprint(": signal ")
		kprintDec(int64(sig))
		kprint(" to the Go runtime\n")
	}
	if !deliverSignal(f, sig, code, addr) {
		fatalFrame("exception the Go runtime cannot take", f, cr2)
	}
}

// fatalFrame prints everything known about a fatal exception and stops.
func fatalFrame(why string, f *Frame, cr2 uint64) {
	if inFatal {
		kprint("\nhv: fatal: another fault while reporting a fault\n")
		stop(ExitFatal)
	}
	inFatal = true
	kprint("\nhv: fatal: ")
	kprint(why)
	kprint("\n")
	dumpFrame(f, cr2)
	stop(ExitFatal)
}

func dumpFrame(f *Frame, cr2 uint64) {
	kprint("  vector ")
	kprintDec(int64(f.Vector))
	if f.Vector < 32 {
		kprint(" (")
		kprint(exceptionNames[f.Vector])
		kprint(")")
	}
	kprint(" error code ")
	kprintHex(f.ErrCode)
	kprint(" cr2 ")
	kprintHex(cr2)
	kprint("\n  rip ")
	kprintHex(f.RIP)
	kprint(" cs ")
	kprintHex(f.CS)
	kprint(" rflags ")
	kprintHex(f.RFLAGS)
	kprint(" rsp ")
	kprintHex(f.RSP)
	kprint(" ss ")
	kprintHex(f.SS)
	kprint("\n")
	regs := [...]struct {
		n string
		v uint64
	}{
		{"rax", f.RAX}, {"rbx", f.RBX}, {"rcx", f.RCX}, {"rdx", f.RDX},
		{"rsi", f.RSI}, {"rdi", f.RDI}, {"rbp", f.RBP}, {"r8 ", f.R8},
		{"r9 ", f.R9}, {"r10", f.R10}, {"r11", f.R11}, {"r12", f.R12},
		{"r13", f.R13}, {"r14", f.R14}, {"r15", f.R15},
	}
	for i, r := range regs {
		kprint("  ")
		kprint(r.n)
		kprint(" ")
		kprintHex(r.v)
		if i%4 == 3 {
			kprint("\n")
		}
	}
	kprint("\n  cr0 ")
	kprintHex(amd64.ReadCR0())
	kprint(" cr3 ")
	kprintHex(amd64.ReadCR3())
	kprint(" cr4 ")
	kprintHex(amd64.ReadCR4())
	if curSlot != idleSlot && started {
		kprint(" thread ")
		kprintDec(int64(threads.T[curSlot].Tid))
	}
	kprint("\n")
	// A Go traceback from a raw frame: walk the frame-pointer chain.
	if f.RIP >= imageLayout.ImageStart && f.RIP < imageLayout.TextEnd {
		kprint("  frame-pointer backtrace (resolve with: go tool addr2line out/hv.elf):\n")
		bp := f.RBP
		for i := 0; i < 32 && bp >= pageSize && bp&7 == 0; i++ {
			if _, _, _, ok := kpt.Lookup(bp); !ok && kpt.Root != 0 {
				break
			}
			ret := *(*uint64)(unsafe.Pointer(uintptr(bp + 8)))
			if ret < imageLayout.ImageStart || ret >= imageLayout.TextEnd {
				break
			}
			kprint("    ")
			kprintHex(ret)
			kprint("\n")
			bp = *(*uint64)(unsafe.Pointer(uintptr(bp)))
		}
	}
}

var inFatal bool

// nestedTrap runs on the emergency stack when an exception hits trap
// context or boot0.
func nestedTrap() {
	f := (*Frame)(unsafe.Pointer(nestedFrame))
	cr2 := amd64.ReadCR2()
	if !started {
		fatalFrame("exception during early boot (before the Go runtime started)", f, cr2)
	}
	fatalFrame("exception inside hv's runtime layer (trap context)", f, cr2)
}

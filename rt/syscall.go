package rt

import (
	"unsafe"

	"gozen/arch/amd64"
	"gozen/rt/fd"
	"gozen/rt/thread"
)

// Linux x86-64 system call numbers served here.
const (
	sysRead             = 0
	sysWrite            = 1
	sysOpen             = 2
	sysClose            = 3
	sysMmapNr           = 9
	sysMprotectNr       = 10
	sysMunmapNr         = 11
	sysBrk              = 12
	sysRtSigaction      = 13
	sysRtSigprocmask    = 14
	sysRtSigreturn      = 15
	sysIoctl            = 16
	sysPrctl            = 157
	sysPread64          = 17
	sysSchedYield       = 24
	sysMincore          = 27
	sysMadviseNr        = 28
	sysNanosleep        = 35
	sysGetpid           = 39
	sysClone            = 56
	sysExit             = 60
	sysKill             = 62
	sysUname            = 63
	sysFcntl            = 72
	sysGetuid           = 102
	sysGetgid           = 104
	sysGeteuid          = 107
	sysGetegid          = 108
	sysGetppid          = 110
	sysSigaltstack      = 131
	sysArchPrctl        = 158
	sysGettid           = 186
	sysTkill            = 200
	sysFutex            = 202
	sysSchedGetaffinity = 204
	sysClockGettime     = 228
	sysClockGetres      = 229
	sysExitGroup        = 231
	sysEpollWait        = 232
	sysEpollCtl         = 233
	sysTgkill           = 234
	sysOpenat           = 257
	sysEpollPwait       = 281
	sysEventfd2         = 290
	sysEpollCreate1     = 291
	sysPrlimit64        = 302
	sysGetrandom        = 318
	sysEpollPwait2      = 441
)

// Linux errno values.
const (
	EPERM  = 1
	ENOENT = 2
	ESRCH  = 3
	EBADF  = 9
	EAGAIN = 11
	ENOMEM = 12
	EFAULT = 14
	EEXIST = 17
	ENODEV = 19
	EINVAL = 22
	ENOTTY = 25
	ENOSYS = 38
)

// doSyscall serves the system call in f (number in RAX, arguments in RDI,
// RSI, RDX, R10, R8, R9) and puts the result in RAX, unless the call blocked
// (the result arrives at wake-up) or replaced the whole frame (rt_sigreturn).
func doSyscall(f *Frame) {
	nr := f.RAX
	a0, a1, a2, a3, a4, a5 := f.RDI, f.RSI, f.RDX, f.R10, f.R8, f.R9
	var r int64
	switch nr {
	case sysWrite:
		r = sysWriteFn(int32(a0), a1, a2)
	case sysRead:
		r = sysReadFn(int32(a0), a1, a2)
	case sysClose:
		r = errno(fds.Close(int32(a0)))
	case sysMmapNr:
		r = sysMmap(a0, a1, a2, a3, a4, a5)
	case sysMunmapNr:
		r = sysMunmap(a0, a1)
	case sysMadviseNr:
		r = sysMadvise(a0, a1, a2)
	case sysMprotectNr:
		r = sysMprotect(a0, a1, a2)
	case sysRtSigaction:
		r = sysSigaction(a0, a1, a2, a3)
	case sysRtSigprocmask:
		if a2 != 0 {
			if !userRange(a2, 8, true) {
				r = -EFAULT
				break
			}
			*(*uint64)(unsafe.Pointer(uintptr(a2))) = 0
		}
	case sysRtSigreturn:
		if !sigreturn(f) {
			fatalFrame("rt_sigreturn with a bad signal frame", f, 0)
		}
		return
	case sysSigaltstack:
		r = sysSigaltstackFn(a0, a1)
	case sysSchedYield:
		yieldReq = true
	case sysNanosleep:
		r = sysNanosleepFn(a0)
		if r == 1 {
			return
		}
	case sysFutex:
		r = sysFutexFn(a0, a1, a2, a3)
		if r == 1 {
			return
		}
	case sysClone:
		r = sysCloneFn(f, a0, a1, a4)
	case sysExit:
		threads.Exit(curSlot)
		return
	case sysExitGroup:
		exitGroup(int(int32(a0)))
	case sysArchPrctl:
		r = sysArchPrctlFn(a0, a1)
	case sysGettid:
		r = int64(threads.T[curSlot].Tid)
	case sysGetpid, sysGetppid:
		r = 1
	case sysGetuid, sysGetgid, sysGeteuid, sysGetegid:
		r = 0
	case sysTgkill, sysTkill, sysKill:
		r = sysKillFn(nr, a0, a1, a2)
	case sysClockGettime:
		r = sysClockGettimeFn(a0, a1)
	case sysClockGetres:
		if a1 != 0 {
			if !userRange(a1, 16, true) {
				r = -EFAULT
				break
			}
			p := (*[2]int64)(unsafe.Pointer(uintptr(a1)))
			p[0], p[1] = 0, 1
		}
	case sysSchedGetaffinity:
		r = sysAffinity(a1, a2)
	case sysEpollCreate1:
		fdn, e := fds.NewEpoll()
		r = fdResult(fdn, e)
	case sysEventfd2:
		fdn, e := fds.NewEventFD(uint32(a0), int32(a1))
		r = fdResult(fdn, e)
	case sysEpollCtl:
		r = sysEpollCtlFn(int32(a0), int32(a1), int32(a2), a3)
	case sysEpollPwait, sysEpollWait:
		r = sysEpollWaitFn(int32(a0), a1, int32(a2), int32(a3))
		if r == 1<<40 {
			return
		}
	case sysFcntl:
		r = sysFcntlFn(int32(a0), a1)
	case sysOpen, sysOpenat:
		r = -ENOENT
	case sysGetrandom:
		r = sysGetrandomFn(a0, a1)
	case sysPrlimit64:
		r = sysPrlimit(a2, a3)
	case sysUname:
		r = sysUnameFn(a0)
	case sysIoctl:
		r = -ENOTTY
	case sysPrctl:
		r = -EINVAL
	case sysBrk:
		r = -ENOMEM
	default:
		if testhookSyscall(nr) {
			return
		}
		unknownSyscall(nr)
		r = -ENOSYS
	}
	f.RAX = uint64(r)
}

func errno(e int) int64 { return -int64(e) }

func fdResult(fdn int32, e int) int64 {
	if e != 0 {
		return -int64(e)
	}
	return int64(fdn)
}

var seenSyscall [512]bool

func unknownSyscall(nr uint64) {
	if nr < uint64(len(seenSyscall)) {
		if seenSyscall[nr] {
			return
		}
		seenSyscall[nr] = true
	}
	if logLevel >= logWarn {
		kprint("rt: unimplemented system call ")
		kprintDec(int64(nr))
		kprint(" (returning ENOSYS)\n")
	}
}

func sysWriteFn(fdn int32, buf, n uint64) int64 {
	switch fds.Kind(fdn) {
	case fd.Console:
		if n > 1<<20 {
			n = 1 << 20
		}
		if !userRange(buf, n, false) {
			return -EFAULT
		}
		kwrite(unsafe.Slice((*byte)(unsafe.Pointer(uintptr(buf))), n))
		return int64(n)
	case fd.EventFD:
		if n < 8 {
			return -EINVAL
		}
		if !userRange(buf, 8, false) {
			return -EFAULT
		}
		if e := fds.WriteEventFD(fdn, *(*uint64)(unsafe.Pointer(uintptr(buf)))); e != 0 {
			return -int64(e)
		}
		wakeEpollWaiters()
		return 8
	}
	return -EBADF
}

func sysReadFn(fdn int32, buf, n uint64) int64 {
	switch fds.Kind(fdn) {
	case fd.EventFD:
		if n < 8 {
			return -EINVAL
		}
		if !userRange(buf, 8, true) {
			return -EFAULT
		}
		v, e := fds.ReadEventFD(fdn)
		if e != 0 {
			return -int64(e)
		}
		*(*uint64)(unsafe.Pointer(uintptr(buf))) = v
		return 8
	case fd.Console:
		if fdn != 0 || n == 0 {
			return -EBADF
		}
		// Everything the UART holds, up to n bytes (its FIFO: a burst of
		// typing takes one read, not one per byte).
		n = min(n, 64)
		if !userRange(buf, n, true) {
			return -EFAULT
		}
		got := uint64(0)
		for got < n {
			b, ok := com1.Receive()
			if !ok {
				break
			}
			*(*byte)(unsafe.Pointer(uintptr(buf + got))) = b
			got++
		}
		if got == 0 {
			return -EAGAIN
		}
		return int64(got)
	}
	return -EBADF
}

func readTimespec(p uint64) (int64, bool) {
	if !userRange(p, 16, false) {
		return 0, false
	}
	ts := (*[2]int64)(unsafe.Pointer(uintptr(p)))
	if ts[0] < 0 || ts[1] < 0 || ts[1] >= 1_000_000_000 {
		return 0, false
	}
	if ts[0] > 1<<32 {
		return 1 << 62, true
	}
	return ts[0]*1_000_000_000 + ts[1], true
}

// sysNanosleepFn returns 1 when it blocked.
func sysNanosleepFn(req uint64) int64 {
	d, ok := readTimespec(req)
	if !ok {
		return -EINVAL
	}
	if d <= 0 {
		yieldReq = true
		return 0
	}
	block(thread.WaitSleep, Nanotime()+d)
	return 1
}

const (
	futexWait       = 0
	futexWake       = 1
	futexPrivate    = 128
	futexClockRealt = 256
)

// sysFutexFn returns 1 when it blocked.
func sysFutexFn(addr, op, val, timeout uint64) int64 {
	if addr&3 != 0 {
		return -EINVAL
	}
	switch op &^ (futexPrivate | futexClockRealt) {
	case futexWait:
		if !userRange(addr, 4, false) {
			return -EFAULT
		}
		if *(*uint32)(unsafe.Pointer(uintptr(addr))) != uint32(val) {
			return -EAGAIN
		}
		deadline := int64(0)
		if timeout != 0 {
			d, ok := readTimespec(timeout)
			if !ok {
				return -EINVAL
			}
			deadline = Nanotime() + d
			if d <= 0 {
				return -thread.ETIMEDOUT
			}
		}
		threads.T[curSlot].FutexAddr = addr
		block(thread.WaitFutex, deadline)
		return 1
	case futexWake:
		n := int(int32(val))
		if n < 0 {
			n = 0
		}
		return int64(threads.FutexWake(addr, n))
	}
	return -ENOSYS
}

const (
	cloneVM     = 0x100
	cloneThread = 0x10000
	cloneSettls = 0x80000
)

func sysCloneFn(f *Frame, flags, stack, tls uint64) int64 {
	if flags&(cloneVM|cloneThread) != cloneVM|cloneThread {
		return -EINVAL // only threads: there are no processes here
	}
	slot, ok := threads.Spawn()
	if !ok {
		if logLevel >= logWarn {
			kprint("rt: clone: out of thread slots\n")
		}
		return -EAGAIN
	}
	child := &frames[slot]
	*child = *f
	child.RAX = 0
	if stack != 0 {
		child.RSP = stack
	}
	fsBase[slot] = fsBase[curSlot]
	if flags&cloneSettls != 0 {
		fsBase[slot] = tls
	}
	copyFx(fxArea(slot), fxArea(curSlot))
	needResult[slot] = false
	sigAlt[slot] = altStack{flags: ssDisable}
	inSignal[slot] = false
	return int64(threads.T[slot].Tid)
}

func copyFx(dst, src uintptr) {
	d := (*[fxSize]byte)(unsafe.Pointer(dst))
	s := (*[fxSize]byte)(unsafe.Pointer(src))
	*d = *s
}

const (
	archSetFS = 0x1002
	archGetFS = 0x1003
)

func sysArchPrctlFn(code, addr uint64) int64 {
	switch code {
	case archSetFS:
		fsBase[curSlot] = addr
		curFS = addr
		return 0
	case archGetFS:
		if !userRange(addr, 8, true) {
			return -EFAULT
		}
		*(*uint64)(unsafe.Pointer(uintptr(addr))) = fsBase[curSlot]
		return 0
	}
	return -EINVAL
}

const (
	clockRealtime       = 0
	clockMonotonic      = 1
	clockProcessCPU     = 2
	clockThreadCPU      = 3
	clockMonotonicRaw   = 4
	clockRealtimeCoarse = 5
	clockMonoCoarse     = 6
	clockBoottime       = 7
)

func sysClockGettimeFn(clk, tsp uint64) int64 {
	now := Nanotime()
	switch clk {
	case clockRealtime, clockRealtimeCoarse:
		now += wallBaseNs
	case clockMonotonic, clockMonotonicRaw, clockMonoCoarse, clockBoottime, clockProcessCPU, clockThreadCPU:
	default:
		return -EINVAL
	}
	if !userRange(tsp, 16, true) {
		return -EFAULT
	}
	ts := (*[2]int64)(unsafe.Pointer(uintptr(tsp)))
	ts[0], ts[1] = now/1_000_000_000, now%1_000_000_000
	return 0
}

func sysAffinity(size, mask uint64) int64 {
	if size < 8 {
		return -EINVAL
	}
	if !userRange(mask, 8, true) {
		return -EFAULT
	}
	*(*uint64)(unsafe.Pointer(uintptr(mask))) = 1 // one CPU
	return 8
}

func sysEpollCtlFn(epfd, op, fdn int32, evp uint64) int64 {
	var events uint32
	var data uint64
	if op != fd.EpollCtlDel {
		if !userRange(evp, fd.EventSize, false) {
			return -EFAULT
		}
		events = *(*uint32)(unsafe.Pointer(uintptr(evp)))
		data = *(*uint64)(unsafe.Pointer(uintptr(evp + 4)))
	}
	return errno(fds.Ctl(epfd, op, fdn, events, data))
}

var readyBuf [32]fd.Event

// epollCollect writes ready events of epfd to the user buffer and returns
// how many.
func epollCollect(epfd int32, evp uint64, max int32) int64 {
	if max > int32(len(readyBuf)) {
		max = int32(len(readyBuf))
	}
	n := fds.Ready(epfd, readyBuf[:max])
	for i := 0; i < n; i++ {
		p := evp + uint64(i)*fd.EventSize
		*(*uint32)(unsafe.Pointer(uintptr(p))) = readyBuf[i].Events
		*(*uint64)(unsafe.Pointer(uintptr(p + 4))) = readyBuf[i].Data
	}
	return int64(n)
}

// sysEpollWaitFn returns 1<<40 when it blocked.
func sysEpollWaitFn(epfd int32, evp uint64, max, timeoutMs int32) int64 {
	if max <= 0 {
		return -EINVAL
	}
	if !fds.IsEpoll(epfd) {
		return -EBADF
	}
	if !userRange(evp, uint64(max)*fd.EventSize, true) {
		return -EFAULT
	}
	if n := epollCollect(epfd, evp, max); n != 0 || timeoutMs == 0 {
		return n
	}
	deadline := int64(0)
	if timeoutMs > 0 {
		deadline = Nanotime() + int64(timeoutMs)*1_000_000
	}
	t := &threads.T[curSlot]
	t.EpollFD, t.EventsAddr, t.MaxEvents = epfd, evp, max
	block(thread.WaitEpoll, deadline)
	return 1 << 40
}

// wakeEpollWaiters completes epoll waits that now have events.
func wakeEpollWaiters() {
	for i := range threads.T {
		t := &threads.T[i]
		if t.State != thread.Blocked || t.Wait != thread.WaitEpoll {
			continue
		}
		if n := epollCollect(t.EpollFD, t.EventsAddr, t.MaxEvents); n > 0 {
			threads.Wake(i, n)
		}
	}
}

const (
	fGetFD = 1
	fSetFD = 2
	fGetFL = 3
	fSetFL = 4
	oRDWR  = 2
)

func sysFcntlFn(fdn int32, cmd uint64) int64 {
	if fds.Kind(fdn) == fd.None {
		return -EBADF
	}
	switch cmd {
	case fGetFD, fSetFD, fSetFL:
		return 0
	case fGetFL:
		if fds.Kind(fdn) == fd.Console {
			return oRDWR
		}
		return oRDWR | 0x800 // O_NONBLOCK
	}
	return -EINVAL
}

var randState uint64

func sysGetrandomFn(buf, n uint64) int64 {
	if n > 1<<16 {
		n = 1 << 16
	}
	if !userRange(buf, n, true) {
		return -EFAULT
	}
	b := unsafe.Slice((*byte)(unsafe.Pointer(uintptr(buf))), n)
	for i := uint64(0); i < n; i += 8 {
		v, ok := amd64.Rand(&features)
		if !ok {
			// No RDRAND/RDSEED: a TSC-seeded xorshift, which is not
			// cryptographic; say so once.
			if randState == 0 {
				randState = amd64.Rdtsc() | 1
				kprint("rt: warning: CPU has no RDRAND/RDSEED; getrandom is not cryptographically strong\n")
			}
			randState ^= randState << 13
			randState ^= randState >> 7
			randState ^= randState << 17
			v = randState ^ amd64.Rdtsc()
		}
		for j := uint64(0); j < 8 && i+j < n; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return int64(n)
}

func sysPrlimit(newp, oldp uint64) int64 {
	if oldp != 0 {
		if !userRange(oldp, 16, true) {
			return -EFAULT
		}
		p := (*[2]uint64)(unsafe.Pointer(uintptr(oldp)))
		p[0], p[1] = fd.Max, fd.Max
	}
	return 0
}

func sysUnameFn(p uint64) int64 {
	const field = 65
	if !userRange(p, 6*field, true) {
		return -EFAULT
	}
	u := (*[6 * field]byte)(unsafe.Pointer(uintptr(p)))
	for i := range u {
		u[i] = 0
	}
	for i, s := range [...]string{"Linux", "gozen", "6.1.0-gozen", "#1 GoZen rt", "x86_64", "(none)"} {
		copy(u[i*field:i*field+field-1], s)
	}
	return 0
}

const sigURG = 23

func sysKillFn(nr, a0, a1, a2 uint64) int64 {
	sig := a1
	if nr == sysTgkill {
		sig = a2
	}
	if sig == 0 || sig == sigURG {
		return 0
	}
	kprint("\nhv: the Go runtime raised signal ")
	kprintDec(int64(sig))
	kprint(" (it is crashing)\n")
	stop(ExitFatal)
	return 0
}

// exitGroup ends the Go program: the hypervisor stops.
func exitGroup(status int) {
	code := uint8(ExitFatal)
	switch status {
	case 0:
		code = ExitSuccess
	case 1:
		code = ExitFailure
	}
	if status != 0 {
		kprint("hv: the Go program exited with status ")
		kprintDec(int64(status))
		kprint("\n")
	}
	stop(code)
}

// syscallInit points SYSCALL at syscallEntry.
func syscallInit() {
	amd64.Wrmsr(amd64.MSRSTAR, uint64(amd64.SelKernelCode)<<32|uint64(amd64.SelUserCode32)<<48)
	amd64.Wrmsr(amd64.MSRLSTAR, uint64(syscallEntryAddr))
	// Clear IF, TF, DF, AC and NT on entry.
	amd64.Wrmsr(amd64.MSRFMASK, 1<<9|1<<8|1<<10|1<<18|1<<14)
}

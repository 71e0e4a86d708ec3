package rt

import (
	"unsafe"

	"gozen/arch/amd64"
)

// The Go runtime's main thread starts on this stack (the runtime uses the
// top 64 KiB as g0's stack).
var mainStack [256 << 10]byte

// Initial environment: asynchronous preemption needs SIGURG delivery to a
// running thread, which the runtime layer does not do; threads are still
// preempted by the timer, and goroutines at function calls.
var envStrings = [...]string{"GODEBUG=asyncpreemptoff=1", "HOME=/", "TERM=vt100"}

const maxArgs = 64

// startRuntime builds a Linux process entry stack (argc, argv, envp, auxv)
// and enters the Go runtime as thread 1.
func startRuntime() {
	threads.Init(1)
	fds.Init()
	slot, _ := threads.Spawn()
	threads.Next()
	sp := stackTop(mainStack[:])
	var argv [maxArgs]uint64
	argc := 0
	argv[argc] = pushString(&sp, strBytes("hv"))
	argc++
	cmd := stripImage()
	for i := 0; i < len(cmd) && argc < maxArgs; {
		for i < len(cmd) && cmd[i] == ' ' {
			i++
		}
		j := i
		for j < len(cmd) && cmd[j] != ' ' {
			j++
		}
		if j > i {
			argv[argc] = pushString(&sp, cmd[i:j])
			argc++
		}
		i = j
	}
	var envp [len(envStrings)]uint64
	for i, s := range envStrings {
		envp[i] = pushString(&sp, strBytes(s))
	}
	// 16 random bytes for AT_RANDOM.
	sp -= 16
	randAddr := uint64(sp)
	for i := 0; i < 2; i++ {
		v, ok := amd64.Rand(&features)
		if !ok {
			v = amd64.Rdtsc() * 0x9E3779B97F4A7C15
		}
		*(*uint64)(unsafe.Pointer(sp + uintptr(8*i))) = v
	}
	sp &^= 15
	words := 1 + argc + 1 + len(envp) + 1 + 2*4
	if words%2 == 1 {
		sp -= 8
	}
	stack := unsafe.Slice((*uint64)(unsafe.Pointer(sp-uintptr(8*words))), words)
	sp -= uintptr(8 * words)
	for i := range stack {
		stack[i] = 0
	}
	k := 0
	stack[k] = uint64(argc)
	k++
	for i := 0; i < argc; i++ {
		stack[k] = argv[i]
		k++
	}
	k++ // argv terminator (the slice is zeroed below first)
	for _, e := range envp {
		stack[k] = e
		k++
	}
	k++ // envp terminator
	auxv := [...]uint64{
		6, pageSize, // AT_PAGESZ
		25, randAddr, // AT_RANDOM
		17, 100, // AT_CLKTCK
		0, 0, // AT_NULL
	}
	for _, v := range auxv {
		stack[k] = v
		k++
	}
	// Thread 1's initial state: the runtime's ELF entry, interrupts on.
	f := &frames[slot]
	*f = Frame{RIP: imageLayout.RuntimeEntry, CS: amd64.SelKernelCode, SS: amd64.SelKernelData,
		RSP: uint64(sp), RFLAGS: amd64.RFLAGSIF | amd64.RFLAGSReserved}
	// A clean x87/SSE state for it and for the idle context.
	amd64.Fninit()
	amd64.Ldmxcsr(0x1F80)
	amd64.Fxsave(fxArea(slot))
	copyFx(fxArea(idleSlot), fxArea(slot))
	frames[idleSlot] = Frame{RIP: uint64(idleLoopAddr), CS: amd64.SelKernelCode, SS: amd64.SelKernelData,
		RSP: uint64(stackTop(idleStack[:])), RFLAGS: amd64.RFLAGSIF | amd64.RFLAGSReserved}
	sigAlt[slot] = altStack{flags: ssDisable}
	started = true
	sliceEnd = Nanotime() + timeSliceNs
	setCurrent(slot)
	resume()
}

var idleStack [4096]byte

// pushString copies s and a NUL below *sp and returns its address.
func pushString(sp *uintptr, s []byte) uint64 {
	*sp -= uintptr(len(s) + 1)
	b := unsafe.Slice((*byte)(unsafe.Pointer(*sp)), len(s)+1)
	copy(b, s)
	b[len(s)] = 0
	return uint64(*sp)
}

// strBytes views a string's bytes without copying.
func strBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

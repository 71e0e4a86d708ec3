package rt

import (
	"unsafe"

	"gozen/rt/thread"
)

// Signals. The Go runtime installs handlers (rt_sigaction) and per-thread
// alternate stacks (sigaltstack). A CPU exception in Go code becomes a signal
// delivered the way Linux does on x86-64: an rt_sigframe (return address =
// sa_restorer, ucontext, siginfo) on the alternate stack, the handler entered
// with (sig, &info, &uc). Go's handler turns a fault into a panic by editing
// the saved RIP/RSP; its restorer calls rt_sigreturn, which loads the edited
// context. Only one level of delivery is supported: a fault inside a signal
// handler is fatal.

const (
	sigTRAP = 5
	sigILL  = 4
	sigFPE  = 8
	sigSEGV = 11
	nsig    = 65

	segvMapErr = 1
	segvAccErr = 2
	fpeIntDiv  = 1
	illIllOpn  = 2
	siKernel   = 0x80

	saSiginfo  = 0x4
	saOnstack  = 0x08000000
	saRestorer = 0x04000000

	ssOnstack = 1
	ssDisable = 2
)

type sigAction struct {
	handler, flags, restorer, mask uint64
}

type altStack struct {
	sp    uint64
	flags int32
	size  uint64
}

var (
	sigActions [nsig]sigAction
	sigAlt     [thread.Max]altStack
	inSignal   [thread.Max]bool
)

// Layout of the frame, Linux x86-64 (arch/x86/include/uapi/asm/sigcontext.h,
// ucontext.h, siginfo.h). Offsets are checked by tests.
const (
	ucFlags    = 0
	ucLink     = 8
	ucStack    = 16 // ss_sp, ss_flags (int32 + pad), ss_size
	ucMcontext = 40 // struct sigcontext_64
	ucSigmask  = 40 + 256
	ucSize     = ucSigmask + 8
	siginfoSz  = 128
	sigFrameSz = 8 + ucSize + siginfoSz
)

// Indexes of sigcontext_64's first 23 words.
const (
	scR8 = iota
	scR9
	scR10
	scR11
	scR12
	scR13
	scR14
	scR15
	scRDI
	scRSI
	scRBP
	scRBX
	scRDX
	scRAX
	scRCX
	scRSP
	scRIP
	scEFL
	scCSGSFS
	scErr
	scTrapno
	scOldmask
	scCR2
)

func sysSigaction(sig, act, oact, size uint64) int64 {
	if sig == 0 || sig >= nsig || size != 8 {
		return -EINVAL
	}
	if oact != 0 {
		if !userRange(oact, 32, true) {
			return -EFAULT
		}
		*(*sigAction)(unsafe.Pointer(uintptr(oact))) = sigActions[sig]
	}
	if act != 0 {
		if !userRange(act, 32, false) {
			return -EFAULT
		}
		sigActions[sig] = *(*sigAction)(unsafe.Pointer(uintptr(act)))
	}
	return 0
}

func sysSigaltstackFn(ss, old uint64) int64 {
	a := &sigAlt[curSlot]
	if old != 0 {
		if !userRange(old, 24, true) {
			return -EFAULT
		}
		p := (*[3]uint64)(unsafe.Pointer(uintptr(old)))
		flags := a.flags
		if inSignal[curSlot] && flags&ssDisable == 0 {
			flags |= ssOnstack
		}
		p[0], p[1], p[2] = a.sp, uint64(uint32(flags)), a.size
	}
	if ss != 0 {
		if !userRange(ss, 24, false) {
			return -EFAULT
		}
		p := (*[3]uint64)(unsafe.Pointer(uintptr(ss)))
		flags := int32(p[1])
		if flags&ssDisable != 0 {
			*a = altStack{flags: ssDisable}
		} else {
			if p[2] < 2048 {
				return -ENOMEM
			}
			*a = altStack{sp: p[0], size: p[2]}
		}
	}
	return 0
}

// deliverSignal sets up f so the thread runs its handler for sig. It
// returns false when there is no handler to run.
func deliverSignal(f *Frame, sig, code int32, addr uint64) bool {
	act := &sigActions[sig]
	if act.handler <= 1 || act.flags&saRestorer == 0 || inSignal[curSlot] {
		return false
	}
	sp := f.RSP
	alt := &sigAlt[curSlot]
	if act.flags&saOnstack != 0 && alt.flags&ssDisable == 0 && alt.size != 0 &&
		!(sp > alt.sp && sp <= alt.sp+alt.size) {
		sp = alt.sp + alt.size
	} else {
		sp -= 128 // the ABI's red zone
	}
	sp = ((sp - sigFrameSz) &^ 15) - 8
	if !userRange(sp, sigFrameSz, true) {
		return false
	}
	base := uintptr(sp)
	b := unsafe.Slice((*byte)(unsafe.Pointer(base)), sigFrameSz)
	for i := range b {
		b[i] = 0
	}
	*(*uint64)(unsafe.Pointer(base)) = act.restorer
	uc := base + 8
	*(*uint64)(unsafe.Pointer(uc + ucStack)) = alt.sp
	*(*int32)(unsafe.Pointer(uc + ucStack + 8)) = alt.flags
	*(*uint64)(unsafe.Pointer(uc + ucStack + 16)) = alt.size
	mc := (*[32]uint64)(unsafe.Pointer(uc + ucMcontext))
	mc[scR8], mc[scR9], mc[scR10], mc[scR11] = f.R8, f.R9, f.R10, f.R11
	mc[scR12], mc[scR13], mc[scR14], mc[scR15] = f.R12, f.R13, f.R14, f.R15
	mc[scRDI], mc[scRSI], mc[scRBP], mc[scRBX] = f.RDI, f.RSI, f.RBP, f.RBX
	mc[scRDX], mc[scRAX], mc[scRCX], mc[scRSP] = f.RDX, f.RAX, f.RCX, f.RSP
	mc[scRIP], mc[scEFL] = f.RIP, f.RFLAGS
	mc[scCSGSFS] = f.CS | f.SS<<48
	mc[scErr], mc[scTrapno] = f.ErrCode, f.Vector
	if f.Vector == 14 {
		mc[scCR2] = addr
	}
	info := uc + ucSize
	*(*int32)(unsafe.Pointer(info)) = sig
	*(*int32)(unsafe.Pointer(info + 8)) = code
	*(*uint64)(unsafe.Pointer(info + 16)) = addr
	copyFx(sigFxArea(curSlot), fxArea(curSlot))
	inSignal[curSlot] = true
	f.RSP = sp
	f.RIP = act.handler
	f.RDI = uint64(sig)
	f.RSI = uint64(info)
	f.RDX = uint64(uc)
	f.RAX = 0
	f.RFLAGS &^= 1<<8 | 1<<10 // TF, DF
	return true
}

// sigreturn restores the context saved by deliverSignal (possibly edited by
// the handler). The ucontext is at the stack pointer the restorer left.
func sigreturn(f *Frame) bool {
	if !inSignal[curSlot] {
		return false
	}
	uc := f.RSP
	if !userRange(uc, ucSize, false) {
		return false
	}
	mc := (*[32]uint64)(unsafe.Pointer(uintptr(uc + ucMcontext)))
	f.R8, f.R9, f.R10, f.R11 = mc[scR8], mc[scR9], mc[scR10], mc[scR11]
	f.R12, f.R13, f.R14, f.R15 = mc[scR12], mc[scR13], mc[scR14], mc[scR15]
	f.RDI, f.RSI, f.RBP, f.RBX = mc[scRDI], mc[scRSI], mc[scRBP], mc[scRBX]
	f.RDX, f.RAX, f.RCX, f.RSP = mc[scRDX], mc[scRAX], mc[scRCX], mc[scRSP]
	f.RIP = mc[scRIP]
	// Only the arithmetic flags, DF and TF may change; IF stays on.
	const userFlags = 0xCD5 | 1<<8 | 1<<10 | 1<<18
	f.RFLAGS = (f.RFLAGS &^ userFlags) | (mc[scEFL] & userFlags) | 1<<9 | 1<<1
	f.CS, f.SS = 0x08, 0x10
	copyFx(fxArea(curSlot), sigFxArea(curSlot))
	inSignal[curSlot] = false
	return true
}

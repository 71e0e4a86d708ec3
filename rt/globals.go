package rt

import (
	"unsafe"

	"gozen/boot/layout"
	"gozen/rt/thread"
)

// imageLayout is filled in by tools/mkimage (see boot/layout).
var imageLayout = layout.Layout{Magic: layout.Unpatched}

// fakeG stands in for the runtime's g in contexts the Go runtime does not
// know about. Only the stack bounds and guards are read, by function
// prologues (CMPQ SP, 16(R14)); morestack from here would fault, loudly.
type fakeG struct {
	stackLo, stackHi uintptr
	guard0, guard1   uintptr
	_                [32]uintptr
}

// The three non-thread contexts: boot (before the runtime starts), kernel
// (trap handling) and emergency (a fault inside trap handling). Each has a
// TLS block whose first word points at its g: FS points just past it, where
// Go's TLS slot -8(FS) is.
var (
	bootG, kernelG, emergG       fakeG
	bootTLS, kernelTLS, emergTLS [2]uintptr
	bootStack                    [65536]byte
	kernelStack                  [65536]byte
	emergStack                   [32768]byte
)

// Interrupt stacks (TSS IST entries). IST1 takes every vector except the
// three below; trapCommon copies the frame off it at once.
var (
	ist1Stack [8192]byte // general
	ist2Stack [8192]byte // #DF
	ist3Stack [8192]byte // NMI
	ist4Stack [8192]byte // #MC
)

// Frame is a thread's saved register state, in the order trapCommon pushes it.
type Frame struct {
	R15, R14, R13, R12, R11, R10, R9, R8 uint64
	RBP, RDI, RSI, RDX, RCX, RBX, RAX    uint64
	Vector, ErrCode                      uint64
	RIP, CS, RFLAGS, RSP, SS             uint64
}

// FrameWords is the number of words trapCommon copies (FRAME_WORDS in asm).
const FrameWords = 22

const (
	vectorSyscall  = 256
	vectorTimer    = 0xEF
	vectorSpurious = 0xFF
	fxSize         = 512
	idleSlot       = thread.Max // the idle context's frame slot
)

// State the assembly reads and writes.
var (
	curFrame       uintptr // *Frame of the running context
	curFx          uintptr // its 512-byte FXSAVE area
	curFS          uint64  // its FS base
	inKernel       uint64  // 1 while trap handling runs
	nestedFrame    uintptr // frame of a fault taken in trap context
	scratchRSP     uint64
	ist1Top        uintptr
	kernelStackTop uintptr
	bootMagic      uint64
	bootInfoAddr   uint64
)

// Per-thread machine state, indexed by thread slot; slot thread.Max is idle.
var (
	frames  [thread.Max + 1]Frame
	fsBase  [thread.Max + 1]uint64
	fxStore [(thread.Max+1)*fxSize + 64]byte
	// Saved state of a thread while it runs a signal handler.
	sigFxStore [thread.Max*fxSize + 64]byte
)

func fxArea(slot int) uintptr {
	base := (uintptr(unsafe.Pointer(&fxStore[0])) + 63) &^ 63
	return base + uintptr(slot)*fxSize
}

func sigFxArea(slot int) uintptr {
	base := (uintptr(unsafe.Pointer(&sigFxStore[0])) + 63) &^ 63
	return base + uintptr(slot)*fxSize
}

func stackTop(s []byte) uintptr {
	return (uintptr(unsafe.Pointer(&s[0])) + uintptr(len(s))) &^ 15
}

// Assembly.
func entry64()
func syscallEntry()
func trapCommon()
func resume()
func idleLoop()
func asmAddrs() (syscallEntry, idleLoop, vectors, entry uintptr)
func fxrstor(area uintptr)

// init keeps the boot entry, which only the boot stub reaches, in the
// binary (the linker drops code nothing references).
func init() {
	if _, _, _, e := asmAddrs(); e == 0 {
		panic("rt: boot entry missing")
	}
}

package rt

import (
	"os"
	"reflect"
	"regexp"
	"strconv"
	"testing"
	"unsafe"

	"gozen/mm"
	"gozen/rt/fd"
	"gozen/rt/thread"
	"gozen/rt/vm"
)

// asmDefine reads a #define from entry_amd64.s.
func asmDefine(t *testing.T, name string) int64 {
	t.Helper()
	src, err := os.ReadFile("entry_amd64.s")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^#define ` + name + ` (0x[0-9A-Fa-f]+|\d+)$`).FindSubmatch(src)
	if m == nil {
		t.Fatalf("#define %s not found", name)
	}
	v, err := strconv.ParseInt(string(m[1]), 0, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestFrameLayout checks Frame against the order trapCommon pushes
// registers (last pushed = lowest address) and the CPU's interrupt frame.
func TestFrameLayout(t *testing.T) {
	order := []string{"R15", "R14", "R13", "R12", "R11", "R10", "R9", "R8",
		"RBP", "RDI", "RSI", "RDX", "RCX", "RBX", "RAX",
		"Vector", "ErrCode", "RIP", "CS", "RFLAGS", "RSP", "SS"}
	ft := reflect.TypeOf(Frame{})
	if ft.NumField() != len(order) || unsafe.Sizeof(Frame{}) != FrameWords*8 {
		t.Fatalf("Frame has %d fields, %d bytes", ft.NumField(), unsafe.Sizeof(Frame{}))
	}
	for i, name := range order {
		f, ok := ft.FieldByName(name)
		if !ok || f.Offset != uintptr(8*i) {
			t.Errorf("Frame.%s at %d, want %d", name, f.Offset, 8*i)
		}
	}
	if got := asmDefine(t, "FRAME_WORDS"); got != FrameWords {
		t.Errorf("FRAME_WORDS = %d, Go says %d", got, FrameWords)
	}
	if got := asmDefine(t, "VECTOR_SYSCALL"); got != vectorSyscall {
		t.Errorf("VECTOR_SYSCALL = %d, Go says %d", got, vectorSyscall)
	}
	if got := asmDefine(t, "MSR_FS_BASE"); got != 0xC0000100 {
		t.Errorf("MSR_FS_BASE = %#x", got)
	}
}

// TestFakeG checks the fields function prologues read from g (stack.lo,
// stack.hi, stackguard0, stackguard1 at 0, 8, 16, 24), as SETG writes them.
func TestFakeG(t *testing.T) {
	var g fakeG
	if unsafe.Offsetof(g.stackHi) != 8 || unsafe.Offsetof(g.guard0) != 16 || unsafe.Offsetof(g.guard1) != 24 {
		t.Error("fakeG layout does not match runtime.g's prefix")
	}
}

// TestSignalFrameLayout checks the rt_sigframe offsets against the Linux
// x86-64 ABI (arch/x86/include/uapi/asm/sigcontext.h: struct sigcontext_64
// is 32 words after uc_flags, uc_link and a 24-byte stack_t).
func TestSignalFrameLayout(t *testing.T) {
	if ucMcontext != 8+8+24 {
		t.Errorf("uc_mcontext at %d", ucMcontext)
	}
	if ucSigmask != ucMcontext+32*8 {
		t.Errorf("uc_sigmask at %d", ucSigmask)
	}
	// struct sigcontext_64 field order: r8..r15, di, si, bp, bx, dx, ax, cx,
	// sp, ip, flags, cs/gs/fs/ss, err, trapno, oldmask, cr2.
	if scRDI != 8 || scRSP != 15 || scRIP != 16 || scEFL != 17 || scErr != 19 || scTrapno != 20 || scCR2 != 22 {
		t.Error("sigcontext_64 indexes wrong")
	}
	if unsafe.Sizeof(sigAction{}) != 32 {
		t.Errorf("struct sigaction is %d bytes, kernel ABI has 32", unsafe.Sizeof(sigAction{}))
	}
	// The handler is entered as if called: (sp + 8) % 16 == 0.
	for _, top := range []uint64{0x10000, 0x10008, 0x1fff3} {
		sp := ((top - sigFrameSz) &^ 15) - 8
		if (sp+8)%16 != 0 || sp+sigFrameSz > top {
			t.Errorf("frame from %#x at %#x misaligned or overflowing", top, sp)
		}
	}
}

// TestTrapStateHasNoPointers: state written in trap context must hold no Go
// pointers, or the compiler would emit write barriers that need a real M.
func TestTrapStateHasNoPointers(t *testing.T) {
	for _, v := range []any{Frame{}, thread.Table{}, fd.Table{}, vm.Space{}, altStack{}, sigAction{},
		fakeG{}, [thread.Max]bool{}, mm.Range{}} {
		if p := findPointer(reflect.TypeOf(v)); p != "" {
			t.Errorf("%T contains a pointer: %s", v, p)
		}
	}
}

func findPointer(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Chan, reflect.Func, reflect.Interface, reflect.String, reflect.UnsafePointer:
		return t.String()
	case reflect.Array:
		return findPointer(t.Elem())
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			if p := findPointer(t.Field(i).Type); p != "" {
				return t.Field(i).Name + "." + p
			}
		}
	}
	return ""
}

func TestFxAreasAligned(t *testing.T) {
	for _, slot := range []int{0, 1, thread.Max - 1, idleSlot} {
		if fxArea(slot)%64 != 0 {
			t.Errorf("fx area %d not aligned", slot)
		}
		end := fxArea(slot) + fxSize
		if end > uintptr(unsafe.Pointer(&fxStore[0]))+uintptr(len(fxStore)) {
			t.Errorf("fx area %d overflows", slot)
		}
	}
	if e := sigFxArea(thread.Max-1) + fxSize; e > uintptr(unsafe.Pointer(&sigFxStore[0]))+uintptr(len(sigFxStore)) {
		t.Error("signal fx area overflows")
	}
}

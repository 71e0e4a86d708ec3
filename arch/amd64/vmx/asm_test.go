package vmx

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/arch/x86/x86asm"

	"gozen/hv/x86"
)

// run_amd64.s addresses the guest register array with #define'd offsets
// and writes host-state fields by #define'd encodings. These tests read
// the .s file and check both against the Go side, that each register is
// loaded from and saved to its own slot exactly once, and the instruction
// encodings spelled as BYTEs. (go vet's asmdecl checks the argument frame
// offsets.)

var asmRegs = map[string]struct {
	idx int
	reg string
}{
	"RAX": {x86.RAX, "AX"}, "RCX": {x86.RCX, "CX"}, "RDX": {x86.RDX, "DX"}, "RBX": {x86.RBX, "BX"},
	"RSP": {x86.RSP, "SP"}, "RBP": {x86.RBP, "BP"}, "RSI": {x86.RSI, "SI"}, "RDI": {x86.RDI, "DI"},
	"R8": {x86.R8, "R8"}, "R9": {x86.R9, "R9"}, "R10": {x86.R10, "R10"}, "R11": {x86.R11, "R11"},
	"R12": {x86.R12, "R12"}, "R13": {x86.R13, "R13"}, "R14": {x86.R14, "R14"}, "R15": {x86.R15, "R15"},
}

var (
	defineRE = regexp.MustCompile(`^#define\s+(R_\w+)\s+(\S+)\s*$`)
	fieldRE  = regexp.MustCompile(`^#define\s+(F_\w+)\s+(0x[0-9A-Fa-f]+)\s*$`)
	loadRE   = regexp.MustCompile(`^MOVQ\s+(R_\w+)\(AX\),\s*(\w+)$`)
	storeRE  = regexp.MustCompile(`^MOVQ\s+(\w+),\s*(R_\w+)\(AX\)$`)
	useRE    = regexp.MustCompile(`\bR_\w+`)
)

func slotOffset(i int) uintptr {
	var r x86.Regs
	return uintptr(unsafe.Pointer(&r[i])) - uintptr(unsafe.Pointer(&r))
}

// checkRunAsm returns every disagreement between the world switch and the
// Go register layout. RSP is the VMCS's (GuestRSP), so it has no slot in
// use. RAX is special twice: it is the array's base register, so its load
// comes last; and on exit the guest's RAX is pushed first and popped into
// CX, which stores it.
func checkRunAsm(src []byte) []string {
	var bad []string
	defs := map[string]uintptr{}
	loads, stores := map[string]int{}, map[string]int{}
	lastLoad := ""
	prev := ""
	for n, line := range strings.Split(string(src), "\n") {
		line = strings.TrimSpace(line)
		if i := strings.Index(line, "//"); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		at := "run_amd64.s:" + strconv.Itoa(n+1) + ": "
		if m := defineRE.FindStringSubmatch(line); m != nil {
			name := strings.TrimPrefix(m[1], "R_")
			off, err := strconv.ParseUint(m[2], 0, 64)
			r, known := asmRegs[name]
			switch {
			case err != nil:
				bad = append(bad, at+m[1]+" is not a number")
			case !known:
				bad = append(bad, at+m[1]+" names no register")
			case name == "RSP":
				bad = append(bad, at+"R_RSP: RSP lives in the VMCS")
			case uintptr(off) != slotOffset(r.idx):
				bad = append(bad, fmt.Sprintf("%s%s = %s, but x86.Regs[%s] is at %d", at, m[1], m[2], name, slotOffset(r.idx)))
			}
			defs[m[1]] = uintptr(off)
			prev = line
			continue
		}
		var sym, reg string
		if m := loadRE.FindStringSubmatch(line); m != nil {
			sym, reg = m[1], m[2]
			loads[sym]++
			lastLoad = sym
			if r := asmRegs[strings.TrimPrefix(sym, "R_")]; r.reg != reg {
				bad = append(bad, at+sym+" loaded into "+reg+", not "+r.reg)
			}
		} else if m := storeRE.FindStringSubmatch(line); m != nil {
			sym, reg = m[2], m[1]
			stores[sym]++
			want := asmRegs[strings.TrimPrefix(sym, "R_")].reg
			if sym == "R_RAX" {
				want = "CX"
				if prev != "POPQ CX" {
					bad = append(bad, at+"R_RAX stored without the guest's RAX popped into CX just before")
				}
			}
			if reg != want {
				bad = append(bad, at+sym+" stored from "+reg+", not "+want)
			}
		} else {
			for _, u := range useRE.FindAllString(line, -1) {
				bad = append(bad, at+"offset "+u+" used outside a MOVQ to or from (AX): "+line)
			}
			if line != "" {
				prev = line
			}
			continue
		}
		if _, ok := defs[sym]; !ok {
			bad = append(bad, at+sym+" used before (or without) its #define")
		}
		prev = line
	}
	for name := range asmRegs {
		if name == "RSP" {
			continue
		}
		sym := "R_" + name
		if _, ok := defs[sym]; !ok {
			bad = append(bad, "no #define "+sym)
		}
		if loads[sym] != 1 || stores[sym] != 1 {
			bad = append(bad, fmt.Sprintf("%s: loaded %d and saved %d times, want once each", sym, loads[sym], stores[sym]))
		}
	}
	if lastLoad != "R_RAX" {
		bad = append(bad, "the last register loaded is "+lastLoad+", not R_RAX (AX holds the array)")
	}
	return bad
}

func readAsm(t *testing.T) []byte {
	src, err := os.ReadFile("run_amd64.s")
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func TestRunAsmRegisterOffsets(t *testing.T) {
	for _, b := range checkRunAsm(readAsm(t)) {
		t.Error(b)
	}
	if unsafe.Sizeof(x86.Regs{}) != 16*8 {
		t.Errorf("x86.Regs is %d bytes, run_amd64.s expects 128", unsafe.Sizeof(x86.Regs{}))
	}
}

// The check catches the mistakes it is for.
func TestRunAsmCheckCatches(t *testing.T) {
	src := readAsm(t)
	for _, c := range []struct{ name, old, new, want string }{
		{"offset", "#define R_R9 72", "#define R_R9 80", "x86.Regs[R9] is at 72"},
		{"register", "MOVQ R_RSI(AX), SI", "MOVQ R_RSI(AX), DI", "not SI"},
		{"missing save", "MOVQ R13, R_R13(AX)\n", "", "R_R13: loaded 1 and saved 0 times"},
		{"missing define", "#define R_R15 120\n", "", "no #define R_R15"},
		{"RAX early", "MOVQ R_RCX(AX), CX", "MOVQ R_RAX(AX), AX\n\tMOVQ R_RCX(AX), CX", "R_RAX: loaded 2"},
		{"RAX store", "POPQ CX\n\tMOVQ CX, R_RAX(AX)", "MOVQ CX, R_RAX(AX)\n\tPOPQ CX", "without the guest's RAX popped"},
	} {
		if !bytes.Contains(src, []byte(c.old)) {
			t.Errorf("%s: %q not in run_amd64.s; update this test", c.name, c.old)
			continue
		}
		bad := checkRunAsm(bytes.Replace(src, []byte(c.old), []byte(c.new), 1))
		if !strings.Contains(strings.Join(bad, "\n"), c.want) {
			t.Errorf("%s: check said %q, want a line with %q", c.name, bad, c.want)
		}
	}
}

// The host-state encodings the world switch writes are vmcs.go's.
func TestRunAsmFields(t *testing.T) {
	want := map[string]Field{"F_HOST_FS_BASE": HostFSBase, "F_HOST_GS_BASE": HostGSBase, "F_HOST_RSP": HostRSP, "F_HOST_RIP": HostRIP}
	found := 0
	for _, line := range strings.Split(string(readAsm(t)), "\n") {
		m := fieldRE.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil {
			continue
		}
		v, _ := strconv.ParseUint(m[2], 0, 32)
		f, ok := want[m[1]]
		if !ok {
			t.Errorf("%s: no such field in the test's table", m[1])
			continue
		}
		found++
		if Field(v) != f {
			t.Errorf("%s = %#x, vmcs.go says %#x", m[1], v, uint32(f))
		}
	}
	if found != len(want) {
		t.Errorf("found %d of %d field defines", found, len(want))
	}
}

// macroBytes returns the BYTEs each #define of file spells.
func macroBytes(t *testing.T, file string) map[string][]byte {
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)^#define\s+(\w+)\s+((?:BYTE \$0x[0-9a-f]{2};?[ \t]*)+)(?:LONG \$0)?\s*(?://.*)?$`)
	out := map[string][]byte{}
	for _, m := range re.FindAllStringSubmatch(string(src), -1) {
		var b []byte
		for _, h := range regexp.MustCompile(`0x([0-9a-f]{2})`).FindAllStringSubmatch(m[2], -1) {
			v, _ := strconv.ParseUint(h[1], 16, 8)
			b = append(b, byte(v))
		}
		out[m[1]] = b
	}
	return out
}

// modrm builds a ModRM byte; register numbers are x86 encodings (AX 0,
// DX 2, BX 3, SI 6).
func modrm(mod, reg, rm byte) byte { return mod<<6 | reg<<3 | rm }

// The VMX instruction macros spell SDM vol. 2's encodings with the
// operands their names say; x86asm does not know VMX, so the bytes are
// built here from opcode and ModRM.
func TestRunAsmInstructionBytes(t *testing.T) {
	const ax, dx = 0, 2
	want := map[string][]byte{
		"VMXON_AX":      {0xf3, 0x0f, 0xc7, modrm(0, 6, ax)}, // F3 0F C7 /6: VMXON m64
		"VMCLEAR_AX":    {0x66, 0x0f, 0xc7, modrm(0, 6, ax)}, // 66 0F C7 /6: VMCLEAR m64
		"VMPTRLD_AX":    {0x0f, 0xc7, modrm(0, 6, ax)},       // NP 0F C7 /6: VMPTRLD m64
		"VMREAD_DX_AX":  {0x0f, 0x78, modrm(3, dx, ax)},      // 0F 78 /r: VMREAD r/m64 (RAX), r64 (RDX: field)
		"VMWRITE_AX_DX": {0x0f, 0x79, modrm(3, dx, ax)},      // 0F 79 /r: VMWRITE r64 (RDX: field), r/m64 (RAX)
		"VMLAUNCH":      {0x0f, 0x01, 0xc2},
		"VMRESUME":      {0x0f, 0x01, 0xc3},
		"INVEPT_DX_AX":  {0x66, 0x0f, 0x38, 0x80, modrm(0, dx, ax)}, // 66 0F 38 80 /r: INVEPT r64, m128
		"INVVPID_DX_AX": {0x66, 0x0f, 0x38, 0x81, modrm(0, dx, ax)}, // 66 0F 38 81 /r: INVVPID r64, m128
		"CALL_NEXT":     {0xe8},                                     // E8 cd: CALL rel32, with LONG $0
	}
	got := macroBytes(t, "run_amd64.s")
	for name, w := range want {
		if !bytes.Equal(got[name], w) {
			t.Errorf("%s is % x, want % x", name, got[name], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("run_amd64.s defines %d instruction macros, the test knows %d", len(got), len(want))
	}
	// The debug-register moves decode as their names say.
	for name, b := range macroBytes(t, "dr_amd64.s") {
		inst, err := x86asm.Decode(b, 64)
		if err != nil || inst.Len != len(b) {
			t.Errorf("%s: % x does not decode: %v", name, b, err)
			continue
		}
		// MOVQ_BX_DR0 is MOV DR0, RBX; MOVQ_DR0_BX is MOV RBX, DR0.
		parts := strings.Split(strings.TrimPrefix(name, "MOVQ_"), "_")
		want := "MOV " + parts[1] + ", R" + parts[0]
		if strings.HasPrefix(parts[0], "DR") {
			want = "MOV R" + parts[1] + ", " + parts[0]
		}
		if inst.String() != want {
			t.Errorf("%s decodes as %q, want %q", name, inst, want)
		}
	}
}

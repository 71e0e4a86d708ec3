package svm

import (
	"bytes"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"gozen/hv/x86"
)

// run_amd64.s addresses the guest register array with #define'd offsets.
// This test reads the .s file and checks every one against the Go side
// (x86.Regs, whose index constants name the slots), and that each
// register is loaded from and saved to its own slot: changing either the
// file or the Go layout without the other fails here. (go vet's asmdecl
// checks the argument frame offsets, regs+16(FP) and friends.)

// asmRegs maps the x86 register names the offsets use to their x86.Regs
// index and the Go assembler's name for the register.
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
	loadRE   = regexp.MustCompile(`^MOVQ\s+(R_\w+)\(AX\),\s*(\w+)$`)
	storeRE  = regexp.MustCompile(`^MOVQ\s+(\w+),\s*(R_\w+)\(AX\)$`)
	useRE    = regexp.MustCompile(`\bR_\w+`)
)

// slotOffset is the byte offset of register slot i in x86.Regs.
func slotOffset(i int) uintptr {
	var r x86.Regs
	return uintptr(unsafe.Pointer(&r[i])) - uintptr(unsafe.Pointer(&r))
}

// checkRunAsm returns every disagreement between the world switch source
// and the Go register layout.
func checkRunAsm(src []byte) []string {
	var bad []string
	defs := map[string]uintptr{}
	loads, stores := map[string]int{}, map[string]int{}
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
				bad = append(bad, at+m[1]+" is not a number: "+m[2])
			case !known:
				bad = append(bad, at+m[1]+" names no register")
			case name == "RAX" || name == "RSP":
				bad = append(bad, at+m[1]+": RAX and RSP live in the VMCB, not the array")
			case uintptr(off) != slotOffset(r.idx):
				bad = append(bad, at+m[1]+" = "+m[2]+", but x86.Regs["+name+"] is at "+strconv.Itoa(int(slotOffset(r.idx))))
			}
			if _, dup := defs[m[1]]; dup {
				bad = append(bad, at+m[1]+" defined twice")
			}
			defs[m[1]] = uintptr(off)
			continue
		}
		var sym, reg string
		switch {
		case loadRE.MatchString(line):
			m := loadRE.FindStringSubmatch(line)
			sym, reg = m[1], m[2]
			loads[sym]++
		case storeRE.MatchString(line):
			m := storeRE.FindStringSubmatch(line)
			sym, reg = m[2], m[1]
			stores[sym]++
		default:
			for _, u := range useRE.FindAllString(line, -1) {
				bad = append(bad, at+"offset "+u+" used outside a MOVQ to or from (AX): "+line)
			}
			continue
		}
		if _, ok := defs[sym]; !ok {
			bad = append(bad, at+sym+" used before (or without) its #define")
		}
		if r := asmRegs[strings.TrimPrefix(sym, "R_")]; r.reg != reg {
			bad = append(bad, at+sym+" moved to or from "+reg+", not "+r.reg+": "+line)
		}
	}
	// Every register the VMCB does not hold is loaded once before VMRUN and
	// saved once after.
	for name := range asmRegs {
		if name == "RAX" || name == "RSP" {
			continue
		}
		sym := "R_" + name
		if _, ok := defs[sym]; !ok {
			bad = append(bad, "no #define "+sym)
		}
		if loads[sym] != 1 || stores[sym] != 1 {
			bad = append(bad, sym+": loaded "+strconv.Itoa(loads[sym])+" and saved "+strconv.Itoa(stores[sym])+" times, want once each")
		}
	}
	return bad
}

func TestRunAsmRegisterOffsets(t *testing.T) {
	src, err := os.ReadFile("run_amd64.s")
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range checkRunAsm(src) {
		t.Error(b)
	}
	// run takes *[16]uint64; VCPU.Run converts &v.regs, so x86.Regs must
	// be exactly that array (a compile error otherwise) of 128 bytes.
	if unsafe.Sizeof(x86.Regs{}) != 16*8 {
		t.Errorf("x86.Regs is %d bytes, run_amd64.s expects 128", unsafe.Sizeof(x86.Regs{}))
	}
}

// The check catches the mistakes it is for: a wrong offset, a swapped
// register, a missing save, an undefined or unknown name.
func TestRunAsmCheckCatches(t *testing.T) {
	src, err := os.ReadFile("run_amd64.s")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, old, new, want string }{
		{"offset", "#define R_R9 72", "#define R_R9 80", "x86.Regs[R9] is at 72"},
		{"register", "MOVQ R_RSI(AX), SI", "MOVQ R_RSI(AX), DI", "not SI"},
		{"missing save", "MOVQ R13, R_R13(AX)\n", "", "R_R13: loaded 1 and saved 0 times"},
		{"missing define", "#define R_R15 120\n", "", "no #define R_R15"},
		{"RAX slot", "#define R_RCX 8\n", "#define R_RCX 8\n#define R_RAX 0\n", "live in the VMCB"},
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

// The instruction macros spell the encodings of AMD APM vol. 3.
func TestRunAsmInstructionBytes(t *testing.T) {
	src, err := os.ReadFile("run_amd64.s")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"VMRUN": "0f01d8", "VMLOAD": "0f01da", "VMSAVE": "0f01db", "STGI": "0f01dc", "CLGI": "0f01dd"}
	re := regexp.MustCompile(`(?m)^#define\s+(\w+)\s+((?:BYTE \$0x[0-9a-f]{2};?[ \t]*)+)$`)
	found := 0
	for _, m := range re.FindAllStringSubmatch(string(src), -1) {
		w, ok := want[m[1]]
		if !ok {
			continue
		}
		found++
		got := strings.NewReplacer("BYTE", "", "$0x", "", ";", "", " ", "", "\t", "").Replace(m[2])
		if got != w {
			t.Errorf("%s is %s, want %s", m[1], got, w)
		}
	}
	if found != len(want) {
		t.Errorf("found %d of the %d instruction macros", found, len(want))
	}
}

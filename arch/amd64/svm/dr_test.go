package svm

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"gozen/hv/backend"
)

// dr_amd64.s spells MOV to and from DR0-DR3 in bytes: 0F 23 /r (MOV DRn,
// r64) and 0F 21 /r (MOV r64, DRn) with ModRM 11 nnn 011 (RBX), AMD APM
// vol. 3 "MOV (Debug Registers)".
func TestDRInstructionBytes(t *testing.T) {
	src, err := os.ReadFile("dr_amd64.s")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for n := 0; n < 4; n++ {
		modrm := 0xc0 | n<<3 | 3
		want[fmt.Sprintf("MOVQ_BX_DR%d", n)] = fmt.Sprintf("0f23%02x", modrm)
		want[fmt.Sprintf("MOVQ_DR%d_BX", n)] = fmt.Sprintf("0f21%02x", modrm)
	}
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
		// Each macro is used exactly once, in the function of its direction.
		if c := strings.Count(string(src), "\t"+m[1]+"\n"); c != 1 {
			t.Errorf("%s used %d times, want 1", m[1], c)
		}
	}
	if found != len(want) {
		t.Errorf("found %d of the %d instruction macros", found, len(want))
	}
}

func newTestVCPU() *VCPU {
	v := &VCPU{b: &Backend{cr4OK: cr4Always}, vmcb: new(VMCB)}
	v.vmcb.InterceptDR = drIntercepts
	v.vmcb.InterceptMisc2 = misc2Intercepts
	v.vmcb.ASID = 1
	v.vmcb.EFER = 1 << 12
	return v
}

// The first debug-register access switches the vCPU to its own DR0-DR3 and
// drops the intercepts; the access is retried (no RIP change, no event).
func TestDRFirstAccess(t *testing.T) {
	for _, code := range []uint64{ExitDRReadBase + 0, ExitDRWriteBase + 3, ExitDRWriteBase + 7, ExitDRReadBase + 6} {
		v := newTestVCPU()
		v.vmcb.RIP = 0x1000
		v.vmcb.ExitCode = code
		e := v.exitNow()
		if e.Reason != backend.ExitNone || !v.drUsed || v.vmcb.InterceptDR != 0 || v.vmcb.RIP != 0x1000 || v.vmcb.EventInj != 0 {
			t.Errorf("exit %s: reason %v drUsed %v InterceptDR %#x rip %#x eventinj %#x", ExitName(code),
				e.Reason, v.drUsed, v.vmcb.InterceptDR, v.vmcb.RIP, v.vmcb.EventInj)
		}
	}
	// A PVH (re)start gives the vCPU zeroed DR0-DR3 again.
	v := newTestVCPU()
	v.dr = [4]uint64{1, 2, 3, 4}
	v.SetPVHEntry(0x100000, 0x1000)
	if v.DebugRegs() != ([4]uint64{}) || v.vmcb.DR7 != 0x400 || v.vmcb.DR6 != 0xffff0ff0 {
		t.Errorf("after SetPVHEntry: dr %v dr6 %#x dr7 %#x", v.dr, v.vmcb.DR6, v.vmcb.DR7)
	}
}

// ICEBP reaches the core as ExitICEBP (which delivers #DB), not as a #UD
// the backend injects.
func TestICEBPExit(t *testing.T) {
	v := newTestVCPU()
	v.vmcb.ExitCode = ExitICEBP
	if e := v.exitNow(); e.Reason != backend.ExitICEBP || v.vmcb.EventInj != 0 {
		t.Errorf("ICEBP: reason %v eventinj %#x", e.Reason, v.vmcb.EventInj)
	}
}

// VMEXIT_INVALID in its 64-bit and its zero-extended 32-bit form is an
// invalid-state exit whose Detail names the broken rule and the state.
func TestInvalidExit(t *testing.T) {
	for _, code := range []uint64{ExitInvalid, ExitInvalid32} {
		v := newTestVCPU()
		v.vmcb.ExitCode = code
		v.vmcb.CR0 = 1<<31 | 1
		v.vmcb.CR4 = cr4PAE | cr4LA57
		v.vmcb.EFER |= 1<<8 | 1<<10
		v.vmcb.CS.Attrib = AttribCode64
		e := v.exitNow()
		if e.Reason != backend.ExitInvalid {
			t.Errorf("code %#x: reason %v", code, e.Reason)
		}
		for _, w := range []string{"CR4 reserved or unsupported bits 0x1000", "cr0=0x80000001", "cr4=0x1020", "efer=0x1500", "cs=0x0/0xa9b"} {
			if !strings.Contains(e.Detail, w) {
				t.Errorf("code %#x: detail %q lacks %q", code, e.Detail, w)
			}
		}
		if ExitName(code) != "INVALID" {
			t.Errorf("ExitName(%#x) = %s", code, ExitName(code))
		}
	}
}

// Each consistency rule describeInvalid knows, one broken at a time.
func TestDescribeInvalid(t *testing.T) {
	ok := func() *VMCB {
		c := new(VMCB)
		c.EFER = 1<<12 | 1<<8 | 1<<10
		c.CR0 = 1<<31 | 1
		c.CR4 = cr4PAE
		c.CS.Attrib = AttribCode64
		c.InterceptMisc2 = 1 << Misc2VMRUN
		c.ASID = 1
		return c
	}
	if d := describeInvalid(ok(), cr4Always); !strings.HasPrefix(d, "no consistency rule") {
		t.Errorf("valid state described as %q", d)
	}
	for _, c := range []struct {
		name string
		mod  func(*VMCB)
		want string
	}{
		{"svme", func(c *VMCB) { c.EFER &^= 1 << 12 }, "EFER.SVME clear"},
		{"nw", func(c *VMCB) { c.CR0 |= 1 << 29 }, "CR0.NW set with CR0.CD clear"},
		{"cr0 high", func(c *VMCB) { c.CR0 |= 1 << 40 }, "CR0 bits 63:32"},
		{"cr4 smep", func(c *VMCB) { c.CR4 |= cr4SMEP }, "CR4 reserved or unsupported bits 0x100000"},
		{"cr4 reserved", func(c *VMCB) { c.CR4 |= 1 << 15 }, "CR4 reserved or unsupported bits 0x8000"},
		{"dr7", func(c *VMCB) { c.DR7 = 1 << 33 }, "DR6/DR7"},
		{"efer", func(c *VMCB) { c.EFER |= 1 << 20 }, "EFER reserved bits 0x100000"},
		{"pae", func(c *VMCB) { c.CR4 = 0 }, "CR4.PAE clear"},
		{"pe", func(c *VMCB) { c.CR0 &^= 1 }, "CR0.PE clear"},
		{"cs l+d", func(c *VMCB) { c.CS.Attrib |= 1 << 10 }, "CS.L and CS.D"},
		{"cr3", func(c *VMCB) { c.CR3 = 1 << 60 }, "CR3 bits 63:52"},
		{"vmrun", func(c *VMCB) { c.InterceptMisc2 = 0 }, "VMRUN intercept clear"},
		{"asid", func(c *VMCB) { c.ASID = 0 }, "ASID 0"},
		{"nmi as exception", func(c *VMCB) { c.EventInj = EventInjection(2, EventException, 0, false) }, "invalid event injection"},
	} {
		v := ok()
		c.mod(v)
		if d := describeInvalid(v, cr4Always); !strings.Contains(d, c.want) {
			t.Errorf("%s: %q lacks %q", c.name, d, c.want)
		}
	}
}

// cr4Supported follows CPUID.
func TestCR4Supported(t *testing.T) {
	none := func(leaf, sub uint32) (a, b, c, d uint32) { return 7, 0, 0, 0 }
	if got := cr4Supported(none); got != cr4Always {
		t.Errorf("no features: %#x, want %#x", got, uint64(cr4Always))
	}
	all := func(leaf, sub uint32) (a, b, c, d uint32) {
		switch leaf {
		case 0:
			return 7, 0, 0, 0
		case 1:
			return 0, 0, 1<<17 | 1<<26, 0
		case 7:
			return 0, 1 | 1<<7 | 1<<20, 1<<2 | 1<<3 | 1<<7 | 1<<16, 0
		}
		return
	}
	want := uint64(cr4Always | cr4PCIDE | cr4OSXSAVE | cr4FSGSBASE | cr4SMEP | cr4SMAP | cr4UMIP | cr4PKE | cr4LA57 | cr4CET)
	if got := cr4Supported(all); got != want {
		t.Errorf("all features: %#x, want %#x", got, want)
	}
}

// exitNow classifies the exit in the VMCB as Run does.
func (v *VCPU) exitNow() backend.Exit {
	var e backend.Exit
	v.exit(&e)
	return e
}

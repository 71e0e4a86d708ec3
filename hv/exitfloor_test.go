package hv

import (
	"testing"

	"gozen/abi/xen"
	"gozen/hv/backend"
	"gozen/hv/x86"
)

// The floor takes exactly the exitbench exits, moves RIP past each and
// changes nothing else; every other exit is left to handleExit.
func TestFloorExit(t *testing.T) {
	h, be, _ := newTestHV(nil)
	d, err := h.CreateDomain(DomainConfig{Name: "f", Mem: 4 << 20, Kernel: pvhELF(insnHLT)})
	if err != nil {
		t.Fatal(err)
	}
	v, f := d.vcpus[0], be.vcpus[0]
	for _, tc := range []struct {
		name  string
		rax   uint64
		e     backend.Exit
		taken bool
		rip   uint64 // RIP after, when taken
	}{
		{"cpuid 0", 0, backend.Exit{Reason: backend.ExitCPUID}, true, 0x100002},
		{"cpuid 1", 1, backend.Exit{Reason: backend.ExitCPUID}, false, 0},
		{"cpuid 0 with nRIP", 0, backend.Exit{Reason: backend.ExitCPUID, InsnLen: 3}, true, 0x100003},
		{"xen_version", xen.HypercallXenVersion, backend.Exit{Reason: backend.ExitHypercall}, true, 0x100003},
		{"console_io", xen.HypercallConsoleIO, backend.Exit{Reason: backend.ExitHypercall}, false, 0},
		{"out 0x80", 7, backend.Exit{Reason: backend.ExitIO, Port: 0x80, Size: 1, IONextRIP: 0x100002}, true, 0x100002},
		{"in 0x80", 7, backend.Exit{Reason: backend.ExitIO, Port: 0x80, Size: 1, In: true, IONextRIP: 0x100002}, false, 0},
		{"out 0x42", 7, backend.Exit{Reason: backend.ExitIO, Port: 0x42, Size: 1, IONextRIP: 0x100002}, false, 0},
		{"hlt", 0, backend.Exit{Reason: backend.ExitHLT}, false, 0},
	} {
		f.rip = 0x100000
		f.regs = [len(f.regs)]uint64{}
		f.regs[x86.RAX], f.regs[x86.RBX], f.regs[x86.RCX] = tc.rax, 0x1111, 0x2222
		got := floorExit(v, &tc.e)
		if got != tc.taken {
			t.Errorf("%s: taken %v, want %v", tc.name, got, tc.taken)
			continue
		}
		want := uint64(0x100000)
		if tc.taken {
			want = tc.rip
		}
		if f.rip != want {
			t.Errorf("%s: rip %#x, want %#x", tc.name, f.rip, want)
		}
		if f.regs[x86.RAX] != tc.rax || f.regs[x86.RBX] != 0x1111 || f.regs[x86.RCX] != 0x2222 {
			t.Errorf("%s: registers changed: %#x %#x %#x", tc.name, f.regs[x86.RAX], f.regs[x86.RBX], f.regs[x86.RCX])
		}
	}
	if d.io.ports.total != 0 {
		t.Errorf("floorExit counted %d port exits", d.io.ports.total)
	}
}

package hv

import (
	"gozen/abi/xen"
	"gozen/hv/backend"
	"gozen/hv/x86"
)

// The exit floor: a measurement hook, set only by testhooks images
// (cmd/hv, option exitfloor). With Hypervisor.ExitFloor set, the run loop
// answers the three exits the test guest's exitbench mode times (a
// xen_version hypercall, CPUID leaf 0, an OUT to port 0x80) by moving RIP
// past the instruction and entering the guest again at once: no exit
// accounting, no handler, no event or timer checks. The round trip the guest
// then measures is the world switch itself (VMRUN, #VMEXIT and the
// backend's state save and restore); the difference to a normal image is
// what hv adds per exit (bench/exits.sh).
//
// The guest sees those instructions do nothing: CPUID leaves its registers
// as they were and xen_version returns its own hypercall number. Every
// other exit, including other leaves, hypercalls and ports, goes through
// handleExit as usual, so the rest of the guest still works.

// floorExit reports whether e is one of the floor's exits, and if so
// resumes v past it.
func floorExit(v *VCPU, e *backend.Exit) bool {
	n := 0
	switch e.Reason {
	case backend.ExitCPUID:
		if uint32(v.arch.Regs()[x86.RAX]) != 0 {
			return false
		}
		n = 2 // 0F A2
	case backend.ExitHypercall:
		if v.arch.Regs()[x86.RAX] != xen.HypercallXenVersion {
			return false
		}
		n = 3 // VMMCALL 0F 01 D9 (VMCALL has the same length)
	case backend.ExitIO:
		if e.Port != 0x80 || e.In || e.String {
			return false
		}
		v.arch.SetRIP(e.IONextRIP)
		return true
	default:
		return false
	}
	if e.InsnLen > 0 {
		n = e.InsnLen
	}
	advanceRIP(v, n)
	return true
}

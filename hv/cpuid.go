package hv

import "gozen/arch/amd64"

// CPUID policy: the host's view, filtered to what GoZen virtualizes, plus
// hypervisor leaves. Until the Xen ABI lands, leaf 0x40000000 carries
// GoZen's own signature.
const (
	hvLeafBase = 0x40000000
	hvLeafMax  = 0x40000001
	// GoZenSignature is returned in EBX, ECX, EDX of leaf 0x40000000.
	GoZenSignature = "GoZenGoZenGo"
)

// Feature bits hidden from guests.
const (
	leaf1ECXHidden = 1<<3 | // MONITOR/MWAIT: intercepted
		1<<5 | // VMX
		1<<26 | 1<<27 | 1<<28 // XSAVE, OSXSAVE, AVX: guests get FXSAVE state only
	leaf1ECXHypervisor = 1 << 31
	leaf7EBXHidden     = 1<<5 | 0xffff<<16 // AVX2 and the AVX-512 family
	ext1ECXHidden      = 1 << 2            // SVM: no nested virtualization
)

// cpuidFn reads the host's CPUID; tests replace it.
var cpuidFn = amd64.Cpuid

func le32(s string) uint32 {
	return uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24
}

func (h *Hypervisor) cpuid(leaf, sub uint32) (a, b, c, d uint32) {
	switch {
	case leaf == hvLeafBase:
		return hvLeafMax, le32(GoZenSignature[0:4]), le32(GoZenSignature[4:8]), le32(GoZenSignature[8:12])
	case leaf == hvLeafBase+1:
		return 0x00000001, 0, 0, 0 // GoZen 0.1
	case leaf > hvLeafBase && leaf < 0x80000000:
		return 0, 0, 0, 0
	}
	maxBasic, _, _, _ := cpuidFn(0, 0)
	maxExt, _, _, _ := cpuidFn(0x80000000, 0)
	if (leaf < hvLeafBase && leaf > maxBasic) || (leaf >= 0x80000000 && leaf > maxExt) {
		return 0, 0, 0, 0
	}
	a, b, c, d = cpuidFn(leaf, sub)
	switch leaf {
	case 1:
		c = c&^leaf1ECXHidden | leaf1ECXHypervisor
	case 7:
		if sub == 0 {
			b &^= leaf7EBXHidden
			c, d = 0, 0
		}
	case 0xD:
		return 0, 0, 0, 0
	case 0x80000001:
		c &^= ext1ECXHidden
	case 0x8000000A:
		return 0, 0, 0, 0
	}
	return a, b, c, d
}

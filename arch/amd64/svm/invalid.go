package svm

import (
	"fmt"
	"strings"

	"gozen/arch/amd64"
)

// ExitInvalid32 is VMEXIT_INVALID (-1) as a 32-bit code zero-extended to
// 64 bits. The APM defines EXITCODE as a 64-bit field holding -1, but some
// implementations (QEMU's TCG SVM, which keeps exit codes in 32 bits) store
// 0xffffffff; both mean VMRUN refused the VMCB.
const ExitInvalid32 uint64 = 0xffff_ffff

// IsInvalid reports whether code is VMEXIT_INVALID in either form.
func IsInvalid(code uint64) bool { return code == ExitInvalid || code == ExitInvalid32 }

// cr4Known are the CR4 bits an AMD64 CPU may implement (APM vol. 2 §3.1.3
// "CR4 Register", and the later bits SDM vol. 3 §2.5 defines); the CPU's
// CPUID says which of the feature-dependent ones it has (cr4Supported).
const (
	cr4VME, cr4PVI, cr4TSD, cr4DE, cr4PSE, cr4PAE, cr4MCE, cr4PGE, cr4PCE = 1 << 0, 1 << 1, 1 << 2, 1 << 3, 1 << 4, 1 << 5, 1 << 6, 1 << 7, 1 << 8
	cr4OSFXSR, cr4OSXMMEXCPT, cr4UMIP, cr4LA57                            = 1 << 9, 1 << 10, 1 << 11, 1 << 12
	cr4FSGSBASE, cr4PCIDE, cr4OSXSAVE, cr4SMEP, cr4SMAP, cr4PKE, cr4CET   = 1 << 16, 1 << 17, 1 << 18, 1 << 20, 1 << 21, 1 << 22, 1 << 23

	cr4Always = cr4VME | cr4PVI | cr4TSD | cr4DE | cr4PSE | cr4PAE | cr4MCE | cr4PGE | cr4PCE |
		cr4OSFXSR | cr4OSXMMEXCPT
)

// cr4Supported returns the CR4 bits a CPU with the given CPUID implements:
// setting any other bit is an invalid guest state for VMRUN (APM vol. 2
// §15.5.1: "Any MBZ bit of CR4 is set").
func cr4Supported(cpuid func(leaf, sub uint32) (a, b, c, d uint32)) uint64 {
	m := uint64(cr4Always)
	max, _, _, _ := cpuid(0, 0)
	_, _, c1, _ := cpuid(1, 0)
	if c1&(1<<17) != 0 {
		m |= cr4PCIDE
	}
	if c1&(1<<26) != 0 {
		m |= cr4OSXSAVE
	}
	if max >= 7 {
		_, b7, c7, _ := cpuid(7, 0)
		for _, f := range []struct {
			reg, bit uint32
			cr4      uint64
		}{{b7, 0, cr4FSGSBASE}, {b7, 7, cr4SMEP}, {b7, 20, cr4SMAP}, {c7, 2, cr4UMIP}, {c7, 3, cr4PKE},
			{c7, 16, cr4LA57}, {c7, 7, cr4CET}} {
			if f.reg&(1<<f.bit) != 0 {
				m |= f.cr4
			}
		}
	}
	return m
}

// EFER bits VMRUN accepts in the guest: SCE, LME, LMA, NXE, SVME, LMSLE,
// FFXSR, TCE (APM vol. 2 §3.1.7); the rest are MBZ.
const eferKnown = 1<<0 | 1<<8 | 1<<10 | 1<<11 | 1<<12 | 1<<13 | 1<<14 | 1<<15

// describeInvalid says why VMRUN may have refused the guest state in c, by
// the consistency checks of APM vol. 2 §15.5.1 ("Basic Operation", the
// list of conditions that make VMRUN exit with VMEXIT_INVALID) that concern
// state the guest controls, and always gives the state itself: CR0, CR3,
// CR4, EFER, the segment attributes, DR6/DR7. cr4OK is cr4Supported of the
// host. It allocates, and is only called for the crash report.
func describeInvalid(c *VMCB, cr4OK uint64) string {
	var why []string
	add := func(format string, a ...any) { why = append(why, fmt.Sprintf(format, a...)) }
	const cr0CD, cr0NW = 1 << 30, 1 << 29
	if c.EFER&amd64.EFERSVME == 0 {
		add("EFER.SVME clear")
	}
	if c.CR0&cr0CD == 0 && c.CR0&cr0NW != 0 {
		add("CR0.NW set with CR0.CD clear")
	}
	if c.CR0>>32 != 0 {
		add("CR0 bits 63:32 set")
	}
	if bad := c.CR4 &^ cr4OK; bad != 0 {
		add("CR4 reserved or unsupported bits %#x", bad)
	}
	if c.DR6>>32 != 0 || c.DR7>>32 != 0 {
		add("DR6/DR7 bits 63:32 set")
	}
	if bad := c.EFER &^ eferKnown; bad != 0 {
		add("EFER reserved bits %#x", bad)
	}
	lme, pg := c.EFER&amd64.EFERLME != 0, c.CR0&amd64.CR0PG != 0
	if lme && pg && c.CR4&cr4PAE == 0 {
		add("EFER.LME and CR0.PG set with CR4.PAE clear")
	}
	if lme && pg && c.CR0&amd64.CR0PE == 0 {
		add("EFER.LME and CR0.PG set with CR0.PE clear")
	}
	if lme && pg && c.CR4&cr4PAE != 0 && c.CS.Attrib&(1<<9) != 0 && c.CS.Attrib&(1<<10) != 0 {
		add("long mode with CS.L and CS.D both set")
	}
	if lme && pg && c.CR4&cr4PAE != 0 && c.CR3>>52 != 0 {
		add("CR3 bits 63:52 set in long mode")
	}
	if c.InterceptMisc2&(1<<Misc2VMRUN) == 0 {
		add("VMRUN intercept clear")
	}
	if c.ASID == 0 {
		add("ASID 0")
	}
	if e := DecodeEvent(c.EventInj); e.Valid && (e.Type == 1 || e.Type > 4 || (e.Type == EventException && (e.Vector == 2 || e.Vector > 31))) {
		add("invalid event injection %#x", c.EventInj)
	}
	reason := "no consistency rule GoZen checks is broken"
	if len(why) > 0 {
		reason = strings.Join(why, "; ")
	}
	return fmt.Sprintf("%s (cr0=%#x cr3=%#x cr4=%#x efer=%#x dr6=%#x dr7=%#x rflags=%#x "+
		"cs=%#x/%#x ss=%#x/%#x ds=%#x/%#x tr=%#x/%#x cpl=%d)",
		reason, c.CR0, c.CR3, c.CR4, c.EFER, c.DR6, c.DR7, c.RFLAGS,
		c.CS.Selector, c.CS.Attrib, c.SS.Selector, c.SS.Attrib, c.DS.Selector, c.DS.Attrib,
		c.TR.Selector, c.TR.Attrib, c.CPL)
}

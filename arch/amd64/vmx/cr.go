package vmx

import (
	"unsafe"

	"gozen/hv/x86"
)

// crAccess emulates a control-register access that exited (ReasonCRAccess;
// SDM vol. 3 §26.1.3): a MOV to CR0 or CR4 that changes a bit GoZen owns
// (the VMX fixed bits, CR0.NE and CR4.VMXE on most CPUs), MOV to/from CR8
// (the guest's TPR: there is no TPR shadow, and a guest must not reach the
// host's), and CR3 if this CPU cannot stop CR3 exits. It moves RIP past
// the n-byte instruction, or injects #GP(0) as the CPU would for a bad
// value.
func (v *VCPU) crAccess(q CRAccess, n int) {
	mode := v.Mode()
	val := func() uint64 {
		x := v.regs[q.Reg]
		if mode != x86.Mode64 {
			x &= 0xffffffff
		}
		return x
	}
	ok := true
	switch {
	case q.CR == 0 && q.Type == CRMovTo:
		ok = v.writeCR0(val())
	case q.CR == 0 && q.Type == CRCLTS:
		ok = v.writeCR0(v.guestCR(GuestCR0, CR0ReadShadow, CR0GuestHostMask) &^ 8)
	case q.CR == 0 && q.Type == CRLMSW:
		// LMSW loads PE, MP, EM and TS, and cannot clear PE.
		old := v.guestCR(GuestCR0, CR0ReadShadow, CR0GuestHostMask)
		ok = v.writeCR0(old&^0xe | uint64(q.LMSWData)&0xf | old&1)
	case q.CR == 4 && q.Type == CRMovTo:
		ok = v.writeCR4(val())
	case q.CR == 3 && q.Type == CRMovTo:
		v.write(GuestCR3, val())
		v.flush = true
		ok = v.loadPDPTEs()
	case q.CR == 3 && q.Type == CRMovFrom:
		v.regs[q.Reg] = v.read(GuestCR3)
	case q.CR == 8 && q.Type == CRMovTo:
		if val()>>4 != 0 {
			ok = false
		} else {
			v.cr8 = val()
		}
	case q.CR == 8 && q.Type == CRMovFrom:
		v.regs[q.Reg] = v.cr8
	default:
		ok = false
	}
	if !ok {
		v.InjectException(13, 0, true)
		return
	}
	rip := v.RIP() + uint64(n)
	if mode != x86.Mode64 {
		rip &= 0xffffffff
	}
	v.SetRIP(rip)
}

// writeCR0 checks and loads a guest CR0 value, with what MOV to CR0 does
// to long mode (SDM vol. 3 §10.8.5 "Initializing IA-32e Mode": setting PG
// with EFER.LME activates it, clearing PG leaves it; under VMX the VMM
// keeps EFER.LMA and the IA-32e mode guest control in step). false means
// #GP.
func (v *VCPU) writeCR0(x uint64) bool {
	if x>>32 != 0 || x&cr0PG != 0 && x&cr0PE == 0 || x&cr0NW != 0 && x&cr0CD == 0 {
		return false
	}
	old := v.guestCR(GuestCR0, CR0ReadShadow, CR0GuestHostMask)
	efer := v.read(GuestEFER)
	switch {
	case x&cr0PG != 0 && old&cr0PG == 0 && efer&x86.EFERLME != 0:
		if v.guestCR(GuestCR4, CR4ReadShadow, CR4GuestHostMask)&cr4PAE == 0 {
			return false
		}
		v.SetEFER(efer | x86.EFERLMA)
	case x&cr0PG == 0 && old&cr0PG != 0 && efer&x86.EFERLMA != 0:
		v.SetEFER(efer &^ x86.EFERLMA)
	}
	v.setCR0(x)
	return v.loadPDPTEs()
}

// writeCR4 checks and loads a guest CR4 value. VMXE and the bits this CPU
// does not allow in VMX operation raise #GP (false), as does clearing PAE
// in long mode.
func (v *VCPU) writeCR4(x uint64) bool {
	if x&cr4VMXE != 0 || x&^v.b.cr4May != 0 {
		return false
	}
	if x&cr4PAE == 0 && v.read(GuestEFER)&x86.EFERLMA != 0 {
		return false
	}
	v.setCR4(x)
	return v.loadPDPTEs()
}

// loadPDPTEs: in PAE paging (not long mode) VM entry takes the four
// page-directory-pointer entries from the VMCS, not from memory (SDM
// §27.3.2.4). A VM exit saves the CPU's, so they are right unless GoZen
// itself changed CR0, CR3 or CR4: then they are read from the guest's
// page at CR3 (through the EPT tables), as MOV to CR would. A present
// entry with reserved bits set is #GP (false), as on the CPU.
func (v *VCPU) loadPDPTEs() bool {
	cr0 := v.read(GuestCR0)
	cr4 := v.read(GuestCR4)
	if cr0&cr0PG == 0 || cr4&cr4PAE == 0 || v.read(GuestEFER)&x86.EFERLMA != 0 {
		return true
	}
	gpa := v.read(GuestCR3) &^ 31
	hpa, ok := eptTranslate(v.eptp, gpa)
	if !ok {
		return false
	}
	p := (*[4]uint64)(unsafe.Pointer(uintptr(hpa)))
	for i, e := range p {
		if e&1 != 0 && e&0x1e6 != 0 {
			return false
		}
		v.write(GuestPDPTE0+Field(2*i), e)
	}
	return true
}

// eptTranslate walks the EPT tables of eptp (identity-mapped host memory,
// as mm/npt builds them) for gpa: the host physical address, or ok false
// if gpa is not readable. 32 bytes at gpa&^31 never cross a page.
func eptTranslate(eptp, gpa uint64) (hpa uint64, ok bool) {
	const addr = 0x000f_ffff_ffff_f000
	table := eptp & addr
	for level := 3; level >= 0; level-- {
		e := (*[512]uint64)(unsafe.Pointer(uintptr(table)))[(gpa>>(12+9*level))&511]
		if e&1 == 0 {
			return 0, false
		}
		if level == 0 || e&(1<<7) != 0 {
			size := uint64(1) << (12 + 9*level)
			return e&addr&^(size-1) | gpa&(size-1), true
		}
		table = e & addr
	}
	return 0, false
}

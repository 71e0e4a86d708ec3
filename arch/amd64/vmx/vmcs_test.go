package vmx

import "testing"

// Every field constant's encoding has the width and type of the block it
// is declared in (SDM appendix B), access type "full" (bit 0 clear), and
// no reserved bits (12, 15 and up).
func TestFieldEncodings(t *testing.T) {
	type blk struct {
		width, typ int
		fields     map[string]Field
	}
	blocks := []blk{
		{Width16, TypeControl, map[string]Field{"VPID": VPID}},
		{Width16, TypeGuest, map[string]Field{"GuestESSel": GuestESSel, "GuestCSSel": GuestCSSel, "GuestSSSel": GuestSSSel,
			"GuestDSSel": GuestDSSel, "GuestFSSel": GuestFSSel, "GuestGSSel": GuestGSSel, "GuestLDTRSel": GuestLDTRSel, "GuestTRSel": GuestTRSel}},
		{Width16, TypeHost, map[string]Field{"HostESSel": HostESSel, "HostCSSel": HostCSSel, "HostSSSel": HostSSSel,
			"HostDSSel": HostDSSel, "HostFSSel": HostFSSel, "HostGSSel": HostGSSel, "HostTRSel": HostTRSel}},
		{Width64, TypeControl, map[string]Field{"IOBitmapAAddr": IOBitmapAAddr, "IOBitmapBAddr": IOBitmapBAddr,
			"MSRBitmapAddr": MSRBitmapAddr, "ExitMSRStoreAdr": ExitMSRStoreAdr, "ExitMSRLoadAdr": ExitMSRLoadAdr,
			"EntryMSRLoadAdr": EntryMSRLoadAdr, "TSCOffset": TSCOffset, "EPTPointer": EPTPointer}},
		{Width64, TypeExit, map[string]Field{"GuestPhysAddr": GuestPhysAddr}},
		{Width64, TypeGuest, map[string]Field{"VMCSLinkPointer": VMCSLinkPointer, "GuestDebugCtl": GuestDebugCtl,
			"GuestPAT": GuestPAT, "GuestEFER": GuestEFER, "GuestPDPTE0": GuestPDPTE0, "GuestPDPTE1": GuestPDPTE1,
			"GuestPDPTE2": GuestPDPTE2, "GuestPDPTE3": GuestPDPTE3}},
		{Width64, TypeHost, map[string]Field{"HostPAT": HostPAT, "HostEFER": HostEFER}},
		{Width32, TypeControl, map[string]Field{"PinControls": PinControls, "ProcControls": ProcControls,
			"ExceptionBitmap": ExceptionBitmap, "PFErrorCodeMask": PFErrorCodeMask, "PFErrorCodeMatch": PFErrorCodeMatch,
			"CR3TargetCount": CR3TargetCount, "ExitControls": ExitControls, "ExitMSRStoreCount": ExitMSRStoreCount,
			"ExitMSRLoadCount": ExitMSRLoadCount, "EntryControls": EntryControls, "EntryMSRLoadCount": EntryMSRLoadCount,
			"EntryIntrInfo": EntryIntrInfo, "EntryExceptionCode": EntryExceptionCode, "EntryInsnLen": EntryInsnLen,
			"TPRThreshold": TPRThreshold, "Proc2Controls": Proc2Controls}},
		{Width32, TypeExit, map[string]Field{"VMInstructionError": VMInstructionError, "ExitReason": ExitReason,
			"ExitIntrInfo": ExitIntrInfo, "ExitIntrErrorCode": ExitIntrErrorCode, "IDTVectoringInfo": IDTVectoringInfo,
			"IDTVectoringError": IDTVectoringError, "ExitInsnLen": ExitInsnLen, "ExitInsnInfo": ExitInsnInfo}},
		{Width32, TypeGuest, map[string]Field{"GuestESLimit": GuestESLimit, "GuestTRLimit": GuestTRLimit,
			"GuestGDTRLimit": GuestGDTRLimit, "GuestIDTRLimit": GuestIDTRLimit, "GuestESAR": GuestESAR, "GuestTRAR": GuestTRAR,
			"GuestInterruptibility": GuestInterruptibility, "GuestActivityState": GuestActivityState, "GuestSysenterCS": GuestSysenterCS}},
		{Width32, TypeHost, map[string]Field{"HostSysenterCS": HostSysenterCS}},
		{WidthNatural, TypeControl, map[string]Field{"CR0GuestHostMask": CR0GuestHostMask, "CR4GuestHostMask": CR4GuestHostMask,
			"CR0ReadShadow": CR0ReadShadow, "CR4ReadShadow": CR4ReadShadow}},
		{WidthNatural, TypeExit, map[string]Field{"ExitQualification": ExitQualification, "GuestLinearAddr": GuestLinearAddr}},
		{WidthNatural, TypeGuest, map[string]Field{"GuestCR0": GuestCR0, "GuestCR3": GuestCR3, "GuestCR4": GuestCR4,
			"GuestESBase": GuestESBase, "GuestTRBase": GuestTRBase, "GuestGDTRBase": GuestGDTRBase, "GuestIDTRBase": GuestIDTRBase,
			"GuestDR7": GuestDR7, "GuestRSP": GuestRSP, "GuestRIP": GuestRIP, "GuestRFLAGS": GuestRFLAGS,
			"GuestPendingDebug": GuestPendingDebug, "GuestSysenterESP": GuestSysenterESP, "GuestSysenterEIP": GuestSysenterEIP}},
		{WidthNatural, TypeHost, map[string]Field{"HostCR0": HostCR0, "HostCR3": HostCR3, "HostCR4": HostCR4,
			"HostFSBase": HostFSBase, "HostGSBase": HostGSBase, "HostTRBase": HostTRBase, "HostGDTRBase": HostGDTRBase,
			"HostIDTRBase": HostIDTRBase, "HostSysenterESP": HostSysenterESP, "HostSysenterEIP": HostSysenterEIP,
			"HostRSP": HostRSP, "HostRIP": HostRIP}},
	}
	seen := map[Field]string{}
	for _, b := range blocks {
		for name, f := range b.fields {
			if f.Width() != b.width || f.Type() != b.typ {
				t.Errorf("%s = %#x: width %d type %d, want width %d type %d", name, uint32(f), f.Width(), f.Type(), b.width, b.typ)
			}
			if f&1 != 0 || f&(1<<12) != 0 || f>>15 != 0 {
				t.Errorf("%s = %#x: high-access or reserved bits set", name, uint32(f))
			}
			if other, dup := seen[f]; dup {
				t.Errorf("%s and %s share encoding %#x", name, other, uint32(f))
			}
			seen[f] = name
		}
	}
	// Values from SDM appendix B, one or two per block, spelled out.
	for _, c := range []struct {
		f    Field
		want uint32
	}{{VPID, 0x0000}, {GuestTRSel, 0x080E}, {HostTRSel, 0x0C0C}, {EPTPointer, 0x201A}, {GuestPhysAddr, 0x2400},
		{VMCSLinkPointer, 0x2800}, {GuestEFER, 0x2806}, {HostEFER, 0x2C02}, {Proc2Controls, 0x401E},
		{ExitReason, 0x4402}, {GuestInterruptibility, 0x4824}, {HostSysenterCS, 0x4C00}, {CR4ReadShadow, 0x6006},
		{ExitQualification, 0x6400}, {GuestRIP, 0x681E}, {HostRIP, 0x6C16}} {
		if uint32(c.f) != c.want {
			t.Errorf("field %#x, SDM says %#x", uint32(c.f), c.want)
		}
	}
}

// The segment helpers reach each segment's four fields.
func TestSegFields(t *testing.T) {
	for _, c := range []struct {
		s                    Seg
		sel, limit, ar, base Field
	}{
		{SegES, GuestESSel, GuestESLimit, GuestESAR, GuestESBase},
		{SegCS, GuestCSSel, GuestCSLimit, GuestCSAR, GuestCSBase},
		{SegSS, GuestSSSel, GuestSSLimit, GuestSSAR, GuestSSBase},
		{SegGS, GuestGSSel, GuestGSLimit, GuestGSAR, GuestGSBase},
		{SegLDTR, GuestLDTRSel, GuestLDTRLimit, GuestLDTRAR, GuestLDTRBase},
		{SegTR, GuestTRSel, GuestTRLimit, GuestTRAR, GuestTRBase},
	} {
		if c.s.Selector() != c.sel || c.s.Limit() != c.limit || c.s.AR() != c.ar || c.s.Base() != c.base {
			t.Errorf("segment %d: %#x %#x %#x %#x", c.s, c.s.Selector(), c.s.Limit(), c.s.AR(), c.s.Base())
		}
	}
}

// Access rights: the SVM attribute packing plus 4 bits (SDM table 25-2).
func TestAccessRights(t *testing.T) {
	for _, c := range []struct {
		ar                      uint32
		typ, s, dpl, p, l, d, g uint32
	}{
		{ARCode32, 11, 1, 0, 1, 0, 1, 1}, {ARData, 3, 1, 0, 1, 0, 1, 1}, {ARCode64, 11, 1, 0, 1, 1, 0, 1},
		{ARBusyTSS, 11, 0, 0, 1, 0, 0, 0}, {ARLDT, 2, 0, 0, 1, 0, 0, 0}, {ARRealCode, 11, 1, 0, 1, 0, 0, 0},
		{ARRealData, 3, 1, 0, 1, 0, 0, 0},
	} {
		got := [7]uint32{c.ar & 15, c.ar >> 4 & 1, c.ar >> 5 & 3, c.ar >> 7 & 1, c.ar >> 13 & 1, c.ar >> 14 & 1, c.ar >> 15 & 1}
		want := [7]uint32{c.typ, c.s, c.dpl, c.p, c.l, c.d, c.g}
		if got != want || c.ar&ARUnusable != 0 || c.ar&0x0f00 != 0 {
			t.Errorf("AR %#x decodes to type,S,DPL,P,L,D,G %v, want %v", c.ar, got, want)
		}
	}
}

func TestIntrInfo(t *testing.T) {
	if got := IntrInfo(13, IntrTypeHWExc, true); got != 0x80000b0d {
		t.Errorf("#GP with error code: %#x, want 0x80000b0d", got)
	}
	if got := IntrInfo(0x20, IntrTypeExternal, false); got != 0x80000020 {
		t.Errorf("external 0x20: %#x", got)
	}
	if got := IntrInfo(2, IntrTypeNMI, false); got != 0x80000202 {
		t.Errorf("NMI: %#x", got)
	}
}

func TestDecodeQualifications(t *testing.T) {
	// OUT DX, AL to 0xE9; IN EAX, imm8 0x71; REP INSW at 0x1F0.
	for _, c := range []struct {
		q    uint64
		want IOQual
	}{
		{0xe9 << 16, IOQual{Size: 1, Port: 0xe9}},
		{0x71<<16 | 1<<6 | 1<<3 | 3, IOQual{Size: 4, In: true, Imm: true, Port: 0x71}},
		{0x1f0<<16 | 1<<5 | 1<<4 | 1<<3 | 1, IOQual{Size: 2, In: true, String: true, Rep: true, Port: 0x1f0}},
		{2, IOQual{Size: 0}}, // a size encoding the SDM does not define
	} {
		if got := DecodeIOQual(c.q); got != c.want {
			t.Errorf("DecodeIOQual(%#x) = %+v, want %+v", c.q, got, c.want)
		}
	}
	// A write to a read-only (readable, executable) page, linear address valid.
	ev := DecodeEPTViolation(1<<1 | 1<<3 | 1<<5 | 1<<7 | 1<<8)
	if !ev.Write || ev.Read || ev.Fetch || !ev.Present || !ev.LinearOK || !ev.FinalAddr {
		t.Errorf("write to read-only page: %+v", ev)
	}
	// A fetch from an unmapped page.
	if ev := DecodeEPTViolation(1 << 2); !ev.Fetch || ev.Present {
		t.Errorf("fetch from unmapped page: %+v", ev)
	}
	// MOV CR0, RSI (reg 6); MOV R9, CR8; LMSW 0x000b.
	for _, c := range []struct {
		q    uint64
		want CRAccess
	}{
		{6 << 8, CRAccess{CR: 0, Type: CRMovTo, Reg: 6}},
		{9<<8 | 1<<4 | 8, CRAccess{CR: 8, Type: CRMovFrom, Reg: 9}},
		{0xb<<16 | 3<<4, CRAccess{CR: 0, Type: CRLMSW, LMSWData: 0xb}},
	} {
		if got := DecodeCRAccess(c.q); got != c.want {
			t.Errorf("DecodeCRAccess(%#x) = %+v, want %+v", c.q, got, c.want)
		}
	}
}

func TestNames(t *testing.T) {
	for r, want := range map[uint32]string{0: "EXCEPTION_NMI", 10: "CPUID", 18: "VMCALL", 30: "IO_INSTRUCTION",
		48: "EPT_VIOLATION", 33 | ExitReasonEntryFail: "INVALID_GUEST_STATE", 35: "UNKNOWN", 1000: "UNKNOWN"} {
		if got := ReasonName(r); got != want {
			t.Errorf("ReasonName(%d) = %q, want %q", r, got, want)
		}
	}
	if InsnErrorName(7) != "VM entry with invalid control field(s)" || InsnErrorName(99) != "unknown VM-instruction error" {
		t.Error("VM-instruction error names")
	}
}

// The host TR base comes from the 16-byte TSS descriptor (SDM vol. 3
// §8.2.3): base 15:0 in bytes 2-3, 23:16 in byte 4, 31:24 in byte 7,
// 63:32 in bytes 8-11.
func TestDescriptorBase(t *testing.T) {
	d := []byte{0x67, 0x00, 0x34, 0x12, 0x56, 0x89, 0x00, 0x78, 0xef, 0xcd, 0xab, 0x90, 0, 0, 0, 0}
	if got := DescriptorBase(d); got != 0x90abcdef_78561234 {
		t.Errorf("DescriptorBase = %#x, want 0x90abcdef78561234", got)
	}
}

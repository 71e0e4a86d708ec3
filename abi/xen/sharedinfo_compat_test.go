package xen

import "testing"

// i386 lays out a struct by aligning each field to min(its size, 4) (the
// compat headers' #pragma pack(4) for uint64_t); ilayout returns the
// offsets of fields of the given sizes (arrays as count*size with the
// element's alignment) and the struct's size.
type ifield struct {
	name       string
	elem, n    int
	wantOffset int
}

func ilayout(t *testing.T, what string, fields []ifield, wantSize int) {
	t.Helper()
	off, maxAlign := 0, 1
	for _, f := range fields {
		a := min(f.elem, 4)
		maxAlign = max(maxAlign, a)
		off = (off + a - 1) / a * a
		if off != f.wantOffset {
			t.Errorf("%s.%s at %d, want %d", what, f.name, off, f.wantOffset)
		}
		off += f.elem * f.n
	}
	off = (off + maxAlign - 1) / maxAlign * maxAlign
	if off != wantSize {
		t.Errorf("sizeof(%s) = %d, want %d", what, off, wantSize)
	}
}

// struct compat_vcpu_info, compat_arch_vcpu_info (xen-x86_32.h) and
// compat_shared_info with compat_arch_shared_info (arch-x86/xen.h under
// __i386__), from xen/include/public/xen.h.
func TestCompatSharedInfoLayout(t *testing.T) {
	ilayout(t, "compat_arch_vcpu_info", []ifield{{"cr2", 4, 1, 0}, {"pad", 4, 5, 4}}, CompatArchVCPUInfoSize)
	ilayout(t, "compat_vcpu_info", []ifield{
		{"evtchn_upcall_pending", 1, 1, VCPUInfoUpcallPendingOffset},
		{"evtchn_upcall_mask", 1, 1, VCPUInfoUpcallMaskOffset},
		{"evtchn_pending_sel", 4, 1, CompatVCPUInfoPendingSelOffset},
		{"arch", 4, CompatArchVCPUInfoSize / 4, CompatVCPUInfoArchOffset},
		{"time", 8, VCPUTimeInfoSize / 8, VCPUInfoTimeOffset},
	}, CompatVCPUInfoSize)
	ilayout(t, "compat_arch_shared_info", []ifield{
		{"max_pfn", 4, 1, 0}, {"pfn_to_mfn_frame_list_list", 4, 1, 4}, {"nmi_reason", 4, 1, 8},
		{"p2m_cr3", 4, 1, 12}, {"p2m_vaddr", 4, 1, 16}, {"p2m_generation", 4, 1, 20}, {"wc_sec_hi", 4, 1, 24},
	}, CompatArchSharedInfoSize)
	ilayout(t, "compat_shared_info", []ifield{
		{"vcpu_info", CompatVCPUInfoSize, XenLegacyMaxVCPUs, SharedInfoVCPUInfoOffset},
		{"evtchn_pending", 4, CompatEvtchnWords, CompatSharedInfoEvtchnPendingOffset},
		{"evtchn_mask", 4, CompatEvtchnWords, CompatSharedInfoEvtchnMaskOffset},
		{"wc_version", 4, 1, CompatSharedInfoWcVersionOffset},
		{"wc_sec", 4, 1, CompatSharedInfoWcSecOffset},
		{"wc_nsec", 4, 1, CompatSharedInfoWcNsecOffset},
		{"arch", 4, CompatArchSharedInfoSize / 4, CompatSharedInfoArchOffset},
	}, CompatSharedInfoSize)
	if CompatSharedInfoArchOffset+24 != CompatSharedInfoWcSecHiOffset {
		t.Errorf("arch.wc_sec_hi at %d, want arch + 24", CompatSharedInfoWcSecHiOffset)
	}
	if CompatEvtchn2LNrChannels != CompatEvtchnWords*32 || CompatSharedInfoEvtchnMaskOffset-CompatSharedInfoEvtchnPendingOffset != CompatEvtchnWords*4 {
		t.Error("compat bitmaps do not hold CompatEvtchn2LNrChannels bits")
	}
	// The same rules give the 64-bit layout's offsets with 8-byte longs
	// when alignment is natural: a check of the checker.
	n, c := SharedInfoLayoutOf(false), SharedInfoLayoutOf(true)
	if n.SelBytes != 8 || c.SelBytes != 4 || n.EvtchnMask != SharedInfoEvtchnMaskOffset || c.EvtchnMask != 2176 ||
		c.WcVersion != 2304 || c.WcSecHi != 2340 || n.WcSecHi != SharedInfoWcSecHiOffset || c.NrChannels != 1024 || n.NrChannels != 4096 ||
		c.BitmapBytes != 128 || n.BitmapBytes != 512 || c.PendingSel != 4 || n.PendingSel != 8 {
		t.Errorf("layouts: native %+v compat %+v", *n, *c)
	}
}

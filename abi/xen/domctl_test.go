package xen

import (
	"testing"
	"unsafe"
)

// domctl, sysctl and HVM save records, from Xen 4.17's
// xen/include/public/{domctl.h,sysctl.h,hvm/save.h,arch-x86/hvm/save.h}.

func TestDomctlConstants(t *testing.T) {
	checkConsts(t, []constCase{
		{"XEN_DOMCTL_INTERFACE_VERSION (4.17)", DomctlInterfaceVersion, 0x15},
		{"XEN_SYSCTL_INTERFACE_VERSION (4.17)", SysctlInterfaceVersion, 0x15},
		{"XEN_DOMCTL_createdomain", DomctlCreateDomain, 1},
		{"XEN_DOMCTL_destroydomain", DomctlDestroyDomain, 2},
		{"XEN_DOMCTL_pausedomain", DomctlPauseDomain, 3},
		{"XEN_DOMCTL_unpausedomain", DomctlUnpauseDomain, 4},
		{"XEN_DOMCTL_getdomaininfo", DomctlGetDomainInfo, 5},
		{"XEN_DOMCTL_setvcpuaffinity", DomctlSetVCPUAffinity, 9},
		{"XEN_DOMCTL_max_mem", DomctlMaxMem, 11},
		{"XEN_DOMCTL_max_vcpus", DomctlMaxVCPUs, 15},
		{"XEN_DOMCTL_scheduler_op", DomctlSchedulerOp, 16},
		{"XEN_DOMCTL_settimeoffset", DomctlSetTimeOffset, 24},
		{"XEN_DOMCTL_getvcpuaffinity", DomctlGetVCPUAffinity, 25},
		{"XEN_DOMCTL_gethvmcontext", DomctlGetHVMContext, 33},
		{"XEN_DOMCTL_sethvmcontext", DomctlSetHVMContext, 34},
		{"XEN_DOMCTL_settscinfo", DomctlSetTSCInfo, 60},
		{"XEN_DOMCTL_setnodeaffinity", DomctlSetNodeAffinity, 68},
		{"XEN_DOMCTL_get_cpu_policy", DomctlGetCPUPolicy, 82},
		{"XEN_DOMCTL_set_cpu_policy", DomctlSetCPUPolicy, 83},
		{"XEN_DOMCTL_set_paging_mempool_size", DomctlSetPagingMempoolSize, 86},
		{"XEN_DOMCTL_gdbsx_guestmemio", DomctlGdbsxGuestMemIO, 1000},
		{"XEN_DOMCTL_CDF_hvm", DomctlCDFHVM, 1},
		{"XEN_DOMCTL_CDF_hap", DomctlCDFHAP, 2},
		{"XEN_DOMCTL_CDF_iommu", DomctlCDFIOMMU, 0x20},
		{"XEN_DOMCTL_CDF_vpmu", DomctlCDFVPMU, 0x80},
		{"XEN_X86_EMU_LAPIC", X86EmuLAPIC, 1},
		{"XEN_X86_EMU_VPCI", X86EmuVPCI, 1 << 10},
		{"XEN_DOMINF_dying", DominfDying, 1},
		{"XEN_DOMINF_hvm_guest", DominfHVMGuest, 2},
		{"XEN_DOMINF_shutdown", DominfShutdown, 4},
		{"XEN_DOMINF_paused", DominfPaused, 8},
		{"XEN_DOMINF_blocked", DominfBlocked, 0x10},
		{"XEN_DOMINF_running", DominfRunning, 0x20},
		{"XEN_DOMINF_hap", DominfHAP, 0x100},
		{"XEN_DOMINF_shutdownmask", DominfShutdownMask, 255},
		{"XEN_DOMINF_shutdownshift", DominfShutdownShift, 16},
		{"XEN_INVALID_MAX_VCPU_ID", uint64(XenInvalidMaxVCPUID), 0xffffffff},
		{"XEN_VCPUAFFINITY_HARD", VCPUAffinityHard, 1},
		{"XEN_VCPUAFFINITY_SOFT", VCPUAffinitySoft, 2},
		{"XEN_SCHEDULER_CREDIT", SchedulerCredit, 5},
		{"XEN_SCHEDULER_CREDIT2", SchedulerCredit2, 6},
		{"XEN_DOMCTL_SCHEDOP_putinfo", DomctlSchedopPutinfo, 0},
		{"XEN_DOMCTL_SCHEDOP_getinfo", DomctlSchedopGetinfo, 1},
		{"XEN_SYSCTL_readconsole", SysctlReadconsole, 1},
		{"XEN_SYSCTL_physinfo", SysctlPhysinfo, 3},
		{"XEN_SYSCTL_sched_id", SysctlSchedID, 4},
		{"XEN_SYSCTL_getdomaininfolist", SysctlGetdomaininfolist, 6},
		{"XEN_SYSCTL_get_cpu_policy", SysctlGetCPUPolicy, 25},
		{"XEN_SYSCTL_PHYSCAP_hvm", PhyscapHVM, 1},
		{"XEN_SYSCTL_PHYSCAP_hap", PhyscapHAP, 8},
		{"XEN_SYSCTL_PHYSCAP_gnttab_v1", PhyscapGnttabV1, 0x100},
		{"HVM_SAVE_CODE(END)", HVMSaveCodeEnd, 0},
		{"HVM_SAVE_CODE(HEADER)", HVMSaveCodeHeader, 1},
		{"HVM_SAVE_CODE(CPU)", HVMSaveCodeCPU, 2},
		{"HVM_SAVE_CODE(MTRR)", HVMSaveCodeMTRR, 14},
		{"HVM_FILE_MAGIC", HVMFileMagic, 0x54381286},
		{"HVM_FILE_VERSION", HVMFileVersion, 1},
	})
}

func TestXenDomctlLayout(t *testing.T) {
	var v XenDomctl
	checkLayout(t, "xen_domctl", unsafe.Sizeof(v), XenDomctlSize, []fieldOff{
		{"cmd", unsafe.Offsetof(v.Cmd), 0},
		{"interface_version", unsafe.Offsetof(v.InterfaceVersion), 4},
		{"domain", unsafe.Offsetof(v.Domain), 8},
		{"u", unsafe.Offsetof(v.U), 16},
	})
	if XenDomctlSize != 144 {
		t.Errorf("XenDomctlSize = %d", XenDomctlSize)
	}
	for i := range v.U {
		v.U[i] = byte(17 + i)
	}
	v.Cmd, v.InterfaceVersion, v.Domain = 0x04030201, 0x08070605, 0x0a09
	checkEncoding(t, &v, &XenDomctl{}, seqPattern(144, [2]int{10, 16}))
}

func TestXenDomctlCreateDomainLayout(t *testing.T) {
	var v XenDomctlCreateDomain
	checkLayout(t, "xen_domctl_createdomain", unsafe.Sizeof(v), 64, []fieldOff{
		{"ssidref", unsafe.Offsetof(v.SSIDRef), 0},
		{"handle", unsafe.Offsetof(v.Handle), 4},
		{"flags", unsafe.Offsetof(v.Flags), 20},
		{"iommu_opts", unsafe.Offsetof(v.IOMMUOpts), 24},
		{"max_vcpus", unsafe.Offsetof(v.MaxVCPUs), 28},
		{"max_evtchn_port", unsafe.Offsetof(v.MaxEvtchnPort), 32},
		{"max_grant_frames", unsafe.Offsetof(v.MaxGrantFrames), 36},
		{"max_maptrack_frames", unsafe.Offsetof(v.MaxMaptrackFrames), 40},
		{"grant_opts", unsafe.Offsetof(v.GrantOpts), 44},
		{"vmtrace_size", unsafe.Offsetof(v.VmtraceSize), 48},
		{"cpupool_id", unsafe.Offsetof(v.CPUPoolID), 52},
		{"arch.emulation_flags", unsafe.Offsetof(v.EmulationFlags), 56},
		{"arch.misc_flags", unsafe.Offsetof(v.MiscFlags), 60},
	})
	want := seqPattern(64)
	if err := v.Decode(want); err != nil {
		t.Fatal(err)
	}
	checkEncoding(t, &v, &XenDomctlCreateDomain{}, want)
}

func TestXenDomctlGetDomainInfoLayout(t *testing.T) {
	var v XenDomctlGetDomainInfo
	checkLayout(t, "xen_domctl_getdomaininfo", unsafe.Sizeof(v), 112, []fieldOff{
		{"domain", unsafe.Offsetof(v.Domain), 0},
		{"flags", unsafe.Offsetof(v.Flags), 4},
		{"tot_pages", unsafe.Offsetof(v.TotPages), 8},
		{"max_pages", unsafe.Offsetof(v.MaxPages), 16},
		{"outstanding_pages", unsafe.Offsetof(v.OutstandingPages), 24},
		{"shr_pages", unsafe.Offsetof(v.ShrPages), 32},
		{"paged_pages", unsafe.Offsetof(v.PagedPages), 40},
		{"shared_info_frame", unsafe.Offsetof(v.SharedInfoFrame), 48},
		{"cpu_time", unsafe.Offsetof(v.CPUTime), 56},
		{"nr_online_vcpus", unsafe.Offsetof(v.NrOnlineVCPUs), 64},
		{"max_vcpu_id", unsafe.Offsetof(v.MaxVCPUID), 68},
		{"ssidref", unsafe.Offsetof(v.SSIDRef), 72},
		{"handle", unsafe.Offsetof(v.Handle), 76},
		{"cpupool", unsafe.Offsetof(v.CPUPool), 92},
		{"gpaddr_bits", unsafe.Offsetof(v.GPAddrBits), 96},
		{"arch_config.emulation_flags", unsafe.Offsetof(v.EmulationFlags), 104},
		{"arch_config.misc_flags", unsafe.Offsetof(v.MiscFlags), 108},
	})
	want := seqPattern(112, [2]int{2, 4}, [2]int{97, 104})
	if err := v.Decode(want); err != nil {
		t.Fatal(err)
	}
	checkEncoding(t, &v, &XenDomctlGetDomainInfo{}, want)
	v.Flags = DominfShutdown | 3<<DominfShutdownShift
	if v.ShutdownCode() != 3 {
		t.Errorf("ShutdownCode = %d", v.ShutdownCode())
	}
}

func TestGdbsxMemIOLayout(t *testing.T) {
	var m XenDomctlGdbsxMemIO
	checkLayout(t, "xen_domctl_gdbsx_memio", unsafe.Sizeof(m), XenDomctlGdbsxMemIOSize, []fieldOff{
		{"pgd3val", unsafe.Offsetof(m.PGD3Val), 0},
		{"gva", unsafe.Offsetof(m.GVA), 8},
		{"uva", unsafe.Offsetof(m.UVA), 16},
		{"len", unsafe.Offsetof(m.Len), 24},
		{"gwr", unsafe.Offsetof(m.GWr), 28},
		{"remain", unsafe.Offsetof(m.Remain), 32},
	})
	want := seqPattern(40, [2]int{29, 32}, [2]int{36, 40})
	if err := m.Decode(want); err != nil {
		t.Fatal(err)
	}
	checkEncoding(t, &m, &XenDomctlGdbsxMemIO{}, want)
	if m.GWr != 29 || m.Remain != 0x24232221 {
		t.Errorf("decoded gwr %d remain %#x", m.GWr, m.Remain)
	}
}

func TestSmallDomctlLayouts(t *testing.T) {
	var m XenDomctlMaxMem
	checkLayout(t, "xen_domctl_max_mem", unsafe.Sizeof(m), 8, nil)
	m.Decode(seqPattern(8))
	checkEncoding(t, &m, &XenDomctlMaxMem{}, seqPattern(8))
	var c XenDomctlMaxVCPUs
	checkLayout(t, "xen_domctl_max_vcpus", unsafe.Sizeof(c), 4, nil)
	c.Decode(seqPattern(4))
	checkEncoding(t, &c, &XenDomctlMaxVCPUs{}, seqPattern(4))
	var dh XenDomctlSetDomainHandle
	checkLayout(t, "xen_domctl_setdomainhandle", unsafe.Sizeof(dh), 16, []fieldOff{
		{"handle", unsafe.Offsetof(dh.Handle), 0},
	})
	dh.Decode(seqPattern(16))
	if dh.Handle[0] != 1 || dh.Handle[15] != 16 {
		t.Errorf("decoded handle %x", dh.Handle)
	}
	checkEncoding(t, &dh, &XenDomctlSetDomainHandle{}, seqPattern(16))

	var a XenDomctlVCPUAffinity
	checkLayout(t, "xen_domctl_vcpuaffinity", unsafe.Sizeof(a), 40, []fieldOff{
		{"vcpu", unsafe.Offsetof(a.VCPU), 0},
		{"flags", unsafe.Offsetof(a.Flags), 4},
		{"cpumap_hard", unsafe.Offsetof(a.CPUMapHard), 8},
		{"cpumap_soft", unsafe.Offsetof(a.CPUMapSoft), 24},
	})
	want := seqPattern(40, [2]int{20, 24}, [2]int{36, 40})
	a.Decode(want)
	checkEncoding(t, &a, &XenDomctlVCPUAffinity{}, want)

	var s XenDomctlSchedulerOp
	checkLayout(t, "xen_domctl_scheduler_op", unsafe.Sizeof(s), 24, []fieldOff{
		{"sched_id", unsafe.Offsetof(s.SchedID), 0},
		{"cmd", unsafe.Offsetof(s.Cmd), 4},
		{"u", unsafe.Offsetof(s.U), 8},
	})
	s.Decode(seqPattern(24))
	checkEncoding(t, &s, &XenDomctlSchedulerOp{}, seqPattern(24))
	if s.Weight() != 0x0a09 || s.Cap() != 0x0c0b {
		t.Errorf("credit weight %#x cap %#x", s.Weight(), s.Cap())
	}
	s.SetCredit(512, 50)
	if s.Weight() != 512 || s.Cap() != 50 || s.U[4] != 0 {
		t.Errorf("SetCredit: %v", s.U)
	}

	var h XenDomctlHVMContext
	checkLayout(t, "xen_domctl_hvmcontext", unsafe.Sizeof(h), 16, []fieldOff{
		{"size", unsafe.Offsetof(h.Size), 0},
		{"buffer", unsafe.Offsetof(h.Buffer), 8},
	})
	want = seqPattern(16, [2]int{4, 8})
	h.Decode(want)
	checkEncoding(t, &h, &XenDomctlHVMContext{}, want)
}

func TestSysctlLayouts(t *testing.T) {
	var x XenSysctl
	checkLayout(t, "xen_sysctl", unsafe.Sizeof(x), 136, []fieldOff{
		{"cmd", unsafe.Offsetof(x.Cmd), 0},
		{"interface_version", unsafe.Offsetof(x.InterfaceVersion), 4},
		{"u", unsafe.Offsetof(x.U), 8},
	})
	x.Decode(seqPattern(136))
	checkEncoding(t, &x, &XenSysctl{}, seqPattern(136))

	var r XenSysctlReadconsole
	checkLayout(t, "xen_sysctl_readconsole", unsafe.Sizeof(r), 24, []fieldOff{
		{"clear", unsafe.Offsetof(r.Clear), 0},
		{"incremental", unsafe.Offsetof(r.Incremental), 1},
		{"index", unsafe.Offsetof(r.Index), 4},
		{"buffer", unsafe.Offsetof(r.Buffer), 8},
		{"count", unsafe.Offsetof(r.Count), 16},
	})
	want := seqPattern(24, [2]int{2, 4}, [2]int{20, 24})
	r.Decode(want)
	checkEncoding(t, &r, &XenSysctlReadconsole{}, want)

	var p XenSysctlPhysinfo
	checkLayout(t, "xen_sysctl_physinfo", unsafe.Sizeof(p), 112, []fieldOff{
		{"nr_cpus", unsafe.Offsetof(p.NrCPUs), 8},
		{"cpu_khz", unsafe.Offsetof(p.CPUKHz), 24},
		{"capabilities", unsafe.Offsetof(p.Capabilities), 28},
		{"arch_capabilities", unsafe.Offsetof(p.ArchCapabilities), 32},
		{"total_pages", unsafe.Offsetof(p.TotalPages), 40},
		{"free_pages", unsafe.Offsetof(p.FreePages), 48},
		{"scrub_pages", unsafe.Offsetof(p.ScrubPages), 56},
		{"outstanding_pages", unsafe.Offsetof(p.OutstandingPages), 64},
		{"max_mfn", unsafe.Offsetof(p.MaxMFN), 72},
		{"hw_cap", unsafe.Offsetof(p.HWCap), 80},
	})
	p.Decode(seqPattern(112))
	checkEncoding(t, &p, &XenSysctlPhysinfo{}, seqPattern(112))

	var l XenSysctlGetdomaininfolist
	checkLayout(t, "xen_sysctl_getdomaininfolist", unsafe.Sizeof(l), 24, []fieldOff{
		{"first_domain", unsafe.Offsetof(l.FirstDomain), 0},
		{"max_domains", unsafe.Offsetof(l.MaxDomains), 4},
		{"buffer", unsafe.Offsetof(l.Buffer), 8},
		{"num_domains", unsafe.Offsetof(l.NumDomains), 16},
	})
	want = seqPattern(24, [2]int{2, 4}, [2]int{20, 24})
	l.Decode(want)
	checkEncoding(t, &l, &XenSysctlGetdomaininfolist{}, want)
}

func TestHVMSaveLayouts(t *testing.T) {
	var d HVMSaveDescriptor
	checkLayout(t, "hvm_save_descriptor", unsafe.Sizeof(d), 8, []fieldOff{
		{"typecode", unsafe.Offsetof(d.Typecode), 0},
		{"instance", unsafe.Offsetof(d.Instance), 2},
		{"length", unsafe.Offsetof(d.Length), 4},
	})
	d.Decode(seqPattern(8))
	checkEncoding(t, &d, &HVMSaveDescriptor{}, seqPattern(8))
	var h HVMSaveHeader
	checkLayout(t, "hvm_save_header", unsafe.Sizeof(h), 24, []fieldOff{
		{"magic", unsafe.Offsetof(h.Magic), 0},
		{"version", unsafe.Offsetof(h.Version), 4},
		{"changeset", unsafe.Offsetof(h.Changeset), 8},
		{"cpuid", unsafe.Offsetof(h.CPUID), 16},
		{"gtsc_khz", unsafe.Offsetof(h.GTSCKHz), 20},
	})
	h.Decode(seqPattern(24))
	checkEncoding(t, &h, &HVMSaveHeader{}, seqPattern(24))

	var c HVMHWCPU
	checkLayout(t, "hvm_hw_cpu", unsafe.Sizeof(c), 1032, []fieldOff{
		{"rax", unsafe.Offsetof(c.RAX), 512},
		{"rbx", unsafe.Offsetof(c.RBX), 520},
		{"rsp", unsafe.Offsetof(c.RSP), 568},
		{"r15", unsafe.Offsetof(c.R15), 632},
		{"rip", unsafe.Offsetof(c.RIP), 640},
		{"rflags", unsafe.Offsetof(c.RFlags), 648},
		{"cr0", unsafe.Offsetof(c.CR0), 656},
		{"cr4", unsafe.Offsetof(c.CR4), 680},
		{"dr7", unsafe.Offsetof(c.DR7), 728},
		{"cs_sel", unsafe.Offsetof(c.CSSel), 736},
		{"ldtr_sel", unsafe.Offsetof(c.LDTRSel), 764},
		{"cs_limit", unsafe.Offsetof(c.CSLimit), 768},
		{"gdtr_limit", unsafe.Offsetof(c.GDTRLimit), 804},
		{"cs_base", unsafe.Offsetof(c.CSBase), 808},
		{"gdtr_base", unsafe.Offsetof(c.GDTRBase), 880},
		{"cs_arbytes", unsafe.Offsetof(c.CSARBytes), 888},
		{"ldtr_arbytes", unsafe.Offsetof(c.LDTRARBytes), 916},
		{"sysenter_cs", unsafe.Offsetof(c.SysenterCS), 920},
		{"shadow_gs", unsafe.Offsetof(c.ShadowGS), 944},
		{"msr_flags", unsafe.Offsetof(c.MSRFlags), 952},
		{"msr_efer", unsafe.Offsetof(c.MSREFER), 992},
		{"msr_tsc_aux", unsafe.Offsetof(c.MSRTSCAux), 1000},
		{"tsc", unsafe.Offsetof(c.TSC), 1008},
		{"pending_event", unsafe.Offsetof(c.PendingEvent), 1016},
		{"error_code", unsafe.Offsetof(c.ErrorCode), 1020},
		{"flags", unsafe.Offsetof(c.Flags), 1024},
	})
	want := seqPattern(1032)
	c.Decode(want)
	checkEncoding(t, &c, &HVMHWCPU{}, want)
}

func TestParseHVMContext(t *testing.T) {
	hdr := HVMSaveHeader{Magic: HVMFileMagic, Version: HVMFileVersion}
	cpu := HVMHWCPU{RIP: 0x100000, RBX: 0x1000}
	b := AppendHVMRecord(nil, HVMSaveCodeHeader, 0, HVMSaveHeaderSize, &hdr)
	b = AppendHVMRecord(b, HVMSaveCodeCPU, 0, HVMHWCPUSize, &cpu)
	b = AppendHVMRecord(b, HVMSaveCodeEnd, 0, 0, nil)
	if len(b) != 3*8+24+1032 {
		t.Fatalf("length %d", len(b))
	}
	recs, err := ParseHVMContext(b, 8)
	if err != nil || len(recs) != 3 || recs[1].Typecode != HVMSaveCodeCPU || len(recs[1].Data) != HVMHWCPUSize {
		t.Fatalf("ParseHVMContext = %+v, %v", recs, err)
	}
	var got HVMHWCPU
	got.Decode(recs[1].Data)
	if got.RIP != cpu.RIP || got.RBX != cpu.RBX {
		t.Errorf("CPU record %#x %#x", got.RIP, got.RBX)
	}
	for _, bad := range [][]byte{b[:len(b)-8], b[:20], nil, b[:len(b)-9]} {
		if _, err := ParseHVMContext(bad, 8); err == nil {
			t.Errorf("truncated context of %d bytes accepted", len(bad))
		}
	}
	if _, err := ParseHVMContext(b, 2); err == nil {
		t.Error("more records than the limit accepted")
	}
}

func TestXenDomctlGetVCPUInfoLayout(t *testing.T) {
	var v XenDomctlGetVCPUInfo
	checkLayout(t, "xen_domctl_getvcpuinfo", unsafe.Sizeof(v), 24, []fieldOff{
		{"vcpu", unsafe.Offsetof(v.VCPU), 0},
		{"online", unsafe.Offsetof(v.Online), 4},
		{"blocked", unsafe.Offsetof(v.Blocked), 5},
		{"running", unsafe.Offsetof(v.Running), 6},
		{"cpu_time", unsafe.Offsetof(v.CPUTime), 8},
		{"cpu", unsafe.Offsetof(v.CPU), 16},
	})
	want := seqPattern(24, [2]int{7, 8}, [2]int{20, 24})
	v.Decode(want)
	checkEncoding(t, &v, &XenDomctlGetVCPUInfo{}, want)
	checkConsts(t, []constCase{{"XEN_DOMCTL_getvcpuinfo", DomctlGetVCPUInfo, 14}})
}

package amdvi

import "testing"

// The MMIO map of spec chapter 3 ("IOMMU MMIO Registers"), also what
// QEMU's hw/i386/amd_iommu.h defines (AMDVI_MMIO_*).
func TestRegisterOffsets(t *testing.T) {
	for _, c := range []struct {
		name      string
		got, want uint32
	}{
		{"device table base", RegDevTableBase, 0x0000},
		{"command buffer base", RegCmdBufBase, 0x0008},
		{"event log base", RegEventLogBase, 0x0010},
		{"control", RegControl, 0x0018},
		{"exclusion base", RegExclusionBase, 0x0020},
		{"exclusion limit", RegExclusionLimit, 0x0028},
		{"extended feature", RegExtFeature, 0x0030},
		{"command head", RegCmdBufHead, 0x2000},
		{"command tail", RegCmdBufTail, 0x2008},
		{"event head", RegEventLogHead, 0x2010},
		{"event tail", RegEventLogTail, 0x2018},
		{"status", RegStatus, 0x2020},
		{"window size", MMIOSize, 0x4000},
	} {
		if c.got != c.want {
			t.Errorf("%s register at %#x, want %#x", c.name, c.got, c.want)
		}
	}
}

func TestControlAndStatusBits(t *testing.T) {
	for _, c := range []struct {
		name      string
		got, want uint64
	}{
		{"IommuEn", CtlIommuEn, 1 << 0},
		{"HtTunEn", CtlHtTunEn, 1 << 1},
		{"EventLogEn", CtlEventLogEn, 1 << 2},
		{"EventIntEn", CtlEventIntEn, 1 << 3},
		{"ComWaitIntEn", CtlComWaitIntEn, 1 << 4},
		{"InvTimeOut", CtlInvTimeout, 0xe0},
		{"Coherent", CtlCoherent, 1 << 10},
		{"CmdBufEn", CtlCmdBufEn, 1 << 12},
		{"PPRLogEn", CtlPPRLogEn, 1 << 13},
		{"GTEn", CtlGTEn, 1 << 16},
		{"GAEn", CtlGAEn, 1 << 17},
		{"XTEn", CtlXTEn, 1 << 50},
		{"EventOverflow", StEventOverflow, 1 << 0},
		{"EventLogInt", StEventLogInt, 1 << 1},
		{"ComWaitInt", StComWaitInt, 1 << 2},
		{"EventLogRun", StEventLogRun, 1 << 3},
		{"CmdBufRun", StCmdBufRun, 1 << 4},
		{"IASup", EFRIASup, 1 << 6},
	} {
		if c.got != c.want {
			t.Errorf("%s = %#x, want %#x", c.name, c.got, c.want)
		}
	}
}

func TestHATS(t *testing.T) {
	// QEMU 7.2's EFR: HATS field 2 (AMDVI_HATS_MODE = 2 << 10) → 6 levels.
	qemuEFR := EFRPrefSup | EFRPPRSup | EFRIASup | EFRGTSup | EFRHESup | 2<<12 | 2<<10 | EFRGASup
	if got := HATS(qemuEFR); got != 6 {
		t.Errorf("HATS(QEMU EFR) = %d, want 6", got)
	}
	if got := HATS(0); got != 4 {
		t.Errorf("HATS(0) = %d, want 4", got)
	}
	if got := HATS(3 << 10); got != 0 {
		t.Errorf("HATS(reserved) = %d, want 0", got)
	}
}

func goodConfig() Config {
	return Config{
		DevTable: 0x200000, DevTableEntries: 256,
		CmdBuf: 0x300000, CmdEntries: 256,
		EventLog: 0x310000, EventEntries: 512,
	}
}

func TestEnableSequence(t *testing.T) {
	m := newFakeMMIO()
	m.regs[RegControl] = CtlIommuEn | CtlCmdBufEn | CtlEventLogEn | CtlCoherent // left on by firmware
	c := goodConfig()
	c.ExtraControl = InvTimeout1ms | CtlIommuEn // IommuEn here must not enable early
	if err := Enable(m, c); err != nil {
		t.Fatal(err)
	}
	base := CtlCoherent
	want := []regWrite{
		{RegControl, base},                // everything off first
		{RegDevTableBase, 0x200000 | 1},   // 2 pages: Size = 1
		{RegCmdBufBase, 0x300000 | 8<<56}, // 256 entries: ComLen 8
		{RegCmdBufHead, 0},
		{RegCmdBufTail, 0},
		{RegEventLogBase, 0x310000 | 9<<56}, // 512 entries: EventLen 9
		{RegEventLogHead, 0},
		{RegEventLogTail, 0},
		{RegExclusionBase, 0},
		{RegExclusionLimit, 0},
		{RegStatus, 7}, // clear the W1C bits
		{RegControl, base | InvTimeout1ms | CtlCmdBufEn},
		{RegControl, base | InvTimeout1ms | CtlCmdBufEn | CtlEventLogEn},
		{RegControl, base | InvTimeout1ms | CtlCmdBufEn | CtlEventLogEn | CtlIommuEn},
	}
	if len(m.writes) != len(want) {
		t.Fatalf("%d writes, want %d: %#x", len(m.writes), len(want), m.writes)
	}
	for i := range want {
		if m.writes[i] != want[i] {
			t.Errorf("write %d: reg %#x = %#x, want reg %#x = %#x", i, m.writes[i].off, m.writes[i].v, want[i].off, want[i].v)
		}
	}
}

func TestEnableRejectsBadConfig(t *testing.T) {
	for name, mod := range map[string]func(*Config){
		"unaligned device table":  func(c *Config) { c.DevTable |= 0x800 },
		"device table above 2^52": func(c *Config) { c.DevTable = 1 << 52 },
		"empty device table":      func(c *Config) { c.DevTableEntries = 0 },
		"huge device table":       func(c *Config) { c.DevTableEntries = 1<<16 + 1 },
		"small command buffer":    func(c *Config) { c.CmdEntries = 128 },
		"odd command buffer":      func(c *Config) { c.CmdEntries = 300 },
		"huge event log":          func(c *Config) { c.EventEntries = 65536 },
		"unaligned event log":     func(c *Config) { c.EventLog = 0x310008 },
	} {
		c := goodConfig()
		mod(&c)
		m := newFakeMMIO()
		if err := Enable(m, c); err == nil {
			t.Errorf("%s: Enable accepted it", name)
		}
		if len(m.writes) != 0 {
			t.Errorf("%s: Enable wrote %d registers before refusing", name, len(m.writes))
		}
	}
}

func TestDisable(t *testing.T) {
	m := newFakeMMIO()
	m.regs[RegControl] = CtlIommuEn | CtlCmdBufEn | CtlEventLogEn | CtlCoherent
	Disable(m)
	if got := m.regs[RegControl]; got != CtlCoherent {
		t.Errorf("control after Disable = %#x, want %#x", got, CtlCoherent)
	}
}

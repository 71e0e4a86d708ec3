package amdvi

import (
	"strings"
	"testing"
)

// unitFake is an IOMMU behind fakeMMIO: it runs the command buffer when
// the tail register is written while IommuEn and CmdBufEn are set (as QEMU
// does), storing completion-wait data and recording the rest.
type unitFake struct {
	m    *fakeMMIO
	mem  *fakeMem
	head uint32
	ran  []Command
}

func newUnitFake(efr uint64) *unitFake {
	f := &unitFake{m: newFakeMMIO(), mem: newFakeMem()}
	f.m.regs[RegExtFeature] = efr
	f.m.onWrite = func(off uint32, v uint64) {
		if off == RegStatus {
			f.m.regs[RegStatus] = 0 // write-1-to-clear bits; no Run bits
		}
		if off == RegCmdBufTail || off == RegControl {
			f.run()
		}
	}
	return f
}

func (f *unitFake) run() {
	ctl := f.m.regs[RegControl]
	if ctl&CtlIommuEn == 0 || ctl&CtlCmdBufEn == 0 {
		return
	}
	base := f.m.regs[RegCmdBufBase] & baseAddrMask
	size := uint32(1) << (f.m.regs[RegCmdBufBase] >> lenShift & 0xf) * CommandSize
	tail := uint32(f.m.regs[RegCmdBufTail]) & (size - 1)
	for f.head != tail {
		pa := base + uint64(f.head)
		c := Command{f.mem.read64(pa), f.mem.read64(pa + 8)}
		f.ran = append(f.ran, c)
		if c.Opcode() == OpCompletionWait {
			f.mem.write64(c[0]&cwAddrMask, c[1])
		}
		f.head = (f.head + CommandSize) & (size - 1)
		f.m.regs[RegCmdBufHead] = uint64(f.head)
	}
}

// post writes an event at the log's tail and advances the tail register.
func (f *unitFake) post(raw [2]uint64) {
	base := f.m.regs[RegEventLogBase] & baseAddrMask
	tail := f.m.regs[RegEventLogTail]
	f.mem.write64(base+tail, raw[0])
	f.mem.write64(base+tail+8, raw[1])
	f.m.regs[RegEventLogTail] = (tail + EventSize) & 0xfff
}

func (f *unitFake) alloc(pages int) (uint64, bool) {
	first, ok := f.mem.AllocTable()
	for i := 1; i < pages && ok; i++ {
		_, ok = f.mem.AllocTable() // fakeMem hands out consecutive frames
	}
	return first, ok
}

const (
	tIOMMU  = 0x0018 // 00:03.0, the IOMMU's own function
	tNIC    = 0x0010 // 00:02.0
	tAHCI   = 0x00fa // 00:1f.2
	tIOAPIC = 0x00a0 // 00:14.0
	tBridge = 0x0020 // 00:04.0, alias target of bus 1
)

func testIVHD() IVHD {
	return IVHD{Type: IVHDType10, DeviceID: tIOMMU, Base: 0xfed80000, Devices: []DeviceRange{
		{First: 0x0000, Last: 0x0000}, {First: tNIC, Last: tNIC}, {First: tIOMMU, Last: tIOMMU},
		{First: tAHCI, Last: tAHCI}, {First: 0x0100, Last: 0x01ff, Alias: true, AliasTo: tBridge},
	}, Specials: []Special{{Variety: SpecialIOAPIC, DeviceID: tIOAPIC}}}
}

var testRAM = []Range{{0x1000, 0x9f000}, {16 << 20, 80 << 20}}

func takeTest(t *testing.T, f *unitFake, deny bool) *Unit {
	t.Helper()
	u, err := TakeIOMMU(f.m, f.mem, TakeConfig{IVHD: testIVHD(), RAM: testRAM, AllocContig: f.alloc, DenyDMA: deny,
		Unity: []IVMD{{Type: IVMDAll, Flags: 1 | 2 | 4, Start: 0xe0000, Length: 0x2000}}})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func walkDev(t *testing.T, u *Unit, id uint16, iova uint64) (Translation, FaultKind) {
	t.Helper()
	d, err := u.DT.Get(id)
	if err != nil {
		t.Fatal(err)
	}
	return Walk(u.mem, d, iova)
}

func TestTakeIOMMU(t *testing.T) {
	f := newUnitFake(EFRIASup | 2<<10)
	u := takeTest(t, f, false)
	ctl := f.m.regs[RegControl]
	if ctl&(CtlIommuEn|CtlCmdBufEn|CtlEventLogEn) != CtlIommuEn|CtlCmdBufEn|CtlEventLogEn {
		t.Fatalf("control %#x: IOMMU, command buffer and event log not all enabled", ctl)
	}
	if got := f.m.regs[RegDevTableBase] & baseAddrMask; got != u.DT.Base {
		t.Fatalf("device table base register %#x, table at %#x", got, u.DT.Base)
	}
	// Devices up to 01:ff.7 (the alias range): two pages of DTEs.
	if u.DT.Entries != 512 {
		t.Fatalf("device table of %d entries, want 512", u.DT.Entries)
	}
	// 00:00.0, NIC, AHCI, 256 behind the bridge, the bridge, the IO-APIC.
	if u.Covered != 261 {
		t.Fatalf("%d devices covered, want 261", u.Covered)
	}
	var inv bool
	for _, c := range f.ran {
		inv = inv || c.Opcode() == OpInvIOMMUAll
	}
	if !inv {
		t.Fatalf("no INVALIDATE_IOMMU_ALL ran: %x", f.ran)
	}
	for _, id := range []uint16{0, tNIC, tAHCI, 0x0105, tBridge, tIOAPIC} {
		for _, a := range []uint64{0x1000, 0x9e000, 16 << 20, 80<<20 - 4096, 0x40_0123, 0xe1000} {
			want := a
			if a == 0x40_0123 {
				continue
			}
			tr, fk := walkDev(t, u, id, a)
			if fk != FaultNone || tr.PA != want || tr.Perm != PermRW {
				t.Fatalf("device %v DMA to %#x: %+v %v, want identity read/write", BDF(id), a, tr, fk)
			}
		}
		// hv's memory (between 640 KiB and 16 MiB here) and what lies
		// above dom0's RAM are not reachable.
		for _, a := range []uint64{0, 0xa0000, 8 << 20, 80 << 20, 1 << 32} {
			if tr, fk := walkDev(t, u, id, a); fk == FaultNone && tr.Perm != 0 {
				t.Fatalf("device %v reaches %#x: %+v", BDF(id), a, tr)
			}
		}
	}
	// The IOMMU's own function and devices the IVRS does not list are blocked.
	for _, id := range []uint16{tIOMMU, 0x0008, 0x0030} {
		d, _ := u.DT.Get(id)
		if d != BlockedDTE() {
			t.Fatalf("device %v has DTE %x, want blocked", BDF(id), d)
		}
	}
	if !strings.Contains(u.String(), "261 devices") || !strings.Contains(u.String(), "4-level") {
		t.Fatalf("banner %q", u.String())
	}
}

func TestTakeIOMMUDenyDMA(t *testing.T) {
	f := newUnitFake(EFRIASup)
	u := takeTest(t, f, true)
	tr, fk := walkDev(t, u, tAHCI, 16<<20)
	if fk != FaultNone || tr.Perm != 0 {
		t.Fatalf("DenyDMA: AHCI DMA to dom0 RAM gives %+v %v, want no permission", tr, fk)
	}
}

func TestTakeIOMMURefusesShallowWalker(t *testing.T) {
	f := newUnitFake(0) // HATS 0 means 4 levels: fine
	if _, err := TakeIOMMU(f.m, f.mem, TakeConfig{IVHD: testIVHD(), RAM: testRAM, AllocContig: f.alloc}); err != nil {
		t.Fatal(err)
	}
	f = newUnitFake(3 << 10) // reserved HATS encoding: treated as unknown
	if _, err := TakeIOMMU(f.m, f.mem, TakeConfig{IVHD: testIVHD(), RAM: testRAM, AllocContig: f.alloc}); err != nil {
		t.Fatal(err)
	}
	f = newUnitFake(0)
	if _, err := TakeIOMMU(f.m, f.mem, TakeConfig{IVHD: testIVHD(), RAM: testRAM,
		AllocContig: func(int) (uint64, bool) { return 0, false }}); err == nil {
		t.Fatal("no error without memory for the device table")
	}
	if f.m.regs[RegControl]&CtlIommuEn != 0 {
		t.Fatal("IOMMU enabled after a failed take")
	}
}

func TestUnitFollowsGrantMaps(t *testing.T) {
	f := newUnitFake(EFRIASup)
	u := takeTest(t, f, false)
	// A grant mapped read-only at a scratch gfn far above dom0's RAM.
	const gfn, mfn = 0x1_0000_0, 0x5123
	if err := u.Map(gfn, mfn, 1, false); err != nil {
		t.Fatal(err)
	}
	tr, fk := walkDev(t, u, tNIC, gfn*4096+0x10)
	if fk != FaultNone || tr.PA != mfn*4096+0x10 || tr.Perm != PermRead {
		t.Fatalf("NIC DMA to the grant: %+v %v", tr, fk)
	}
	// Over a RAM frame (ballooned out, then grant-mapped): replaced, and
	// the old translation invalidated.
	f.ran = nil
	if err := u.Map(0x1100, 0x7000, 2, true); err != nil {
		t.Fatal(err)
	}
	if tr, _ := walkDev(t, u, tNIC, 0x1101000); tr.PA != 0x7001000 || tr.Perm != PermRW {
		t.Fatalf("replaced mapping walks to %+v", tr)
	}
	if !ranInvalidate(f.ran, 0x1100000) {
		t.Fatalf("replacing a mapping did not invalidate it: %x", f.ran)
	}
	f.ran = nil
	if err := u.Unmap(gfn, 1); err != nil {
		t.Fatal(err)
	}
	if _, fk := walkDev(t, u, tNIC, gfn*4096); fk != FaultNotPresent {
		t.Fatalf("after Unmap the grant gfn walks with %v", fk)
	}
	if !ranInvalidate(f.ran, gfn*4096) || f.ran[len(f.ran)-1].Opcode() != OpCompletionWait {
		t.Fatalf("Unmap did not invalidate and wait: %x", f.ran)
	}
}

func ranInvalidate(cmds []Command, iova uint64) bool {
	for _, c := range cmds {
		if c.Opcode() == OpInvIOMMUPages && uint16(c[0]>>32) == Dom0Domain && c[1]&^0xfff == iova {
			return true
		}
	}
	return false
}

func TestUnitPollLogsFaults(t *testing.T) {
	f := newUnitFake(EFRIASup)
	u := takeTest(t, f, false)
	var lines []string
	log := func(s string) { lines = append(lines, s) }
	if u.Poll(log) != 0 || len(lines) != 0 {
		t.Fatalf("events from an empty log: %q", lines)
	}
	f.post(rawEvent(EvIOPageFault, tAHCI, Dom0Domain, EvFlagRW, 0x1234000))
	if u.Poll(log) != 1 || len(lines) != 1 {
		t.Fatalf("Poll read %q", lines)
	}
	if !strings.Contains(lines[0], "device 00:1f.2") || !strings.Contains(lines[0], "0x1234000") || !strings.Contains(lines[0], "IO_PAGE_FAULT") {
		t.Fatalf("fault line %q lacks the device or the address", lines[0])
	}
	f.m.regs[RegStatus] |= StEventOverflow
	lines = nil
	u.Poll(log)
	if len(lines) != 1 || !strings.Contains(lines[0], "overflowed") {
		t.Fatalf("overflow: %q", lines)
	}
	if f.m.regs[RegControl]&CtlEventLogEn == 0 {
		t.Fatal("event log not re-enabled after the restart")
	}
	if u.Faults() != 1 {
		t.Fatalf("Faults() = %d", u.Faults())
	}
}

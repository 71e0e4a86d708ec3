package vlapic

import (
	"encoding/binary"
	"testing"
)

func enabled(id uint8) *LAPIC {
	l := New(id)
	l.Write(RegSVR, svrEnable|0xff, 0)
	return l
}

// Power-on values and what a write leaves in each register (SDM table 11-1,
// SDM 11.4.7.1; Xen's vlapic_reg_write masks).
func TestRegisters(t *testing.T) {
	l := New(3)
	reset := []struct {
		off  uint32
		want uint32
	}{
		{RegID, 3 << 24}, {RegVersion, VersionValue}, {RegTPR, 0}, {RegPPR, 0}, {RegLDR, 0},
		{RegDFR, 0xffffffff}, {RegSVR, 0xff}, {RegESR, 0}, {RegICRLow, 0}, {RegICRHigh, 0},
		{RegLVTTimer, LVTMasked}, {RegLVTTherm, LVTMasked}, {RegLVTPerf, LVTMasked},
		{RegLVTLINT0, LVTMasked}, {RegLVTLINT1, LVTMasked}, {RegLVTError, LVTMasked},
		{RegTimerICR, 0}, {RegTimerCCR, 0}, {RegTimerDCR, 0}, {RegISR, 0}, {RegIRR + 0x70, 0},
	}
	for _, c := range reset {
		if got := l.Read(c.off, 0); got != c.want {
			t.Errorf("reset: reg %#x = %#x, want %#x", c.off, got, c.want)
		}
	}
	l.Write(RegSVR, 0xffffffff, 0)
	writes := []struct {
		off, val, want uint32
	}{
		{RegID, 0xffffffff, 0xff000000},
		{RegVersion, 0, VersionValue}, // read-only
		{RegTPR, 0xffffffff, 0xff},
		{RegPPR, 0x55, 0xff}, // read-only; PPR follows TPR
		{RegLDR, 0xffffffff, 0xff000000},
		{RegDFR, 0, 0x0fffffff},
		{RegSVR, 0xffffffff, 0x3ff},
		{RegICRHigh, 0xffffffff, 0xff000000},
		{RegLVTTimer, 0xffffffff, 0x300ff&^(1<<16) | LVTMasked}, // no TSC-deadline bit, no status
		{RegLVTTherm, 0xffffffff, 0x107ff &^ lvtPending},
		{RegLVTPerf, 0xffffffff, 0x107ff &^ lvtPending},
		{RegLVTLINT0, 0xffffffff, 0x1a7ff &^ lvtPending},
		{RegLVTLINT1, 0xffffffff, 0x1a7ff &^ lvtPending},
		{RegLVTError, 0xffffffff, 0x100ff},
		{RegTimerDCR, 0xffffffff, 0xb},
		{RegTimerCCR, 1234, 0}, // read-only
		{RegISR + 0x10, 0xffffffff, 0},
		{RegTMR, 0xffffffff, 0},
		{RegIRR + 0x70, 0xffffffff, 0},
		{RegRRD, 0xffffffff, 0},
		{RegAPR, 0xffffffff, 0},
	}
	for _, c := range writes {
		l.Write(c.off, c.val, 0)
		if got := l.Read(c.off, 0); got != c.want {
			t.Errorf("write %#x to %#x: reads %#x, want %#x", c.val, c.off, got, c.want)
		}
	}
	if e := l.esrPending; e != 0 {
		t.Errorf("valid registers recorded errors %#x", e)
	}
}

// Reserved offsets read 0, drop writes and record an illegal register
// address error; unaligned offsets read 0 and never panic.
func TestReservedRegisters(t *testing.T) {
	for _, off := range []uint32{0, 0x10, 0x40, 0x70, 0x2a0, 0x2f0, 0x3a0, 0x3d0, 0x3f0, 0x400, 0xff0} {
		l := enabled(0)
		if got := l.Read(off, 0); got != 0 {
			t.Errorf("reserved %#x reads %#x", off, got)
		}
		l.Write(off, 0xffffffff, 0)
		l.Write(RegESR, 0, 0)
		if got := l.Read(RegESR, 0); got != ESRIllegalRegAddr {
			t.Errorf("reserved %#x: ESR %#x, want illegal register address", off, got)
		}
	}
	l := enabled(0)
	for off := uint32(0); off < PageSize+32; off++ {
		l.Read(off, 0)
	}
	if l.Read(0x21, 0) != 0 || l.Read(0x1000, 0) != 0 {
		t.Error("unaligned or out-of-page offsets must read 0")
	}
}

// ESR: errors collect in the background and become readable only at the
// next write (write-before-read); each new error raises the LVT error
// interrupt once if unmasked.
func TestESR(t *testing.T) {
	l := enabled(0)
	l.Write(RegLVTError, 0xfe, 0)
	if _, ok := l.Write(RegICRLow, 0x0000000f, 0); ok { // fixed vector 15: illegal
		t.Fatal("an IPI with vector 15 was sent")
	}
	if got := l.Read(RegESR, 0); got != 0 {
		t.Errorf("ESR before the write reads %#x, want 0", got)
	}
	if v, ok := l.Pending(); !ok || v != 0xfe {
		t.Errorf("LVT error interrupt: pending %#x %v, want 0xfe", v, ok)
	}
	l.Write(RegESR, 0, 0)
	if got := l.Read(RegESR, 0); got != ESRSendIllegal {
		t.Errorf("ESR after write %#x, want send illegal vector", got)
	}
	l.Write(RegESR, 0, 0)
	if got := l.Read(RegESR, 0); got != 0 {
		t.Errorf("ESR after a second write %#x, want cleared", got)
	}
	// Receive illegal vector.
	if l.Accept(3, false) {
		t.Error("vector 3 accepted")
	}
	l.Write(RegESR, 0, 0)
	if got := l.Read(RegESR, 0); got != ESRRecvIllegal {
		t.Errorf("ESR %#x, want receive illegal vector", got)
	}
	// An LVT error vector below 16 adds receive illegal, without looping.
	l = enabled(0)
	l.Write(RegLVTError, 0x05, 0)
	l.Write(RegICRLow, 0x4000, 0) // fixed, vector 0
	l.Write(RegESR, 0, 0)
	if got := l.Read(RegESR, 0); got != ESRSendIllegal|ESRRecvIllegal {
		t.Errorf("ESR %#x, want send|receive illegal", got)
	}
	// Masked LVT error: the error is recorded, no interrupt.
	l = enabled(0)
	l.Write(RegICRLow, 0x1, 0)
	if _, ok := l.Pending(); ok {
		t.Error("masked LVT error raised an interrupt")
	}
}

// Acceptance, priority, injection and EOI (SDM 11.8).
func TestPriorityAndEOI(t *testing.T) {
	l := enabled(0)
	var eois []uint8
	l.OnEOI = func(v uint8) { eois = append(eois, v) }
	l.Accept(0x31, false)
	l.Accept(0x52, true)
	l.Accept(0x41, false)
	if v, _ := l.Pending(); v != 0x52 {
		t.Fatalf("pending %#x, want 0x52", v)
	}
	l.Ack(0x52)
	if !l.InService(0x52) || l.InRequest(0x52) {
		t.Fatal("ack did not move 0x52 from IRR to ISR")
	}
	if got := l.Read(RegPPR, 0); got != 0x50 {
		t.Errorf("PPR %#x, want 0x50", got)
	}
	if _, ok := l.Pending(); ok {
		t.Error("0x41 delivered while 0x52 in service")
	}
	if got := l.Read(RegTMR+0x20, 0); got != 1<<(0x52-0x40) {
		t.Errorf("TMR[2] %#x", got)
	}
	l.Write(RegEOI, 0, 0)
	if len(eois) != 1 || eois[0] != 0x52 {
		t.Errorf("EOI hook saw %#x, want [0x52]", eois)
	}
	if v, _ := l.Pending(); v != 0x41 {
		t.Errorf("pending %#x after EOI, want 0x41", v)
	}
	// TPR blocks classes at or below it.
	l.Write(RegTPR, 0x40, 0)
	if _, ok := l.Pending(); ok {
		t.Error("0x41 delivered with TPR 0x40")
	}
	l.Write(RegTPR, 0x3f, 0)
	l.Ack(0x41)
	l.Write(RegEOI, 0, 0) // edge: no hook
	if len(eois) != 1 {
		t.Errorf("edge EOI reached the hook: %#x", eois)
	}
	// Same-class vectors: a higher one waits while one of its class is in service.
	l = enabled(0)
	l.Accept(0x60, false)
	l.Ack(0x60)
	l.Accept(0x6f, false)
	if _, ok := l.Pending(); ok {
		t.Error("0x6f delivered while 0x60 in service")
	}
	l.Accept(0x70, false)
	if v, _ := l.Pending(); v != 0x70 {
		t.Errorf("pending %#x, want 0x70 (higher class)", v)
	}
	// EOI with nothing in service is harmless.
	l = enabled(0)
	l.Write(RegEOI, 0, 0)
	// A software-disabled APIC drops fixed interrupts and keeps LVTs masked.
	l = New(0)
	if l.Accept(0x40, false) {
		t.Error("disabled APIC accepted an interrupt")
	}
	l.Write(RegLVTTimer, 0x20, 0)
	if l.Read(RegLVTTimer, 0)&LVTMasked == 0 {
		t.Error("LVT unmasked while software disabled")
	}
	l = enabled(0)
	l.Write(RegLVTLINT0, 0x700, 0)
	l.Write(RegSVR, 0xff, 0)
	if l.Read(RegLVTLINT0, 0) != 0x700|LVTMasked {
		t.Error("software disable did not mask LINT0")
	}
}

// ICR writes: the IPI each decodes to, and the ones that are not sent.
func TestICR(t *testing.T) {
	cases := []struct {
		low, high uint32
		ok        bool
		want      IPI
	}{
		{0x000000f6, 0x01000000, true, IPI{Vector: 0xf6, Dest: 1}},
		{0x000440f6, 0, true, IPI{Vector: 0xf6, Shorthand: ShortSelf}},
		{0x000c4030, 0, true, IPI{Vector: 0x30, Shorthand: ShortAllButSelf}},
		{0x00080830, 0x03000000, true, IPI{Vector: 0x30, Shorthand: ShortAll, Logical: true, Dest: 3}},
		{0x00000130, 0x02000000, true, IPI{Vector: 0x30, Mode: ModeLowest, Dest: 2}},
		{0x0000c500, 0x01000000, true, IPI{Mode: ModeINIT, Level: true, Dest: 1}}, // INIT assert
		{0x00008500, 0x01000000, false, IPI{}},                                    // INIT level de-assert
		{0x00000699, 0x01000000, true, IPI{Vector: 0x99, Mode: ModeStartup, Dest: 1}},
		{0x00000400, 0x01000000, true, IPI{Mode: ModeNMI, Dest: 1}},
		{0x00000200, 0x01000000, false, IPI{}}, // SMI
		{0x00000700, 0x01000000, false, IPI{}}, // ExtINT
		{0x00000005, 0x01000000, false, IPI{}}, // illegal vector
		{0x00000105, 0x01000000, false, IPI{}}, // illegal vector, lowest priority
	}
	for _, c := range cases {
		l := enabled(0)
		l.Write(RegICRHigh, c.high, 0)
		ipi, ok := l.Write(RegICRLow, c.low, 0)
		if ok != c.ok || ipi != c.want {
			t.Errorf("ICR %#x:%#x: %+v %v, want %+v %v", c.high, c.low, ipi, ok, c.want, c.ok)
		}
		if got := l.Read(RegICRLow, 0); got&(1<<12) != 0 {
			t.Errorf("ICR %#x reads busy", c.low)
		}
	}
}

// Destination matching and routing (SDM 11.6.2).
func TestTargets(t *testing.T) {
	apics := []*LAPIC{enabled(0), enabled(1), enabled(2), enabled(3)}
	for i, a := range apics {
		a.Write(RegLDR, 1<<(24+i), 0) // flat: bit i
	}
	cases := []struct {
		ipi  IPI
		src  int
		want []int
	}{
		{IPI{Dest: 2}, 0, []int{2}},
		{IPI{Dest: 9}, 0, nil},
		{IPI{Dest: 0xff}, 0, []int{0, 1, 2, 3}},
		{IPI{Dest: 0b1010, Logical: true}, 0, []int{1, 3}},
		{IPI{Shorthand: ShortSelf, Dest: 3}, 1, []int{1}},
		{IPI{Shorthand: ShortAll}, 1, []int{0, 1, 2, 3}},
		{IPI{Shorthand: ShortAllButSelf}, 1, []int{0, 2, 3}},
		{IPI{Mode: ModeLowest, Dest: 0b1110, Logical: true}, 0, []int{1}},
	}
	for _, c := range cases {
		got := Targets(c.ipi, c.src, apics, nil)
		if len(got) != len(c.want) {
			t.Errorf("%+v from %d: %v, want %v", c.ipi, c.src, got, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("%+v from %d: %v, want %v", c.ipi, c.src, got, c.want)
			}
		}
	}
	// Lowest priority picks the lowest PPR.
	apics[1].Write(RegTPR, 0x80, 0)
	if got := Targets(IPI{Mode: ModeLowest, Dest: 0b1110, Logical: true}, 0, apics, nil); len(got) != 1 || got[0] != 2 {
		t.Errorf("lowest priority with TPR: %v, want [2]", got)
	}
	// Cluster model: cluster 1, members 0b0101.
	c := enabled(0)
	c.Write(RegDFR, 0x0fffffff, 0)
	c.Write(RegLDR, 0x12000000, 0)
	if !c.Match(0x13, true) || c.Match(0x23, true) || c.Match(0x11, true) || !c.Match(0xff, true) {
		t.Error("cluster matching")
	}
}

// The timer: one-shot and periodic counts, divide configuration, masked
// expiry, and the current count register.
func TestTimer(t *testing.T) {
	l := enabled(0)
	l.Write(RegTimerDCR, 0xb, 0) // divide by 1
	l.Write(RegLVTTimer, 0x40, 0)
	l.Write(RegTimerICR, 1000, 100)
	if got := l.Read(RegTimerCCR, 600); got != 500 {
		t.Errorf("current count %d at +500ns, want 500", got)
	}
	if dl, ok := l.TimerDeadline(); !ok || dl != 1100 {
		t.Errorf("deadline %d %v, want 1100", dl, ok)
	}
	if l.TimerExpire(1099) {
		t.Error("fired early")
	}
	if !l.TimerExpire(1100) {
		t.Fatal("did not fire")
	}
	if v, _ := l.Pending(); v != 0x40 {
		t.Errorf("pending %#x", v)
	}
	if _, ok := l.TimerDeadline(); ok || l.Read(RegTimerCCR, 1200) != 0 || l.TimerExpire(5000) {
		t.Error("one-shot count went on after expiring")
	}
	// Periodic, divide by 4 (DCR 0b0001): a period is 4000 ns.
	l = enabled(0)
	l.Write(RegTimerDCR, 1, 0)
	l.Write(RegLVTTimer, TimerPeriodic|0x41, 0)
	l.Write(RegTimerICR, 1000, 0)
	if got := l.Read(RegTimerCCR, 5000); got != 750 {
		t.Errorf("periodic current count %d at 5000 ns, want 750", got)
	}
	if !l.TimerExpire(4000) {
		t.Fatal("periodic did not fire")
	}
	if dl, _ := l.TimerDeadline(); dl != 8000 {
		t.Errorf("next deadline %d, want 8000", dl)
	}
	if !l.TimerExpire(20500) { // missed periods coalesce
		t.Fatal("periodic did not fire again")
	}
	if dl, _ := l.TimerDeadline(); dl != 24000 {
		t.Errorf("next deadline %d, want 24000", dl)
	}
	// Masked: the count runs and expires, nothing is raised.
	l = enabled(0)
	l.Write(RegTimerDCR, 0xb, 0)
	l.Write(RegLVTTimer, LVTMasked|0x40, 0)
	l.Write(RegTimerICR, 10, 0)
	if l.TimerExpire(10) {
		t.Error("masked timer raised an interrupt")
	}
	if _, ok := l.TimerDeadline(); ok {
		t.Error("masked one-shot still counting")
	}
	// Divide values.
	for dcr, want := range map[uint32]int64{0: 2, 1: 4, 2: 8, 3: 16, 8: 32, 9: 64, 10: 128, 11: 1} {
		l.Write(RegTimerDCR, dcr, 0)
		if got := l.divide(); got != want {
			t.Errorf("DCR %#x divides by %d, want %d", dcr, got, want)
		}
	}
	// Writing 0 stops the count.
	l.Write(RegTimerICR, 0, 0)
	if _, ok := l.TimerDeadline(); ok {
		t.Error("count 0 still armed")
	}
}

// FuzzRegisters runs arbitrary access sequences against one APIC and
// checks the invariants hardware keeps: no panic, read-only registers keep
// their values, PPR is derived from TPR and ISR, Pending respects PPR, and
// a reserved register reads 0.
func FuzzRegisters(f *testing.F) {
	f.Add([]byte{0xf0, 0, 0xff, 1, 0, 0, 0, 0x30, 0, 0xf6, 0, 0, 0})
	f.Add([]byte{0x80, 0, 0x10, 0, 0, 0, 1, 0x0b, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		l := New(1)
		now := int64(0)
		for len(data) >= 7 {
			op := data[0]
			off := uint32(binary.LittleEndian.Uint16(data[1:])) & 0xfff
			val := binary.LittleEndian.Uint32(data[3:])
			data = data[7:]
			now += int64(op) * 37
			switch op % 6 {
			case 0:
				l.Read(off, now)
			case 1, 2:
				l.Write(off&^0xf, val, now)
			case 3:
				l.Accept(uint8(val), val&0x100 != 0)
			case 4:
				if v, ok := l.Pending(); ok {
					if v&0xf0 <= uint8(l.Read(RegPPR, now))&0xf0 {
						t.Fatalf("pending %#x at PPR %#x", v, l.Read(RegPPR, now))
					}
					l.Ack(v)
				}
			case 5:
				l.TimerExpire(now)
			}
			if l.Read(RegVersion, now) != VersionValue {
				t.Fatal("version changed")
			}
			if l.Read(RegICRLow, now)&(1<<12) != 0 {
				t.Fatal("ICR busy")
			}
			tpr, ppr := l.Read(RegTPR, now), l.Read(RegPPR, now)
			isrv, _ := highest(&l.isr)
			if ppr != tpr && ppr != uint32(isrv)&0xf0 {
				t.Fatalf("PPR %#x from TPR %#x and ISRV %#x", ppr, tpr, isrv)
			}
			if l.Read(0x3f0, now) != 0 {
				t.Fatal("reserved register reads non-zero")
			}
			if cc, ic := l.Read(RegTimerCCR, now), l.Read(RegTimerICR, now); cc > ic {
				t.Fatalf("current count %d above initial %d", cc, ic)
			}
		}
	})
}

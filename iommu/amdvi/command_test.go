package amdvi

import (
	"strings"
	"testing"
)

func TestCommandEncodings(t *testing.T) {
	for _, c := range []struct {
		name string
		got  Command
		want Command
	}{
		// S (bit 0), store address 51:3, opcode 1 in 63:60; data in the second quadword.
		{"COMPLETION_WAIT", CompletionWait(0x1234_5678_9ab8, 0xdead), Command{0x1000_1234_5678_9ab9, 0xdead}},
		{"INVALIDATE_DEVTAB_ENTRY", InvalidateDevTabEntry(0x0118), Command{0x2000_0000_0000_0118, 0}},
		// DomainID in 47:32; address 63:12, S bit 0, PDE bit 1.
		{"INVALIDATE_IOMMU_PAGES 4K", InvalidateIOMMUPages(5, 0x20_0123, 1), Command{0x3000_0005_0000_0000, 0x20_0002}},
		{"INVALIDATE_IOMMU_PAGES 16K", InvalidateIOMMUPages(5, 0x20_0000, 0x4000), Command{0x3000_0005_0000_0000, 0x20_1003}},
		// Crossing a 2 MiB boundary takes the 4 MiB block holding both pages.
		{"INVALIDATE_IOMMU_PAGES cross", InvalidateIOMMUPages(5, 0x1f_f000, 0x2000), Command{0x3000_0005_0000_0000, 0x1f_f003}},
		{"INVALIDATE_IOMMU_PAGES all", InvalidateIOMMUPagesAll(0xffff), Command{0x3000_ffff_0000_0000, 0x7fff_ffff_ffff_f003}},
		{"INVALIDATE_IOMMU_PAGES huge", InvalidateIOMMUPages(1, 0, 1<<60), Command{0x3000_0001_0000_0000, 0x7fff_ffff_ffff_f003}},
		// DeviceID 15:0, MaxPend 31:24, QueueID 47:32.
		{"INVALIDATE_IOTLB_PAGES", InvalidateIOTLBPages(0x0300, 32, 0x1000, 4096), Command{0x4000_0300_2000_0300, 0x1000}},
		{"INVALIDATE_INTERRUPT_TABLE", InvalidateInterruptTable(0x00a0), Command{0x5000_0000_0000_00a0, 0}},
		{"INVALIDATE_IOMMU_ALL", InvalidateIOMMUAll(), Command{0x8000_0000_0000_0000, 0}},
	} {
		if c.got != c.want {
			t.Errorf("%s = %#016x, want %#016x", c.name, c.got, c.want)
		}
	}
}

// The S=1 encoding must cover the requested range: decode it as the
// IOMMU does (first zero bit at or above 12 gives the size).
func TestInvRangeCovers(t *testing.T) {
	for _, r := range [][2]uint64{{0, 1}, {0x1000, 0x1000}, {0x1800, 0x1000}, {0x3000, 0x5000}, {0x7fff_f000, 0x2000}, {0x1234_5000, 0x100_0000}} {
		enc := invRange(r[0], r[1])
		lo, hi := enc&^0xfff, enc&^0xfff+0x1000
		if enc&invSize != 0 {
			n := uint(12)
			for enc&(1<<n) != 0 {
				n++
			}
			size := uint64(1) << (n + 1)
			lo, hi = enc&^(size-1), enc&^(size-1)+size
		}
		if r[0] < lo || r[0]+r[1] > hi {
			t.Errorf("invRange(%#x, %#x) = %#x covers [%#x, %#x)", r[0], r[1], enc, lo, hi)
		}
		// A naturally aligned power-of-two range is encoded exactly.
		if p := roundPow2(r[1]); r[0]%p == 0 && hi-lo != p {
			t.Errorf("invRange(%#x, %#x) = %#x covers %#x bytes, want %#x", r[0], r[1], enc, hi-lo, p)
		}
	}
}

func roundPow2(n uint64) uint64 {
	p := uint64(4096)
	for p < n {
		p <<= 1
	}
	return p
}

// QEMU 7.2 logs ILLEGAL_COMMAND for these reserved bits (amdvi_*
// command handlers); hv's commands must never set them.
func TestCommandsPassQEMUReservedChecks(t *testing.T) {
	bits := func(v uint64, start, n uint) uint64 { return v >> start & (1<<n - 1) }
	check := func(name string, c Command, bad bool) {
		t.Helper()
		if bad {
			t.Errorf("%s %#016x sets bits QEMU 7.2 reserves", name, c)
		}
	}
	for _, c := range []Command{CompletionWait(0x000f_ffff_ffff_fff8, ^uint64(0)), CompletionWait(8, 0)} {
		check("COMPLETION_WAIT", c, bits(c[0], 52, 8) != 0)
	}
	for _, id := range []uint16{0, 0xffff} {
		c := InvalidateDevTabEntry(id)
		check("INVALIDATE_DEVTAB_ENTRY", c, bits(c[0], 16, 44) != 0 || c[1] != 0)
		c = InvalidateInterruptTable(id)
		check("INVALIDATE_INTERRUPT_TABLE", c, bits(c[0], 16, 44) != 0 || c[1] != 0)
	}
	for _, c := range []Command{InvalidateIOMMUPagesAll(0xffff), InvalidateIOMMUPages(0xffff, 0xffff_ffff_ffff_f000, 0x1000), InvalidateIOMMUPages(1, 0x1234_5000, 0x10_0000)} {
		check("INVALIDATE_IOMMU_PAGES", c, bits(c[0], 20, 12) != 0 || bits(c[0], 48, 12) != 0 || bits(c[1], 3, 9) != 0)
	}
	c := InvalidateIOTLBPages(0xffff, 0xff, 0x1234_5000, 0x3000)
	check("INVALIDATE_IOTLB_PAGES", c, bits(c[1], 1, 1) != 0 || bits(c[1], 3, 1) != 0 || bits(c[1], 6, 6) != 0)
	c = InvalidateIOMMUAll()
	check("INVALIDATE_IOMMU_ALL", c, bits(c[0], 0, 60) != 0 || c[1] != 0)
}

// fakeIOMMU consumes the command ring like the hardware: from its head to
// the tail register, storing COMPLETION_WAIT data.
type fakeIOMMU struct {
	m         *fakeMMIO
	mem       *fakeMem
	base      uint64
	size      uint32
	head      uint32
	tail      uint32
	done      []Command
	eager     bool // run commands inside the tail write (QEMU)
	qemuHead  bool // store the head register before wrapping it (QEMU 7.2)
	stuckHead bool // never update the head register
	dead      bool // never run anything
	overrun   bool // the tail passed commands not yet run
}

func newFakeIOMMU(entries int) (*fakeIOMMU, *CommandQueue) {
	mem := newFakeMem()
	m := newFakeMMIO()
	const base, wait = 0x300000, 0x400ff8
	mem.region(base, entries*16/4096)
	mem.region(wait&^0xfff, 1)
	f := &fakeIOMMU{m: m, mem: mem, base: base, size: uint32(entries * 16)}
	m.onWrite = func(off uint32, v uint64) {
		if off != RegCmdBufTail {
			return
		}
		newTail := uint32(v) & (f.size - 1)
		// Commands between the old tail and the new one are new; if the
		// IOMMU's head lies strictly inside them, software overwrote
		// commands not yet run.
		if f.head != f.tail {
			if (f.head-f.tail)&(f.size-1) < (newTail-f.tail)&(f.size-1) || newTail == f.head {
				f.overrun = true
			}
		}
		f.tail = newTail
		if f.eager {
			for f.step() {
			}
		}
	}
	mem.onTable = func() {
		if !f.eager {
			f.step()
		}
	}
	q, err := NewCommandQueue(m, mem, base, entries, wait)
	if err != nil {
		panic(err)
	}
	return f, q
}

func (f *fakeIOMMU) step() bool {
	if f.dead || f.head == f.tail {
		return false
	}
	p := f.mem.frames[f.base+uint64(f.head)&^0xfff]
	i := (f.head & 0xfff) / 8
	c := Command{p[i], p[i+1]}
	f.done = append(f.done, c)
	if c.Opcode() == OpCompletionWait && c[0]&1 != 0 {
		f.mem.write64(c[0]&cwAddrMask, c[1])
	}
	f.head += CommandSize
	if f.qemuHead && !f.stuckHead {
		f.m.regs[RegCmdBufHead] = uint64(f.head)
	}
	f.head &= f.size - 1
	if !f.qemuHead && !f.stuckHead {
		f.m.regs[RegCmdBufHead] = uint64(f.head)
	}
	return true
}

func numbered(n int) []Command {
	cmds := make([]Command, n)
	for i := range cmds {
		cmds[i] = InvalidateDevTabEntry(uint16(i))
	}
	return cmds
}

// checkDone verifies the IOMMU ran cmds in order, with completion waits
// in between.
func checkDone(t *testing.T, f *fakeIOMMU, cmds []Command) {
	t.Helper()
	if f.overrun {
		t.Fatal("the queue overwrote commands the IOMMU had not run")
	}
	var got []Command
	for _, c := range f.done {
		if c.Opcode() != OpCompletionWait {
			got = append(got, c)
		}
	}
	if len(got) != len(cmds) {
		t.Fatalf("IOMMU ran %d commands, want %d", len(got), len(cmds))
	}
	for i := range cmds {
		if got[i] != cmds[i] {
			t.Fatalf("command %d = %#x, want %#x", i, got[i], cmds[i])
		}
	}
}

func TestQueueRunsAndWaits(t *testing.T) {
	for _, mode := range []string{"eager", "lazy", "qemu-head", "stuck-head"} {
		t.Run(mode, func(t *testing.T) {
			f, q := newFakeIOMMU(256)
			f.eager = mode != "lazy"
			f.qemuHead = mode == "qemu-head"
			f.stuckHead = mode == "stuck-head"
			cmds := numbered(1000) // four times around the ring
			for i := 0; i < len(cmds); i += 100 {
				if err := q.Submit(cmds[i : i+100]...); err != nil {
					t.Fatal(err)
				}
			}
			if err := q.Wait(); err != nil {
				t.Fatal(err)
			}
			checkDone(t, f, cmds)
			last := f.done[len(f.done)-1]
			if last.Opcode() != OpCompletionWait || f.mem.read64(0x400ff8) != last[1] {
				t.Errorf("last command %#x, wait word %#x", last, f.mem.read64(0x400ff8))
			}
			// The tail register always holds a 16-byte aligned offset inside the ring.
			for _, w := range f.m.writes {
				if w.off == RegCmdBufTail && (w.v&^headTailMask != 0 || w.v >= 256*16) {
					t.Fatalf("tail write %#x", w.v)
				}
			}
		})
	}
}

func TestQueueBatchesIntoOneTailWrite(t *testing.T) {
	f, q := newFakeIOMMU(256)
	f.eager = true
	if err := q.Run(InvalidateDevTabEntry(1), InvalidateInterruptTable(1), InvalidateIOMMUPagesAll(3)); err != nil {
		t.Fatal(err)
	}
	if len(f.m.writes) != 2 || f.m.writes[0] != (regWrite{RegCmdBufTail, 0x30}) || f.m.writes[1] != (regWrite{RegCmdBufTail, 0x40}) {
		t.Errorf("register writes %#x, want tail 0x30 then 0x40", f.m.writes)
	}
}

func TestQueueTimesOut(t *testing.T) {
	f, q := newFakeIOMMU(256)
	f.dead = true
	q.SpinLimit = 1000
	relax := 0
	q.Relax = func() { relax++ }
	err := q.Run(InvalidateIOMMUAll())
	if err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("Run on a dead IOMMU: %v", err)
	}
	if relax != 1000 {
		t.Errorf("Relax called %d times, want 1000", relax)
	}
	// Filling the ring of a dead IOMMU ends in an error, not a hang or an overrun.
	if err := q.Submit(numbered(600)...); err == nil {
		t.Error("Submit of 600 commands to a dead IOMMU succeeded")
	}
	if f.overrun {
		t.Error("queue overwrote unrun commands")
	}
}

func TestInvalidateAll(t *testing.T) {
	f, q := newFakeIOMMU(256)
	f.eager = true
	if err := q.InvalidateAll(EFRIASup, 0xff, []uint16{1}); err != nil {
		t.Fatal(err)
	}
	checkDone(t, f, []Command{InvalidateIOMMUAll()})

	f, q = newFakeIOMMU(256)
	f.eager = true
	if err := q.InvalidateAll(0, 0x2, []uint16{1, 7}); err != nil {
		t.Fatal(err)
	}
	checkDone(t, f, []Command{
		InvalidateDevTabEntry(0), InvalidateInterruptTable(0),
		InvalidateDevTabEntry(1), InvalidateInterruptTable(1),
		InvalidateDevTabEntry(2), InvalidateInterruptTable(2),
		InvalidateIOMMUPagesAll(1), InvalidateIOMMUPagesAll(7),
	})
}

func TestNewCommandQueueChecks(t *testing.T) {
	mem := newFakeMem()
	mem.region(0x300000, 1)
	m := newFakeMMIO()
	if _, err := NewCommandQueue(m, mem, 0x300000, 256, 0x300004); err == nil {
		t.Error("unaligned wait word accepted")
	}
	if _, err := NewCommandQueue(m, mem, 0x300000, 512, 0x300008); err == nil {
		t.Error("ring larger than its memory accepted")
	}
	if _, err := NewCommandQueue(m, mem, 0x300000, 256, 0x900000); err == nil {
		t.Error("unreachable wait word accepted")
	}
	if _, err := NewCommandQueue(m, mem, 0x300000, 100, 0x300008); err == nil {
		t.Error("100-entry ring accepted")
	}
}

// A working head register lets Submit reuse ring space without a
// completion wait; a stuck one (or none) costs a wait per ring's worth.
func TestQueueUsesHeadRegister(t *testing.T) {
	waits := func(stuck bool) int {
		f, q := newFakeIOMMU(256)
		f.eager, f.qemuHead, f.stuckHead = true, true, stuck
		if err := q.Submit(numbered(1000)...); err != nil {
			t.Fatal(err)
		}
		checkDone(t, f, numbered(1000))
		n := 0
		for _, c := range f.done {
			if c.Opcode() == OpCompletionWait {
				n++
			}
		}
		return n
	}
	if n := waits(false); n != 0 {
		t.Errorf("%d completion waits with a live head register, want 0", n)
	}
	if n := waits(true); n < 3 {
		t.Errorf("%d completion waits with a stuck head register, want one per ring", n)
	}
}

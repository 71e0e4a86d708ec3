package hypercall

import (
	"fmt"
	"testing"

	"gozen/abi/xen"
	"gozen/hv/x86"
)

// fakeGuest is a Guest over a flat piece of guest-virtual memory
// [memBase, memBase+len(mem)). Its operations record what they were asked
// and check the promises the dispatcher makes about their arguments.
type fakeGuest struct {
	t      testing.TB
	mem    []byte
	writes [][2]uint64 // [gva, end) of every CopyOut
	calls  []string
	user   bool
	mode   x86.Mode // 0 means x86.Mode64
	vcpu   int
	vcpus  int
	now    int64
	cur    uint64 // pages, for Reservation
	max    uint64
	params [xen.HVMNrParams]uint64
	vector uint8
	timer  int64
	ev     *fakeEvents
	gt     *fakeGrants
	priv   bool         // a privileged domain (Privileged)
	failAt int          // reservation calls fail from this call on (0: never)
	ctl    *fakeControl // non-nil: the guest is dom0
}

// fakeControl is dom0's Control: it records calls and has console input.
type fakeControl struct {
	g     *fakeGuest
	input []byte
	ts    *fakeToolstack // nil: Toolstack is nil
}

func (c *fakeControl) Toolstack() Toolstack {
	if c.ts == nil {
		return nil
	}
	return c.ts
}

func (c *fakeControl) SetWallclock(secs uint64, nsecs uint32, sys uint64) {
	c.g.record("settime %d.%09d at %d", secs, nsecs, sys)
}
func (c *fakeControl) ConsoleRead(p []byte) int {
	if len(p) == 0 || len(p) > MaxConsoleRead {
		c.g.errorf("ConsoleRead of %d bytes", len(p))
	}
	n := copy(p, c.input)
	c.input = c.input[n:]
	return n
}
func (c *fakeControl) PCIDeviceAdd(d xen.PhysdevPCIDeviceAdd) {
	c.g.record("pci add %04x:%02x:%02x.%d", d.Seg, d.Bus, d.Devfn>>3, d.Devfn&7)
}
func (c *fakeControl) MMCFGReserved(r xen.PhysdevPCIMmcfgReserved) {
	c.g.record("mmcfg %#x seg %d bus %d-%d", r.Address, r.Segment, r.StartBus, r.EndBus)
}

func (g *fakeGuest) Control() Control {
	if g.ctl == nil {
		return nil
	}
	return g.ctl
}

// testBuildID is the build ID the test dispatcher reports to privileged
// callers.
var testBuildID = []byte{0xb1, 0x1d, 0x1d, 0x00, 0x42}

func (g *fakeGuest) Privileged() bool { return g.priv }

const memBase = 0x10000

func newFake(t testing.TB) *fakeGuest {
	return &fakeGuest{t: t, mem: make([]byte, 0x10000), vcpus: 2, now: 5e9, cur: 1000, max: 1024,
		ev: &fakeEvents{}, gt: &fakeGrants{}}
}

func (g *fakeGuest) call(nr uint64, a ...uint64) int64 {
	var args [5]uint64
	copy(args[:], a)
	var d Dispatcher
	d.Info = Info{Major: 4, Minor: 17, ExtraVersion: ".0-test", Capabilities: "hvm-3.0-x86_64", Features: 1 << xen.XenfeatHVMCallbackVector,
		Compiler: "go1.99 with a name longer than the sixty-three bytes xen_compile_info has room for", CompileBy: "tester",
		CompileDate: "Thu Jan  1 00:00:00 UTC 1970", Commandline: "console=com1 loglvl=debug", BuildID: testBuildID}
	if g.ev != nil {
		g.ev.t = g.t
	}
	if g.gt != nil {
		g.gt.t = g.t
	}
	return d.Call(g, nr, args)
}

func (g *fakeGuest) errorf(format string, args ...any) { g.t.Helper(); g.t.Errorf(format, args...) }
func (g *fakeGuest) record(format string, args ...any) {
	g.calls = append(g.calls, fmt.Sprintf(format, args...))
}

func (g *fakeGuest) span(gva uint64, n int) ([]byte, bool) {
	if gva < memBase || gva-memBase > uint64(len(g.mem)) || uint64(n) > uint64(len(g.mem))-(gva-memBase) {
		return nil, false
	}
	return g.mem[gva-memBase : gva-memBase+uint64(n)], true
}

func (g *fakeGuest) CopyIn(gva uint64, p []byte) bool {
	b, ok := g.span(gva, len(p))
	if ok {
		copy(p, b)
	}
	return ok
}

func (g *fakeGuest) CopyInv(gva uint64, dsts [][]byte) bool {
	for _, d := range dsts {
		if !g.CopyIn(gva, d) {
			return false
		}
		gva += uint64(len(d))
	}
	return true
}

func (g *fakeGuest) CopyOut(gva uint64, p []byte) bool {
	b, ok := g.span(gva, len(p))
	if ok {
		copy(b, p)
		g.writes = append(g.writes, [2]uint64{gva, gva + uint64(len(p))})
	}
	return ok
}

func (g *fakeGuest) DomID() uint16 { return 5 }
func (g *fakeGuest) VCPU() int     { return g.vcpu }
func (g *fakeGuest) NumVCPUs() int { return g.vcpus }
func (g *fakeGuest) Kernel() bool  { return !g.user }
func (g *fakeGuest) Mode() x86.Mode {
	if g.mode == 0 {
		return x86.Mode64
	}
	return g.mode
}
func (g *fakeGuest) SystemTime() int64 { return g.now }
func (g *fakeGuest) TimeInfo() xen.VCPUTimeInfo {
	return xen.VCPUTimeInfo{Version: 2, TSCToSystemMul: 1 << 31, Flags: xen.XenPVClockTSCStableBit}
}

func (g *fakeGuest) ConsoleWrite(p []byte) {
	if len(p) > MaxConsoleWrite {
		g.errorf("ConsoleWrite of %d bytes", len(p))
	}
	g.record("console %q", p)
}
func (g *fakeGuest) Yield()                 { g.record("yield") }
func (g *fakeGuest) Block()                 { g.record("block") }
func (g *fakeGuest) Shutdown(reason uint32) { g.record("shutdown %d", reason) }
func (g *fakeGuest) Poll(ports []uint32, timeout uint64) {
	if len(ports) > MaxPollPorts {
		g.errorf("Poll with %d ports", len(ports))
	}
	for _, p := range ports {
		if p == 0 || p > g.ev.MaxPort() {
			g.errorf("Poll with port %d", p)
		}
	}
	g.record("poll %v %d", ports, timeout)
}
func (g *fakeGuest) SetTimer(deadline int64) { g.timer = deadline; g.record("timer %d", deadline) }

func (g *fakeGuest) Reservation() (uint64, uint64) { return g.cur, g.max }
func (g *fakeGuest) MemoryMap() []xen.E820Entry {
	return []xen.E820Entry{{Addr: 0, Size: 0x1000, Type: 2}, {Addr: 0x1000, Size: 0x3ff000, Type: 1}, {Addr: 0xfc000000, Size: 0x1000, Type: 2}}
}
func (g *fakeGuest) MapSharedInfo(gfn uint64) xen.Errno {
	g.record("shared_info %#x", gfn)
	return 0
}
func (g *fakeGuest) MapGrantFrame(idx, gfn uint64) xen.Errno {
	if idx&xen.XenmapidxGrantTableStatus != 0 {
		g.errorf("MapGrantFrame with the status bit")
	}
	g.record("grant frame %d at %#x", idx, gfn)
	return 0
}
func (g *fakeGuest) extent(what string, gfn uint64, order uint32) bool {
	if order > MaxExtentOrder || gfn&(1<<order-1) != 0 {
		g.errorf("%s(%#x, order %d)", what, gfn, order)
	}
	g.record("%s %#x/%d", what, gfn, order)
	return g.failAt == 0 || len(g.calls) < g.failAt
}
func (g *fakeGuest) PopulatePhysmap(gfn uint64, order uint32) bool {
	return g.extent("populate", gfn, order)
}
func (g *fakeGuest) DecreaseReservation(gfn uint64, order uint32) bool {
	return g.extent("decrease", gfn, order)
}
func (g *fakeGuest) IncreaseReservation(order uint32) bool { return g.extent("increase", 0, order) }

func (g *fakeGuest) Param(idx uint32) uint64 { return g.params[idx] }
func (g *fakeGuest) SetCallbackIRQ(value uint64, vector uint8) {
	if vector != 0 && vector < 0x10 {
		g.errorf("callback vector %#x", vector)
	}
	g.params[xen.HVMParamCallbackIRQ], g.vector = value, vector
}

func (g *fakeGuest) checkVCPU(id int) {
	if id < 0 || id >= g.vcpus {
		g.errorf("vCPU id %d of %d", id, g.vcpus)
	}
}
func (g *fakeGuest) VCPUUp(id int) bool { g.checkVCPU(id); return id == 0 }
func (g *fakeGuest) BringUp(id int) xen.Errno {
	g.checkVCPU(id)
	g.record("up %d", id)
	if id != 0 {
		return xen.EINVAL
	}
	return 0
}
func (g *fakeGuest) TakeDown(id int) { g.checkVCPU(id); g.record("down %d", id) }
func (g *fakeGuest) SendNMI(id int)  { g.checkVCPU(id); g.record("nmi %d", id) }
func (g *fakeGuest) Runstate(id int) xen.VCPURunstateInfo {
	g.checkVCPU(id)
	return xen.VCPURunstateInfo{State: xen.RunstateRunning, StateEntryTime: 7, Time: [4]uint64{1, 2, 3, 4}}
}
func (g *fakeGuest) RegisterRunstateArea(id int, gva uint64) xen.Errno {
	g.checkVCPU(id)
	g.record("runstate %d %#x", id, gva)
	if gva == badRunstateArea {
		return xen.EFAULT
	}
	return 0
}

// badRunstateArea is an address the fake core refuses for a runstate area
// (as hv refuses one that is not the domain's own writable RAM).
const badRunstateArea = 0xbad000

func (g *fakeGuest) RegisterVCPUInfo(id int, gfn uint64, off uint32) xen.Errno {
	g.checkVCPU(id)
	if off > 4096-xen.VCPUInfoSize {
		g.errorf("vcpu_info offset %d", off)
	}
	g.record("vcpu_info %d %#x+%d", id, gfn, off)
	return 0
}
func (g *fakeGuest) TestTimer(us uint64) {
	if us > MaxTestTimer {
		g.errorf("TestTimer(%d)", us)
	}
}
func (g *fakeGuest) Report(key uint32, s []uint32) {
	if len(s) == 0 || len(s) > MaxReport {
		g.errorf("Report of %d samples", len(s))
	}
	g.record("report %d %v", key, s)
}
func (g *fakeGuest) Events() EventChannels {
	if g.ev == nil {
		return nil
	}
	return g.ev
}
func (g *fakeGuest) Grants() GrantTables {
	if g.gt == nil {
		return nil
	}
	return g.gt
}

// fakeEvents has ports 1..63; port 3 is pending.
type fakeEvents struct {
	t     testing.TB
	calls []string
}

func (e *fakeEvents) rec(format string, args ...any) int {
	e.calls = append(e.calls, fmt.Sprintf(format, args...))
	return 0
}
func (e *fakeEvents) port(p uint32) int {
	if p == 0 || p > 63 {
		return -int(xen.EINVAL)
	}
	return 0
}
func (e *fakeEvents) AllocUnbound(dom, remote uint16) (uint32, int) {
	return 7, e.rec("alloc_unbound %d %d", dom, remote)
}
func (e *fakeEvents) BindInterdomain(rd uint16, rp uint32) (uint32, int) {
	if r := e.port(rp); r != 0 {
		return 0, r
	}
	return 8, e.rec("bind_interdomain %d %d", rd, rp)
}
func (e *fakeEvents) BindVIRQ(virq, vcpu uint32) (uint32, int) {
	return 9, e.rec("bind_virq %d %d", virq, vcpu)
}
func (e *fakeEvents) BindIPI(vcpu uint32) (uint32, int) { return 10, e.rec("bind_ipi %d", vcpu) }
func (e *fakeEvents) Close(p uint32) int                { return e.port(p) }
func (e *fakeEvents) Send(p uint32) int {
	if r := e.port(p); r != 0 {
		return r
	}
	return e.rec("send %d", p)
}
func (e *fakeEvents) Status(s *xen.EvtchnStatus) int {
	if r := e.port(s.Port); r != 0 {
		return r
	}
	s.Status, s.VCPU = xen.EvtchnStatInterdomain, 1
	s.SetInterdomain(2, 44)
	return 0
}
func (e *fakeEvents) BindVCPU(p, vcpu uint32) int { return e.port(p) }
func (e *fakeEvents) Unmask(p uint32) int         { return e.port(p) }
func (e *fakeEvents) Reset(dom uint16) int        { return e.rec("reset %d", dom) }
func (e *fakeEvents) InitControl(vcpu uint32, gfn uint64, off uint32) (uint32, int) {
	return 17, e.rec("init_control %d %#x %d", vcpu, gfn, off)
}
func (e *fakeEvents) ExpandArray(gfn uint64) int     { return e.rec("expand %#x", gfn) }
func (e *fakeEvents) SetPriority(p, prio uint32) int { return e.port(p) }
func (e *fakeEvents) MaxPort() uint32                { return 63 }
func (e *fakeEvents) IsPending(p uint32) bool        { return p == 3 }

// fakeGrants answers every op with a status derived from its ref.
type fakeGrants struct {
	t      testing.TB
	ops    int
	frames []uint64 // what SetupTable lists, if set (else InvalidFrame)
}

func (f *fakeGrants) batch(n int) {
	if n > MaxGrantOps {
		f.t.Errorf("grant batch of %d", n)
	}
	f.ops += n
}
func (f *fakeGrants) Map(ops []xen.GnttabMapGrantRef) {
	f.batch(len(ops))
	for i := range ops {
		ops[i].Status, ops[i].Handle = -int16(ops[i].Ref%4), ops[i].Ref+100
	}
}
func (f *fakeGrants) Unmap(ops []xen.GnttabUnmapGrantRef) {
	f.batch(len(ops))
	for i := range ops {
		ops[i].Status = -int16(ops[i].Handle % 4)
	}
}
func (f *fakeGrants) Copy(ops []xen.GnttabCopy) {
	f.batch(len(ops))
	for i := range ops {
		ops[i].Status = -int16(ops[i].Len % 4)
	}
}
func (f *fakeGrants) QuerySize(q *xen.GnttabQuerySize) {
	q.NrFrames, q.MaxNrFrames, q.Status = 1, 64, 0
}
func (f *fakeGrants) SetupTable(dom uint16, nr uint32) ([]uint64, int16) {
	if nr > MaxSetupFrames {
		f.t.Errorf("SetupTable(%d)", nr)
	}
	fr := make([]uint64, nr)
	for i := range fr {
		fr[i] = InvalidFrame
		if i < len(f.frames) {
			fr[i] = f.frames[i]
		}
	}
	return fr, 0
}
func (f *fakeGrants) SetVersion(v uint32) (uint32, xen.Errno) {
	if v != 1 {
		return 1, xen.EINVAL
	}
	return 1, 0
}
func (f *fakeGrants) GetVersion(dom uint16) (uint32, xen.Errno) { return 1, 0 }

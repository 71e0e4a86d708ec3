package hypercall

import (
	"strings"
	"testing"

	"gozen/abi/xen"
)

func platformBytes(cmd, version uint32, u []byte) []byte {
	op := xen.XenPlatformOp{Cmd: cmd, InterfaceVersion: version}
	copy(op.U[:], u)
	return enc(&op, xen.XenPlatformOpSize)
}

func dom0Fake(t *testing.T) *fakeGuest {
	g := newFake(t)
	g.ctl = &fakeControl{g: g}
	return g
}

func TestPlatformOp(t *testing.T) {
	st := enc(&xen.XenpfSettime64T{Secs: 1700000000, Nsecs: 5, SystemTime: 123}, xen.XenpfSettime64Size)
	st32 := enc(&xen.XenpfSettime32T{Secs: 17, Nsecs: 6, SystemTime: 9}, xen.XenpfSettime32Size)
	bad := enc(&xen.XenpfSettime64T{Secs: 1, Mbz: 1}, xen.XenpfSettime64Size)
	for _, c := range []struct {
		name string
		dom0 bool
		arg  []byte
		want int64
		call string
	}{
		{"settime64", true, platformBytes(xen.XenpfSettime64, xen.XenpfInterfaceVersion, st), 0, "settime 1700000000.000000005 at 123"},
		{"settime32", true, platformBytes(xen.XenpfSettime32, xen.XenpfInterfaceVersion, st32), 0, "settime 17.000000006 at 9"},
		{"settime64 mbz", true, platformBytes(xen.XenpfSettime64, xen.XenpfInterfaceVersion, bad), -int64(xen.EINVAL), ""},
		{"firmware_info", true, platformBytes(xen.XenpfFirmwareInfo, xen.XenpfInterfaceVersion, nil), -int64(xen.ENOSYS), ""},
		{"get_cpuinfo", true, platformBytes(xen.XenpfGetCPUInfo, xen.XenpfInterfaceVersion, nil), -int64(xen.ENOSYS), ""},
		{"get_dom0_console", true, platformBytes(xen.XenpfGetDom0Console, xen.XenpfInterfaceVersion, nil), -int64(xen.ENOSYS), ""},
		{"wrong version", true, platformBytes(xen.XenpfSettime64, 0x03000000, st), -int64(xen.EACCES), ""},
		{"domU settime", false, platformBytes(xen.XenpfSettime64, xen.XenpfInterfaceVersion, st), -int64(xen.EPERM), ""},
		{"domU firmware_info", false, platformBytes(xen.XenpfFirmwareInfo, xen.XenpfInterfaceVersion, nil), -int64(xen.EPERM), ""},
		{"domU wrong version", false, platformBytes(xen.XenpfSettime64, 1, st), -int64(xen.EACCES), ""},
	} {
		g := newFake(t)
		if c.dom0 {
			g.ctl = &fakeControl{g: g}
		}
		copy(g.mem[argAt-memBase:], c.arg)
		if got := g.call(xen.HypercallPlatformOp, argAt); got != c.want {
			t.Errorf("%s: got %d, want %d", c.name, got, c.want)
		}
		if got := strings.Join(g.calls, ";"); got != c.call {
			t.Errorf("%s: calls %q, want %q", c.name, got, c.call)
		}
	}
	g := dom0Fake(t)
	if got := g.call(xen.HypercallPlatformOp, 0x10); got != -int64(xen.EFAULT) {
		t.Errorf("bad pointer: %d", got)
	}
}

func TestPhysdevOp(t *testing.T) {
	add := enc(&xen.PhysdevPCIDeviceAdd{Bus: 0, Devfn: 3<<3 | 1}, xen.PhysdevPCIDeviceAddSize)
	mc := enc(&xen.PhysdevPCIMmcfgReserved{Address: 0xb0000000, StartBus: 0, EndBus: 255}, xen.PhysdevPCIMmcfgReservedSize)
	for _, c := range []struct {
		name string
		dom0 bool
		cmd  uint64
		arg  []byte
		want int64
		call string
	}{
		{"device_add", true, xen.PhysdevOpPCIDeviceAdd, add, 0, "pci add 0000:00:03.1"},
		{"mmcfg", true, xen.PhysdevOpPCIMmcfgReserved, mc, 0, "mmcfg 0xb0000000 seg 0 bus 0-255"},
		{"map_pirq", true, xen.PhysdevOpMapPirq, nil, -int64(xen.ENOSYS), ""},
		{"manage_pci_add", true, xen.PhysdevOpManagePCIAdd, nil, -int64(xen.ENOSYS), ""},
		// Xen's hvm_physdev_op: -ENOSYS for a domain that is not the
		// hardware domain.
		{"domU device_add", false, xen.PhysdevOpPCIDeviceAdd, add, -int64(xen.ENOSYS), ""},
		{"domU mmcfg", false, xen.PhysdevOpPCIMmcfgReserved, mc, -int64(xen.ENOSYS), ""},
	} {
		g := newFake(t)
		if c.dom0 {
			g.ctl = &fakeControl{g: g}
		}
		copy(g.mem[argAt-memBase:], c.arg)
		if got := g.call(xen.HypercallPhysdevOp, c.cmd, argAt); got != c.want {
			t.Errorf("%s: got %d, want %d", c.name, got, c.want)
		}
		if got := strings.Join(g.calls, ";"); got != c.call {
			t.Errorf("%s: calls %q, want %q", c.name, got, c.call)
		}
	}
	g := dom0Fake(t)
	if got := g.call(xen.HypercallPhysdevOp, xen.PhysdevOpPCIDeviceAdd, 0x10); got != -int64(xen.EFAULT) {
		t.Errorf("bad pointer: %d", got)
	}
}

func TestConsoleRead(t *testing.T) {
	g := dom0Fake(t)
	g.ctl.input = []byte("ls\r")
	if got := g.call(xen.HypercallConsoleIO, xen.ConsoleIORead, 16, argAt); got != 3 {
		t.Fatalf("read = %d", got)
	}
	if string(g.mem[argAt-memBase:argAt-memBase+3]) != "ls\r" {
		t.Errorf("buffer %q", g.mem[argAt-memBase:argAt-memBase+3])
	}
	if got := g.call(xen.HypercallConsoleIO, xen.ConsoleIORead, 16, argAt); got != 0 {
		t.Errorf("read with no input = %d", got)
	}
	g.ctl.input = []byte("abc")
	if got := g.call(xen.HypercallConsoleIO, xen.ConsoleIORead, 2, 0x10); got != -int64(xen.EFAULT) || len(g.ctl.input) != 3 {
		t.Errorf("bad buffer: %d, input left %q (must not be consumed)", got, g.ctl.input)
	}
	if got := g.call(xen.HypercallConsoleIO, xen.ConsoleIORead, 2, argAt); got != 2 || len(g.ctl.input) != 1 {
		t.Errorf("short read: %d, left %q", got, g.ctl.input)
	}
	d := newFake(t)
	if got := d.call(xen.HypercallConsoleIO, xen.ConsoleIORead, 16, argAt); got != -int64(xen.EPERM) {
		t.Errorf("domU read = %d, want -EPERM", got)
	}
}

func FuzzPlatformOp(f *testing.F) {
	fuzzOp(f, op{nr: xen.HypercallPlatformOp, size: xen.XenPlatformOpSize, dom0: true,
		args: func(uint64) []uint64 { return []uint64{argAt} }},
		platformBytes(xen.XenpfSettime64, xen.XenpfInterfaceVersion, nil))
}

func FuzzPlatformOpDomU(f *testing.F) {
	fuzzOp(f, op{nr: xen.HypercallPlatformOp, size: xen.XenPlatformOpSize,
		args: func(uint64) []uint64 { return []uint64{argAt} }},
		platformBytes(xen.XenpfSettime64, xen.XenpfInterfaceVersion, nil))
}

func FuzzPhysdevPCIDeviceAdd(f *testing.F) {
	fuzzOp(f, op{nr: xen.HypercallPhysdevOp, cmd: xen.PhysdevOpPCIDeviceAdd, size: xen.PhysdevPCIDeviceAddSize, dom0: true})
}

func FuzzPhysdevPCIMmcfgReserved(f *testing.F) {
	fuzzOp(f, op{nr: xen.HypercallPhysdevOp, cmd: xen.PhysdevOpPCIMmcfgReserved, size: xen.PhysdevPCIMmcfgReservedSize, dom0: true})
}

func FuzzConsoleRead(f *testing.F) {
	fuzzOp(f, op{nr: xen.HypercallConsoleIO, size: 0, dom0: true,
		args:    func(n uint64) []uint64 { return []uint64{xen.ConsoleIORead, n % 5000, argAt} },
		outputs: func(g *fakeGuest) [][2]uint64 { return [][2]uint64{{argAt, argAt + MaxConsoleRead}} }})
}

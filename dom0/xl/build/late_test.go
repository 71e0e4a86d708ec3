package build

import (
	"bytes"
	"encoding/binary"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"gozen/abi/xen"
	"gozen/dom0/xc"
	"gozen/dom0/xc/xcfake"
	"gozen/dom0/xl/xltest"
	"gozen/dom0/xs"
	"gozen/loader"
)

// orderStore checks, at XS_INTRODUCE, that HVM_PARAM_STORE_PFN is already
// set: xenstored notifies the guest when it binds the port, and Linux's
// xenbus_late_init ignores an event while the param still reads ~0.
type orderStore struct {
	*xs.Client
	f          *xcfake.Fake
	pfnAtIntro uint64
	fail       error
}

func (o *orderStore) Introduce(domid uint32, gfn uint64, port uint32) error {
	o.pfnAtIntro, _ = o.f.GetParam(domid, xen.HVMParamStorePFN)
	if o.fail != nil {
		return o.fail
	}
	return o.Client.Introduce(domid, gfn, port)
}

// bootDomain makes what hv builds for domain=...,xenstore=dom0: running,
// RAM populated, console port and page, STORE_PFN ~0 and a store port.
func bootDomain(t *testing.T, f *xcfake.Fake, mib uint64) uint32 {
	t.Helper()
	id, err := f.CreateDomain(xc.PVHCreateConfig([16]byte{}, 1))
	if err != nil {
		t.Fatal(err)
	}
	f.SetMaxMem(id, mib<<10)
	var gfns []uint64
	for g := uint64(0); g < mib<<8; g++ {
		gfns = append(gfns, g)
	}
	if err := f.Populate(id, 0, gfns); err != nil {
		t.Fatal(err)
	}
	sp, _ := f.AllocUnbound(id, 0)
	cp, _ := f.AllocUnbound(id, 0)
	for p, v := range map[uint32]uint64{xen.HVMParamStorePFN: ^uint64(0), xen.HVMParamStoreEvtchn: uint64(sp),
		xen.HVMParamConsolePFN: loader.ConsoleGFN, xen.HVMParamConsoleEvtchn: uint64(cp)} {
		f.SetParam(id, p, v)
	}
	// Garbage where the ring goes: ConnectLate zeroes it.
	m, err := f.MapForeign(id, []uint64{loader.StoreGFN})
	if err != nil {
		t.Fatal(err)
	}
	m[0], m[2047] = 0xaa, 0xbb
	f.Unmap(m)
	f.SetState(id, func(d *xcfake.Domain) { d.Paused, d.Running = false, true }) // hv started it
	return id
}

func TestConnectLate(t *testing.T) {
	f := xcfake.New(1024, 256)
	store, c0 := xltest.NewStore()
	id := bootDomain(t, f, 8)
	if ok, err := WaitingForStore(f, id); !ok || err != nil {
		t.Fatalf("WaitingForStore = %v, %v", ok, err)
	}
	if ok, _ := WaitingForStore(f, 0); ok {
		t.Error("dom0 waits for a late xenstore")
	}
	info, err := f.DomainInfo(id)
	if err != nil {
		t.Fatal(err)
	}
	os := &orderStore{Client: c0, f: f}
	d, err := ConnectLate(f, os, info, LateName(id))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := f.DomainInfo(id); got.Handle != d.UUID || d.UUID == ([16]byte{}) || d.UUID[6]>>4 != 4 {
		t.Errorf("domain handle %x, UUID %x: want the same random (version 4) UUID", got.Handle, d.UUID)
	}
	if v, err := c0.Read("/vm/" + UUIDString(d.UUID) + "/name"); err != nil || v != LateName(id) {
		t.Errorf("/vm/<uuid>/name = %q, %v", v, err)
	}
	if os.pfnAtIntro != loader.StoreGFN {
		t.Errorf("HVM_PARAM_STORE_PFN at XS_INTRODUCE = %#x, want %#x (set before)", os.pfnAtIntro, loader.StoreGFN)
	}
	sp, _ := f.GetParam(id, xen.HVMParamStoreEvtchn)
	if got := store.Introduced[id]; got != [2]uint64{loader.StoreGFN, sp} || d.StorePort != uint32(sp) {
		t.Errorf("introduced %v, want gfn %#x port %d", got, loader.StoreGFN, sp)
	}
	if ok, _ := WaitingForStore(f, id); ok {
		t.Error("still waiting after ConnectLate")
	}
	if ring := read(t, f, id, loader.StoreGFN*xc.PageSize, xc.PageSize); !bytes.Equal(ring, make([]byte, xc.PageSize)) {
		t.Error("the xenstore ring page was not zeroed")
	}
	g := f.Domain(id).Grant
	for ref, gfn := range []uint64{loader.ConsoleGFN, loader.StoreGFN} {
		e := g[ref*xen.GrantEntryV1Size:]
		if fl := binary.LittleEndian.Uint16(e); fl != xen.GTFPermitAccess || binary.LittleEndian.Uint16(e[2:]) != 0 || uint64(binary.LittleEndian.Uint32(e[4:])) != gfn {
			t.Errorf("grant %d: % x", ref, e[:8])
		}
	}
	home := "/local/domain/" + strings.TrimPrefix(LateName(id), "dom0less-")
	cp, _ := f.GetParam(id, xen.HVMParamConsoleEvtchn)
	for path, want := range map[string]string{
		home + "/name": "dom0less-" + strings.TrimPrefix(home, "/local/domain/"), home + "/domid": strings.TrimPrefix(home, "/local/domain/"),
		home + "/memory/target": "8192", home + "/console/ring-ref": "3", home + "/store/ring-ref": "4",
		home + "/console/port": itoa(cp), home + "/store/port": itoa(sp), home + "/control/shutdown": "",
		home + "/cpu/0/availability": "online", home + "/console/type": "xenconsoled",
	} {
		if got, err := c0.Read(path); err != nil || got != want {
			t.Errorf("%s = %q, %v; want %q", path, got, err, want)
		}
	}
	// The guest may write its control nodes and read its home.
	guest := store.Client(id)
	if err := guest.Write(home+"/control/feature-poweroff", "1"); err != nil {
		t.Errorf("guest writing control/feature-poweroff: %v", err)
	}
	if err := guest.Write(home+"/name", "evil"); err == nil {
		t.Error("guest renamed itself")
	}
	if _, err := ConnectLate(f, c0, info, "again"); err == nil || !strings.Contains(err.Error(), "not waiting") {
		t.Errorf("second ConnectLate: %v", err)
	}
}

func TestConnectLateFailure(t *testing.T) {
	f := xcfake.New(1024, 256)
	_, c0 := xltest.NewStore()
	id := bootDomain(t, f, 8)
	info, _ := f.DomainInfo(id)
	os := &orderStore{Client: c0, f: f, fail: syscall.EINVAL}
	if _, err := ConnectLate(f, os, info, "x"); err == nil || !strings.Contains(err.Error(), "XS_INTRODUCE") {
		t.Fatalf("err = %v", err)
	}
	if ok, _ := WaitingForStore(f, id); !ok {
		t.Error("a failed ConnectLate left STORE_PFN set")
	}
	if _, err := c0.Read("/local/domain/" + itoa(uint64(id)) + "/name"); err == nil {
		t.Error("a failed ConnectLate left its nodes")
	}
	if f.Domain(id) == nil {
		t.Error("a failed ConnectLate destroyed the domain")
	}
	// A domain hv serves (STORE_PFN a real page) is refused.
	f.SetParam(id, xen.HVMParamStorePFN, loader.StoreGFN)
	if _, err := ConnectLate(f, c0, info, "x"); err == nil {
		t.Error("connected a domain that does not wait")
	}
}

func itoa(v uint64) string { return strconv.FormatUint(v, 10) }

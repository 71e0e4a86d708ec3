package xl

import (
	"strings"
	"testing"

	"gozen/abi/xen"
	"gozen/dom0/xc"
	"gozen/dom0/xc/xcfake"
	"gozen/dom0/xl/build"
	"gozen/loader"
)

// TestInitDom0less: a domain the hypervisor built at boot with a late
// xenstore is connected, named dom0less-ID, listed by name, and xl
// shutdown and destroy work on it; running it again finds nothing to do.
func TestInitDom0less(t *testing.T) {
	h := newHarness(t)
	id, err := h.f.CreateDomain(xc.PVHCreateConfig([16]byte{}, 1))
	if err != nil {
		t.Fatal(err)
	}
	h.f.SetMaxMem(id, 8<<10)
	var gfns []uint64
	for g := uint64(0); g < 8<<8; g++ {
		gfns = append(gfns, g)
	}
	if err := h.f.Populate(id, 0, gfns); err != nil {
		t.Fatal(err)
	}
	sp, _ := h.f.AllocUnbound(id, 0)
	cp, _ := h.f.AllocUnbound(id, 0)
	h.f.SetParam(id, xen.HVMParamStorePFN, ^uint64(0))
	h.f.SetParam(id, xen.HVMParamStoreEvtchn, uint64(sp))
	h.f.SetParam(id, xen.HVMParamConsolePFN, loader.ConsoleGFN)
	h.f.SetParam(id, xen.HVMParamConsoleEvtchn, uint64(cp))
	h.f.SetState(id, func(d *xcfake.Domain) { d.Paused, d.Running = false, true })

	out := h.ok(InitDom0lessVerb)
	if !strings.Contains(out, `init-dom0less: domain 1 connected to xenstore as "dom0less-1" (8 MiB, 1 vCPU(s))`) {
		t.Errorf("init-dom0less printed %q", out)
	}
	if got := h.ok("list"); !strings.Contains(got, "\ndom0less-1 ") {
		t.Errorf("xl list:\n%s", got)
	}
	if got := h.ok("list", "-l"); !strings.Contains(got, `"domid": 1`) || !strings.Contains(got, `"name": "dom0less-1"`) {
		t.Errorf("xl list -l:\n%s", got)
	}
	// The UUID init-dom0less gave it is the hypervisor's handle too.
	rec := h.env.loadRecord(id)
	if rec == nil || rec.UUID == "" || rec.UUID == build.UUIDString([16]byte{}) {
		t.Fatalf("record %+v", rec)
	}
	if got := h.ok("list", "-v", "dom0less-1"); !strings.Contains(got, "\ndom0less-1 ") || !strings.Contains(got, " "+rec.UUID+"        - ") ||
		!strings.HasPrefix(got, strings.TrimSuffix(ListHeader, "\n")+ListVerboseHeader+"\n") {
		t.Errorf("xl list -v dom0less-1:\n%s\nwant its UUID %s", got, rec.UUID)
	}
	if out := h.ok(InitDom0lessVerb); !strings.Contains(out, "no domain waits") {
		t.Errorf("second run printed %q", out)
	}
	u := h.store.Client(id)
	if err := u.Write("control/feature-poweroff", "1"); err != nil {
		t.Fatal(err)
	}
	h.ok("shutdown", "dom0less-1")
	if v, _ := h.c0.Read("/local/domain/1/control/shutdown"); v != "poweroff" {
		t.Errorf("control/shutdown = %q", v)
	}
	h.ok("destroy", "dom0less-1")
	if h.f.Domain(id) != nil || h.env.loadRecord(id) != nil {
		t.Error("destroy left the domain or its record")
	}
	if _, err := h.c0.Read("/local/domain/1/name"); err == nil {
		t.Error("destroy left its nodes")
	}
	h.fails(2, "takes no arguments", InitDom0lessVerb, "x")
}

package xcfake

import (
	"errors"
	"syscall"
	"testing"

	"gozen/dom0/xc"
)

// The fake refuses what Xen refuses, so the builder's tests mean
// something: no unpause without a vCPU context, no map of an unpopulated
// frame, no populate past max_mem, and a mapped domain outlives its
// destruction until the last unmap.
func TestFakeRules(t *testing.T) {
	f := New(64, 16)
	id, err := f.CreateDomain(xc.PVHCreateConfig([16]byte{1}, 1))
	if err != nil || id != 1 {
		t.Fatal(id, err)
	}
	if err := f.Unpause(id); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("unpause with no context: %v", err)
	}
	if _, err := f.MapForeign(id, []uint64{5}); !errors.Is(err, syscall.EFAULT) {
		t.Errorf("map of an unpopulated frame: %v", err)
	}
	f.SetMaxMem(id, 8)
	if err := f.Populate(id, 0, []uint64{0, 1, 2}); !errors.Is(err, syscall.ENOMEM) {
		t.Errorf("populate past max_mem: %v", err)
	}
	if err := f.Populate(id, 0, []uint64{0, 1}); err != nil {
		t.Fatal(err)
	}
	m, err := f.MapForeign(id, []uint64{1})
	if err != nil {
		t.Fatal(err)
	}
	m[7] = 0x5a
	if err := f.DestroyDomain(id); err != nil {
		t.Fatal(err)
	}
	if info, err := f.DomainInfo(id); err != nil || !info.Dying() || info.StateString() != "-----d" {
		t.Errorf("mapped domain after destroy: %+v %v", info, err)
	}
	if b, _ := f.Read(id, 4096+7, 1); b[0] != 0 {
		t.Error("write visible before unmap") // the fake writes back on Unmap
	}
	if err := f.Unmap(m); err != nil {
		t.Fatal(err)
	}
	if _, err := f.DomainInfo(id); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("after the last unmap: %v", err)
	}
	if err := f.Unmap(m); err == nil {
		t.Error("double unmap accepted")
	}
	if p, _ := f.PhysInfo(); p.FreePages != 48<<8 {
		t.Errorf("free pages %d, want %d", p.FreePages, 48<<8)
	}
}

func TestStateString(t *testing.T) {
	for flags, want := range map[uint32]string{
		xc.DomInfRunning:                   "r-----",
		xc.DomInfBlocked | xc.DomInfPaused: "-bp---",
		xc.DomInfShutdown | xc.ShutdownPoweroff<<xc.DomInfShutdownShift: "---s--",
		xc.DomInfShutdown | xc.ShutdownReboot<<xc.DomInfShutdownShift:   "---sr-",
		xc.DomInfShutdown | xc.ShutdownCrash<<xc.DomInfShutdownShift:    "---sc-",
		xc.DomInfShutdown | 9<<xc.DomInfShutdownShift:                   "---s?-",
		xc.DomInfDying: "-----d",
	} {
		if got := (xc.DomainInfo{Flags: flags}).StateString(); got != want {
			t.Errorf("flags %#x: %q, want %q", flags, got, want)
		}
	}
}

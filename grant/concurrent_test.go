package grant

import (
	"sync"
	"sync/atomic"
	"testing"

	"gozen/abi/xen"
)

// A guest vCPU flipping its own bits of an entry (here the cache attribute
// GTF_PCD, the way Linux sets GTF_readonly bits with a locked op) while we
// map and unmap: our compare-and-swap must neither lose its update nor the
// guest's, and may at worst fail a map with GNTST_general_error.
func TestConcurrentGuestUpdates(t *testing.T) {
	e := newEnv(t, Config{})
	grant(e.a, 8, idB, 5, false)
	p := e.a.hdr(8)

	var stop atomic.Bool
	var wg sync.WaitGroup
	var toggles int
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			atomic.OrUint32(p, xen.GTFPCD)
			atomic.AndUint32(p, ^uint32(xen.GTFPCD))
			toggles += 2
		}
	}()
	ok, unstable := 0, 0
	for i := 0; i < 20000; i++ {
		h, st := e.s.MapGrantRef(e.b, idA, 8, xen.GNTMAPHostMap, addr(hostGFN))
		switch st {
		case xen.GNTSTOkay:
			ok++
			if f := uint16(atomic.LoadUint32(p)); f&(xen.GTFReading|xen.GTFWriting) != xen.GTFReading|xen.GTFWriting {
				stop.Store(true)
				wg.Wait()
				t.Fatalf("map %d: status bits lost: %#x", i, f)
			}
			if st := e.s.UnmapGrantRef(e.b, addr(hostGFN), h); st != xen.GNTSTOkay {
				t.Fatalf("unmap: %d", st)
			}
		case xen.GNTSTGeneralError:
			unstable++
		default:
			t.Fatalf("map: %d", st)
		}
	}
	stop.Store(true)
	wg.Wait()
	f := uint16(atomic.LoadUint32(p))
	if f != xen.GTFPermitAccess {
		t.Fatalf("final flags %#x", f)
	}
	if d := uint16(atomic.LoadUint32(p) >> 16); d != idB {
		t.Fatalf("domid clobbered: %d", d)
	}
	t.Logf("%d maps, %d refused as unstable, %d guest toggles", ok, unstable, toggles)
}

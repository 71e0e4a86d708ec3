package svm

import "testing"

type asidStep struct {
	asid  uint32
	flush bool
	gen   uint64
}

func runAlloc(t *testing.T, a *ASIDs, steps []asidStep) {
	t.Helper()
	for i, s := range steps {
		asid, flush := a.Alloc()
		if asid != s.asid || flush != s.flush || a.Generation() != s.gen {
			t.Fatalf("Alloc #%d = (%d, %v) gen %d, want (%d, %v) gen %d",
				i, asid, flush, a.Generation(), s.asid, s.flush, s.gen)
		}
	}
}

func TestASIDGenerations(t *testing.T) {
	var a ASIDs
	a.Init(4) // NASID 4: ASIDs 1, 2, 3
	if a.Generation() != 0 {
		t.Fatalf("Generation after Init = %d", a.Generation())
	}
	runAlloc(t, &a, []asidStep{
		{1, true, 1}, // the first generation starts with a flush
		{2, false, 1},
		{3, false, 1},
		{1, true, 2}, // exhausted: wrap, flush, new generation
		{2, false, 2},
		{3, false, 2},
		{1, true, 3},
	})
	// Init starts over.
	a.Init(3)
	runAlloc(t, &a, []asidStep{{1, true, 1}, {2, false, 1}, {1, true, 2}})
}

// TestASIDNeverZero: ASID 0 is the host's (APM vol. 2 §15.16) and is never
// handed out, nor one at or above NASID, whatever n is.
func TestASIDNeverZero(t *testing.T) {
	for _, n := range []uint32{0, 1, 2, 3, 8, 64, 0x8000, 0xFFFF_FFFF} {
		var a ASIDs
		a.Init(n)
		limit := n - 1
		if n < 2 {
			limit = 1
		}
		flushes := 0
		for i := 0; i < 3*64+1; i++ {
			asid, flush := a.Alloc()
			if asid == 0 || asid > limit {
				t.Fatalf("Init(%d): Alloc = %d", n, asid)
			}
			if flush {
				flushes++
				if asid != 1 {
					t.Fatalf("Init(%d): flush with ASID %d", n, asid)
				}
			}
		}
		if uint64(flushes) != a.Generation() {
			t.Errorf("Init(%d): %d flushes, generation %d", n, flushes, a.Generation())
		}
	}
}

// TestASIDDegenerate: with one guest ASID, every Alloc flushes.
func TestASIDDegenerate(t *testing.T) {
	for _, n := range []uint32{0, 1, 2} {
		var a ASIDs
		a.Init(n)
		runAlloc(t, &a, []asidStep{{1, true, 1}, {1, true, 2}, {1, true, 3}})
	}
	// The zero value acts as Init(2).
	var z ASIDs
	runAlloc(t, &z, []asidStep{{1, true, 1}, {1, true, 2}})
}

// TestASIDVCPUProtocol plays the caller's side: vCPUs remember the
// generation of their ASID and re-allocate when it is stale. Two vCPUs never
// hold the same ASID in the same generation, and a flush comes with every
// generation change.
func TestASIDVCPUProtocol(t *testing.T) {
	var a ASIDs
	a.Init(3) // two guest ASIDs
	type vcpu struct {
		asid uint32
		gen  uint64
	}
	vcpus := make([]vcpu, 3)
	for round := 0; round < 20; round++ {
		for i := range vcpus {
			v := &vcpus[i]
			if v.gen != a.Generation() || v.asid == 0 {
				before := a.Generation()
				asid, flush := a.Alloc()
				if flush != (a.Generation() != before) {
					t.Fatalf("flush %v but generation %d -> %d", flush, before, a.Generation())
				}
				v.asid, v.gen = asid, a.Generation()
			}
			// "VMRUN": no other vCPU of this generation has this ASID.
			for j := range vcpus {
				w := &vcpus[j]
				if j != i && w.gen == v.gen && w.asid == v.asid {
					t.Fatalf("round %d: vCPUs %d and %d share ASID %d in generation %d", round, i, j, v.asid, v.gen)
				}
			}
		}
	}
}

func TestASIDDoesNotAllocate(t *testing.T) {
	var a ASIDs
	a.Init(16)
	var sink uint64
	n := testing.AllocsPerRun(100, func() {
		asid, _ := a.Alloc()
		sink += uint64(asid) + a.Generation()
	})
	if n != 0 {
		t.Errorf("%v allocations per run", n)
	}
}

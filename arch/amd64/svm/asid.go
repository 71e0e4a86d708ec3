package svm

// ASIDs hands out the address space identifiers of one physical CPU (APM
// vol. 2 §15.16 "TLB Control"). TLB entries are tagged with the ASID of the
// guest that made them, so a guest keeps its entries across VMRUNs, but an
// ASID must not be given to another address space while entries of its old
// one may remain. ASID 0 is the host's and is never handed out.
//
// The allocator works in generations, as Linux KVM's does: ASIDs 1, 2, ...
// are handed out in turn; when they run out, a new generation begins at 1
// and Alloc reports flush, and the VMRUN that uses that ASID must set
// VMCB.TLBControl to TLBFlushAll, which flushes every ASID's entries on this
// CPU. Every ASID of an older generation is then stale: a vCPU remembers the
// Generation its ASID came from and, before each VMRUN on this CPU, calls
// Alloc again if that is no longer the current one.
//
// The first Alloc after Init also begins a generation and reports flush,
// since the TLB may hold entries from whoever used SVM on this CPU before.
//
// ASIDs is plain data: it never allocates or panics, and it is not safe for
// concurrent use. The TLB is per CPU, so each physical CPU owns one. The zero
// value behaves as after Init(2).
type ASIDs struct {
	last uint32 // highest ASID handed out, 1..limit; 0 before the first Alloc of a run
	gen  uint64 // current generation; 0 until the first Alloc
	high uint32 // highest usable ASID, >= 1
}

// Init resets the allocator for a CPU with n ASIDs, n being what CPUID
// Fn8000_000A EBX (NASID) reports, ASID 0 included: ASIDs 1 to n-1 are
// handed out. n < 2 is treated as 2, one guest ASID, so that every Alloc
// starts a new generation and flushes. The generation restarts at 0.
func (a *ASIDs) Init(n uint32) {
	if n < 2 {
		n = 2
	}
	*a = ASIDs{high: n - 1}
}

// Alloc returns a fresh ASID. flush is true when the ASID begins a new
// generation: the caller must then set TLBControl to TLBFlushAll for the
// VMRUN that uses it, and vCPUs holding ASIDs of the previous generation
// must Alloc again before their next VMRUN on this CPU.
func (a *ASIDs) Alloc() (asid uint32, flush bool) {
	high := a.high
	if high == 0 {
		high = 1
	}
	if a.gen == 0 || a.last >= high {
		a.gen++
		a.last = 1
		return 1, true
	}
	a.last++
	return a.last, false
}

// Generation returns the current generation: 0 before the first Alloc, then
// 1, 2, ... An ASID is valid for VMRUN on this CPU only while the generation
// it was allocated in is still the current one.
func (a *ASIDs) Generation() uint64 { return a.gen }

package hv

import (
	"sync"
	"sync/atomic"

	"gozen/abi/xen"
)

// conring keeps the newest conringSize bytes of hv's console output for
// XEN_SYSCTL_readconsole (`xl dmesg`), as Xen's console ring does: prod
// counts every byte ever written (a free-running 32-bit index, Xen's
// conringp), and bytes older than prod-conringSize are gone. Readers name
// a position with those indices.
type conring struct {
	mu     sync.Mutex
	buf    [conringSize]byte
	prod   uint32 // bytes written so far (mod 2^32)
	oldest uint32 // index of the oldest byte kept (moves on clear)
	// fresh says bytes came since the run loop last raised VIRQ_CON_RING
	// (announceConsole).
	fresh atomic.Bool
}

// conringSize is the ring's size: Xen's default (conring_size 16 KiB) times
// four, room for hv's boot log and a few domains' lines.
const conringSize = 64 << 10

func (r *conring) write(p []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range p {
		r.buf[r.prod%conringSize] = c
		r.prod++
	}
	if r.prod-r.oldest > conringSize {
		r.oldest = r.prod - conringSize
	}
	r.fresh.Store(true)
}

// announceConsole raises VIRQ_CON_RING when the console ring took bytes
// since its last call, so a reader in dom0 (createbench, a hypervisor-log
// daemon) can wait for output on an event channel instead of polling
// XEN_SYSCTL_readconsole. The run loop calls it once a turn, as Xen
// defers the raise to a tasklet: console writes come from the middle of
// hypercalls and scheduler steps, while raising an event and waking a
// vCPU belong on the run loop. A bound port stays pending until dom0
// clears it, so one event may stand for many writes.
func (h *Hypervisor) announceConsole() {
	if h.con.out.ring.fresh.Swap(false) {
		h.events.RaiseGlobalVIRQ(xen.VIRQConRing)
	}
}

// read copies into p the bytes from index (incremental) or from the oldest
// kept, and returns how many and the index after them; an index older than
// what is kept starts at the oldest byte. With clear the ring is emptied
// afterwards (Xen's readconsole clear: nothing before prod is read again).
func (r *conring) read(p []byte, index uint32, incremental, clear bool) (int, uint32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	start := r.oldest
	if incremental && index-r.oldest <= r.prod-r.oldest {
		start = index
	}
	n := min(uint32(len(p)), r.prod-start)
	for i := range n {
		p[i] = r.buf[(start+i)%conringSize]
	}
	if clear {
		r.oldest = r.prod
	}
	return int(n), start + n
}

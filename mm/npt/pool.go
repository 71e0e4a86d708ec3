package npt

import (
	"errors"
	"fmt"
)

// Paging pools.
//
// Every nested page-table page of a domain comes from that domain's own
// pool, a fixed number of frames set aside when the domain is created (Xen's
// HAP/p2m pool: XEN_DOMCTL_set_paging_mempool_size, xl's shadow_memory).
// A guest makes hv build tables by putting frames at new guest-physical
// addresses (populate_physmap after decrease_reservation, grant mappings,
// add_to_physmap); frames spread 1 GiB apart cost two table pages each. With
// a pool per domain, a guest that does this runs out of its own pool and its
// call fails with ErrNoTables (-ENOMEM for the guest); no one else's memory,
// and none of hv's, is touched.
//
// Where the frames come from is the caller's choice (a Frames); hv takes them
// from the guest pool, as Xen takes the p2m pool from the domain heap, so the
// pool scales with guest memory and hv's own small pool (the Go heap) is out
// of reach of guests.

// TableMemory reaches table pages (the direct map on hardware).
type TableMemory interface {
	Table(pa uint64) *[512]uint64
}

// Pool is a domain's paging pool. It implements pgtable.Memory. Like
// pgtable, it is not safe for concurrent use.
type Pool struct {
	src   Frames
	mem   TableMemory
	runs  []poolRun // frames obtained from src, given back by Release
	free  []uint64  // frames not holding a table
	total uint64
	peak  uint64 // most frames in use at once
	fails uint64 // AllocTable calls refused
}

type poolRun struct{ pa, n uint64 }

// ErrNoTables means a domain's paging pool is empty.
var ErrNoTables = errors.New("npt: paging pool exhausted")

// NewPool sets pages frames aside from src. It takes one contiguous run
// when it can (the guest pool's 2 MiB runs then stay whole for RAM), single
// frames otherwise. If src cannot supply them all, nothing is kept and the
// error says so.
func NewPool(src Frames, mem TableMemory, pages uint64) (*Pool, error) {
	if pages == 0 {
		return nil, errors.New("npt: empty paging pool")
	}
	p := &Pool{src: src, mem: mem}
	if pa, ok := src.Alloc(pages, 1); ok {
		p.runs = append(p.runs, poolRun{pa, pages})
		for i := uint64(0); i < pages; i++ {
			p.free = append(p.free, pa+i*page)
		}
	} else {
		for i := uint64(0); i < pages; i++ {
			pa, ok := src.Alloc(1, 1)
			if !ok {
				p.Release()
				return nil, fmt.Errorf("npt: %d of %d frames for the paging pool: %w", i, pages, ErrNoMemory)
			}
			p.runs = append(p.runs, poolRun{pa, 1})
			p.free = append(p.free, pa)
		}
	}
	p.total = pages
	// Hand out low frames first (the stack pops from the end).
	for i, j := 0, len(p.free)-1; i < j; i, j = i+1, j-1 {
		p.free[i], p.free[j] = p.free[j], p.free[i]
	}
	return p, nil
}

// AllocTable implements pgtable.Memory: a zeroed frame of the pool, or
// false when the pool is empty.
func (p *Pool) AllocTable() (uint64, bool) {
	n := len(p.free)
	if n == 0 {
		p.fails++
		return 0, false
	}
	pa := p.free[n-1]
	p.free = p.free[:n-1]
	clear(p.mem.Table(pa)[:]) // a frame given back may hold old entries
	if used := p.total - uint64(len(p.free)); used > p.peak {
		p.peak = used
	}
	return pa, true
}

// FreeTable implements pgtable.Memory. The frame stays in the pool; the
// caller flushes the guest's TLB before the guest runs again, as it does
// for every change to its tables.
func (p *Pool) FreeTable(pa uint64) {
	if uint64(len(p.free)) < p.total {
		p.free = append(p.free, pa)
	}
}

// Table implements pgtable.Memory.
func (p *Pool) Table(pa uint64) *[512]uint64 { return p.mem.Table(pa) }

// PoolStats describes a paging pool, in frames.
type PoolStats struct {
	Total, Free, Peak uint64
	Refused           uint64 // table allocations refused because the pool was empty
}

// Stats reports the pool's size and use.
func (p *Pool) Stats() PoolStats {
	return PoolStats{Total: p.total, Free: uint64(len(p.free)), Peak: p.peak, Refused: p.fails}
}

// Release gives every frame of the pool back to its source. The tables must
// no longer be in use (Memory.Release destroys them first); afterwards the
// pool is empty and refuses every allocation.
func (p *Pool) Release() {
	for _, r := range p.runs {
		p.src.Free(r.pa, r.n)
	}
	p.runs, p.free, p.total = nil, nil, 0
}

// DefaultPoolPages is the paging pool a domain gets unless told otherwise:
// libxl's default shadow_memory (libxl_get_required_shadow_memory), 1 MiB
// per vCPU plus 8 KiB per MiB of RAM. Mapping all of a domain's RAM with
// 4 KiB pages takes about 2 KiB per MiB, so the rest is room for grant
// mappings, grant-table frames and ballooning. GoZen's vCPUs take no pool
// pages, but keeping Xen's figure keeps sizes familiar; it costs well under
// 1% of guest memory for domains of 128 MiB and up.
func DefaultPoolPages(mem uint64, vcpus int) uint64 {
	if vcpus < 1 {
		vcpus = 1
	}
	kib := 1024*uint64(vcpus) + 8*(mem>>20)
	return kib / 4
}

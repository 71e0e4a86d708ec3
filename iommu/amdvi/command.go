package amdvi

import (
	"fmt"
	"sync/atomic"
)

// Command is one 16-byte command-buffer entry as two little-endian
// quadwords (spec "Commands"): the opcode sits in bits 63:60 of the first.
type Command [2]uint64

// CommandSize is the size of one command.
const CommandSize = 16

// Command opcodes.
const (
	OpCompletionWait     = 0x1
	OpInvDevTabEntry     = 0x2
	OpInvIOMMUPages      = 0x3
	OpInvIOTLBPages      = 0x4
	OpInvInterruptTable  = 0x5
	OpPrefetchIOMMUPages = 0x6
	OpCompletePPR        = 0x7
	OpInvIOMMUAll        = 0x8
)

const opShift = 60

// Opcode returns the command's opcode.
func (c Command) Opcode() int { return int(c[0] >> opShift) }

// COMPLETION_WAIT bits (first quadword).
const (
	cwStore     uint64 = 1 << 0 // S: store Data at the store address when all earlier commands are done
	cwInterrupt uint64 = 1 << 1 // I: raise ComWaitInt
	cwFlush     uint64 = 1 << 2 // F: also wait for earlier non-posted DMA (not used)
	cwAddrMask  uint64 = 0x000f_ffff_ffff_fff8
)

// CompletionWait returns a COMPLETION_WAIT that stores data at the 8-byte
// aligned physical address storePA once every earlier command has
// completed (the store is how software learns it).
func CompletionWait(storePA, data uint64) Command {
	return Command{cwStore | storePA&cwAddrMask | OpCompletionWait<<opShift, data}
}

// InvalidateDevTabEntry drops the IOMMU's cached copy of device id's DTE.
func InvalidateDevTabEntry(id uint16) Command {
	return Command{uint64(id) | OpInvDevTabEntry<<opShift, 0}
}

// INVALIDATE_IOMMU_PAGES / INVALIDATE_IOTLB_PAGES bits (second quadword).
const (
	invSize uint64 = 1 << 0 // S: the address encodes a power-of-two range
	invPDE  uint64 = 1 << 1 // PDE: also drop cached page-directory entries
	// InvAllAddress with S=1 covers the whole address space.
	invAllAddress uint64 = 0x7fff_ffff_ffff_f000
)

// invRange encodes [iova, iova+size) as the address and S bit of the
// invalidation commands: one 4 KiB page with S=0; otherwise the smallest
// naturally aligned power-of-two block holding the range, written as its
// base with every bit from 12 up to just below the block's top bit set
// (the IOMMU takes the first zero bit at or above bit 12 as the size).
func invRange(iova, size uint64) uint64 {
	if size == 0 {
		size = 1
	}
	start := iova &^ (Size4K - 1)
	end := iova + size - 1
	if end < iova {
		return invAllAddress | invSize
	}
	if start>>12 == end>>12 {
		return start
	}
	top := 63
	for (start^end)>>uint(top) == 0 {
		top--
	}
	// The block is 2^(top+1) bytes; its top bit in start is 0.
	if top >= 51 {
		return invAllAddress | invSize
	}
	return (start|(1<<uint(top)-1))&^(Size4K-1) | invSize
}

// InvalidateIOMMUPages drops cached translations (and page-directory
// entries) of IOMMU domain dom for DMA addresses [iova, iova+size).
func InvalidateIOMMUPages(dom uint16, iova, size uint64) Command {
	return Command{uint64(dom)<<32 | OpInvIOMMUPages<<opShift, invRange(iova, size) | invPDE}
}

// InvalidateIOMMUPagesAll drops every cached translation of domain dom.
func InvalidateIOMMUPagesAll(dom uint16) Command {
	return Command{uint64(dom)<<32 | OpInvIOMMUPages<<opShift, invAllAddress | invSize | invPDE}
}

// InvalidateIOTLBPages drops translations a device caches itself (PCIe
// ATS) for [iova, iova+size). maxPend is the device's ATS invalidate queue
// depth; the queue ID is the device ID, as Linux's build_inv_iotlb_pages
// does. hv enables ATS for no device, so it needs this only if that changes.
func InvalidateIOTLBPages(id uint16, maxPend uint8, iova, size uint64) Command {
	return Command{uint64(id) | uint64(maxPend)<<24 | uint64(id)<<32 | OpInvIOTLBPages<<opShift, invRange(iova, size)}
}

// InvalidateInterruptTable drops device id's cached interrupt remapping
// entries.
func InvalidateInterruptTable(id uint16) Command {
	return Command{uint64(id) | OpInvInterruptTable<<opShift, 0}
}

// InvalidateIOMMUAll drops every cached DTE, translation and interrupt
// entry. Only IOMMUs with EFR.IASup implement it.
func InvalidateIOMMUAll() Command { return Command{OpInvIOMMUAll << opShift, 0} }

// DefaultSpinLimit bounds Wait's polling: about 16 million reads of the
// completion word, tens of milliseconds on current CPUs.
const DefaultSpinLimit = 1 << 24

// CommandQueue writes commands to the command buffer ring and waits for
// them. It owns the tail pointer. The IOMMU's head pointer is read only as
// a hint, and only believed when it lies between the last completed
// position and the tail: QEMU 7.2 stores the head register before wrapping
// it, so it can read as the ring size, and other implementations may lag.
// What the queue knows for sure comes from completion waits: when one
// completes, every command before it is done, so the ring is empty.
//
// x86 keeps stores in order, and the tail register is uncached, so the
// commands written to memory are visible before the tail write that hands
// them over. Not safe for concurrent use.
type CommandQueue struct {
	m      MMIO
	mem    Memory
	base   uint64
	size   uint32 // bytes
	waitPA uint64
	tail   uint32 // next byte offset to write
	head   uint32 // byte offset the IOMMU is known to have reached
	seq    uint64 // last completion-wait data value
	// SpinLimit bounds each Wait (DefaultSpinLimit if 0); Relax, if set, is
	// called between polls (a PAUSE or a short delay on bare metal).
	SpinLimit int
	Relax     func()
}

// NewCommandQueue returns the queue for the command buffer at base
// (entries long, as given to Enable). waitPA is an 8-byte aligned word in
// memory hv owns, which completion waits store to; it is zeroed here.
// The queue assumes the head and tail registers are 0, as Enable leaves
// them.
func NewCommandQueue(m MMIO, mem Memory, base uint64, entries int, waitPA uint64) (*CommandQueue, error) {
	if _, ok := ringLog2(entries); !ok {
		return nil, fmt.Errorf("amdvi: command buffer of %d entries (want a power of two in 256..32768)", entries)
	}
	if err := checkBase("command buffer", base); err != nil {
		return nil, err
	}
	if waitPA&7 != 0 || waitPA&^cwAddrMask != 0 {
		return nil, fmt.Errorf("amdvi: completion-wait word %#x is not 8-byte aligned below 2^52", waitPA)
	}
	q := &CommandQueue{m: m, mem: mem, base: base, size: uint32(entries) * CommandSize, waitPA: waitPA}
	for off := uint64(0); off < uint64(q.size); off += 4096 {
		if mem.Table(base+off) == nil {
			return nil, fmt.Errorf("amdvi: command buffer page %#x not reachable", base+off)
		}
	}
	w := q.word()
	if w == nil {
		return nil, fmt.Errorf("amdvi: completion-wait word %#x not reachable", waitPA)
	}
	atomic.StoreUint64(w, 0)
	return q, nil
}

func (q *CommandQueue) word() *uint64 {
	p := q.mem.Table(q.waitPA &^ 0xfff)
	if p == nil {
		return nil
	}
	return &p[(q.waitPA&0xfff)/8]
}

// free returns how many commands fit before the ring is full (one slot
// always stays empty: head == tail means empty).
func (q *CommandQueue) free() uint32 {
	return ((q.head - q.tail - CommandSize) & (q.size - 1)) / CommandSize
}

// refreshHead takes the IOMMU's head register into account when it is
// believable.
func (q *CommandQueue) refreshHead() {
	h := uint32(q.m.Read64(RegCmdBufHead)&headTailMask) & (q.size - 1) // size reads as 0
	if (h-q.head)&(q.size-1) <= (q.tail-q.head)&(q.size-1) {
		q.head = h
	}
}

func (q *CommandQueue) put(c Command) {
	off := uint64(q.tail)
	p := q.mem.Table(q.base + off&^0xfff)
	i := (off & 0xfff) / 8
	p[i], p[i+1] = c[0], c[1]
	q.tail = (q.tail + CommandSize) & (q.size - 1)
}

// Submit queues cmds and hands them to the IOMMU (one tail write per
// batch that fits). When the ring lacks room it waits for the IOMMU to
// drain it. It does not wait for cmds themselves: call Wait.
func (q *CommandQueue) Submit(cmds ...Command) error {
	for len(cmds) > 0 {
		if q.free() < 2 { // keep room for Wait's COMPLETION_WAIT
			q.refreshHead()
		}
		if q.free() < 2 {
			if err := q.Wait(); err != nil {
				return err
			}
		}
		n := int(q.free()) - 1
		if n > len(cmds) {
			n = len(cmds)
		}
		for _, c := range cmds[:n] {
			q.put(c)
		}
		q.m.Write64(RegCmdBufTail, uint64(q.tail))
		cmds = cmds[n:]
	}
	return nil
}

// Wait queues a COMPLETION_WAIT and spins until the IOMMU stores its data,
// which it does once every earlier command has completed. After
// SpinLimit polls it gives up with an error naming the head, tail and
// status registers (an IOMMU that met an ILLEGAL_COMMAND stops fetching
// commands until software restarts it; the event log says which).
func (q *CommandQueue) Wait() error {
	if q.free() < 1 {
		q.refreshHead()
		if q.free() < 1 {
			return fmt.Errorf("amdvi: command buffer full and stalled: head %#x tail %#x status %#x",
				q.m.Read64(RegCmdBufHead), q.m.Read64(RegCmdBufTail), q.m.Read64(RegStatus))
		}
	}
	q.seq++
	seq := q.seq
	q.put(CompletionWait(q.waitPA, seq))
	q.m.Write64(RegCmdBufTail, uint64(q.tail))
	limit := q.SpinLimit
	if limit <= 0 {
		limit = DefaultSpinLimit
	}
	for i := 0; i < limit; i++ {
		if w := q.word(); w != nil && atomic.LoadUint64(w) == seq {
			q.head = q.tail
			return nil
		}
		if q.Relax != nil {
			q.Relax()
		}
	}
	return fmt.Errorf("amdvi: completion wait %d timed out: head %#x tail %#x status %#x",
		seq, q.m.Read64(RegCmdBufHead), q.m.Read64(RegCmdBufTail), q.m.Read64(RegStatus))
}

// Run submits cmds and waits for them.
func (q *CommandQueue) Run(cmds ...Command) error {
	if err := q.Submit(cmds...); err != nil {
		return err
	}
	return q.Wait()
}

// InvalidateAll drops every cache of the IOMMU: with one
// INVALIDATE_IOMMU_ALL when efr has IASup, else (as Linux's
// amd_iommu_flush_all does) by invalidating the DTE and interrupt table of
// every device ID up to maxID and every page of each domain in doms. It
// waits for completion.
func (q *CommandQueue) InvalidateAll(efr uint64, maxID uint16, doms []uint16) error {
	if efr&EFRIASup != 0 {
		return q.Run(InvalidateIOMMUAll())
	}
	for id := 0; id <= int(maxID); id++ {
		if err := q.Submit(InvalidateDevTabEntry(uint16(id)), InvalidateInterruptTable(uint16(id))); err != nil {
			return err
		}
	}
	for _, d := range doms {
		if err := q.Submit(InvalidateIOMMUPagesAll(d)); err != nil {
			return err
		}
	}
	return q.Wait()
}

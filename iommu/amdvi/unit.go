package amdvi

import (
	"errors"
	"fmt"
)

// Unit is one IOMMU taken for dom0 (issue 9, item 7): every device the
// IVHD lists translates through one I/O page table (IOMMU domain
// Dom0Domain) that maps dom0's RAM at its own addresses, and follows dom0's
// p2m as hv changes it (Map, Unmap). It puts together the pieces of this
// package in the order TakeIOMMU's comment gives; it is pure, tested on
// the host with a fake IOMMU.
type Unit struct {
	IVHD IVHD
	// EFR is the Extended Feature Register as read at bring-up.
	EFR uint64
	// Covered is how many device IDs point at the page table.
	Covered int
	DT      *DeviceTable
	PT      *PageTable
	Q       *CommandQueue
	Log     *EventLog

	m      MMIO
	mem    Memory
	maxID  uint16
	faults uint64
}

// Dom0Domain is the IOMMU domain ID of dom0's devices (below 256: QEMU 7.2
// rejects DTEs with DomainID bit 8, see TranslatedDTE).
const Dom0Domain = 1

// Ring sizes hv uses: one 4 KiB page each.
const (
	unitCmdEntries   = 256
	unitEventEntries = 256
)

// Range is a physical address range [Start, End), page aligned.
type Range struct{ Start, End uint64 }

// TakeConfig is what TakeIOMMU needs besides the registers and memory.
type TakeConfig struct {
	IVHD IVHD
	// Unity are the IVRS's IVMD blocks; those with the Unity flag are
	// mapped at their own addresses (firmware says devices must reach them,
	// e.g. for USB legacy emulation).
	Unity []IVMD
	// RAM is dom0's memory, mapped identity (gfn == mfn) with read/write.
	RAM []Range
	// AllocContig returns the physical address of n zeroed, contiguous
	// 4 KiB frames (the device table can span several pages).
	AllocContig func(pages int) (uint64, bool)
	// DenyDMA gives dom0's devices DTEs with no DMA permission (IR=IW=0),
	// so every DMA they make faults at the DTE and is logged: a test image
	// uses it to show the event-log path end to end.
	DenyDMA bool
}

// TakeIOMMU takes the IOMMU whose registers are m:
//
//  1. reads the EFR and checks the IOMMU walks DefaultLevels-deep tables;
//  2. builds a device table covering every device ID up to the IVHD's
//     highest, every entry first blocked (BlockedDTE: a DTE with V=0 would
//     let DMA through untranslated), then every device the IVHD lists
//     (ranges, alias targets, special IO-APIC/HPET IDs) translated through
//     dom0's page table; the IOMMU's own function stays blocked;
//  3. builds that page table: cfg.RAM and the IVMD unity ranges identity;
//  4. allocates the command buffer, the event log and a completion-wait
//     word, enables the IOMMU (Enable) and invalidates all its caches.
//
// On error the IOMMU is left disabled.
func TakeIOMMU(m MMIO, mem Memory, cfg TakeConfig) (*Unit, error) {
	u := &Unit{IVHD: cfg.IVHD, m: m, mem: mem}
	u.EFR = m.Read64(RegExtFeature)
	if h := HATS(u.EFR); h != 0 && h < DefaultLevels {
		return nil, fmt.Errorf("amdvi: IOMMU walks at most %d levels, hv builds %d", h, DefaultLevels)
	}
	u.maxID = cfg.IVHD.MaxDeviceID()
	entries := DeviceTableEntries(u.maxID)
	pages := entries * DTESize / 4096
	dt, ok := cfg.AllocContig(pages)
	if !ok {
		return nil, fmt.Errorf("amdvi: no %d contiguous pages for the device table", pages)
	}
	u.DT = &DeviceTable{Base: dt, Entries: entries, Mem: mem}
	if err := u.DT.Fill(BlockedDTE()); err != nil {
		return nil, err
	}
	pt, err := NewPageTable(mem, DefaultLevels)
	if err != nil {
		return nil, err
	}
	u.PT = pt
	for _, r := range cfg.RAM {
		if err := pt.MapRange(r.Start, r.Start, r.End-r.Start, PermRW); err != nil {
			return nil, fmt.Errorf("amdvi: mapping dom0 RAM [%#x, %#x): %w", r.Start, r.End, err)
		}
	}
	for _, v := range cfg.Unity {
		if v.Flags&1 == 0 || v.Length == 0 {
			continue
		}
		var perm Perm
		if v.Flags&2 != 0 {
			perm |= PermRead
		}
		if v.Flags&4 != 0 {
			perm |= PermWrite
		}
		s, e := v.Start&^0xfff, (v.Start+v.Length+0xfff)&^0xfff
		for a := s; a < e; a += Size4K {
			if err := pt.Map(a, a, Size4K, perm); err != nil && !errors.Is(err, ErrExists) {
				return nil, fmt.Errorf("amdvi: IVMD unity range [%#x, %#x): %w", s, e, err)
			}
		}
	}
	perm := PermRW
	if cfg.DenyDMA {
		perm = 0
	}
	dte, err := TranslatedDTE(pt.Root, pt.Levels, Dom0Domain, perm)
	if err != nil {
		return nil, err
	}
	seen := make([]bool, entries)
	set := func(id uint16) error {
		if id == cfg.IVHD.DeviceID || seen[id] || int(id) >= entries {
			return nil
		}
		seen[id] = true
		u.Covered++
		return u.DT.Set(id, dte)
	}
	for _, d := range cfg.IVHD.Devices {
		for id := int(d.First); id <= int(d.Last); id++ {
			if err := set(uint16(id)); err != nil {
				return nil, err
			}
		}
		if d.Alias {
			if err := set(d.AliasTo); err != nil {
				return nil, err
			}
		}
	}
	for _, s := range cfg.IVHD.Specials {
		if err := set(s.DeviceID); err != nil {
			return nil, err
		}
	}
	cmd, ok1 := mem.AllocTable()
	evt, ok2 := mem.AllocTable()
	wait, ok3 := mem.AllocTable()
	if !ok1 || !ok2 || !ok3 {
		return nil, ErrNoMemory
	}
	c := Config{DevTable: dt, DevTableEntries: entries, CmdBuf: cmd, CmdEntries: unitCmdEntries,
		EventLog: evt, EventEntries: unitEventEntries, ExtraControl: CtlCoherent | InvTimeout1ms}
	if err := Enable(m, c); err != nil {
		return nil, err
	}
	if u.Q, err = NewCommandQueue(m, mem, cmd, unitCmdEntries, wait); err == nil {
		u.Log, err = NewEventLog(m, mem, evt, unitEventEntries)
	}
	if err == nil {
		err = u.Q.InvalidateAll(u.EFR, u.maxID, []uint16{Dom0Domain})
	}
	if err != nil {
		Disable(m)
		return nil, err
	}
	return u, nil
}

// Map makes DMA to dom0 frames [gfn, gfn+n) reach machine frames
// [mfn, mfn+n), replacing what was mapped there (a grant mapped over a
// ballooned-out RAM frame). A replaced translation is invalidated before
// Map returns.
func (u *Unit) Map(gfn, mfn, n uint64, write bool) error {
	perm := PermRead
	if write {
		perm = PermRW
	}
	iova, pa, size := gfn*Size4K, mfn*Size4K, n*Size4K
	err := u.PT.MapRange(iova, pa, size, perm)
	if errors.Is(err, ErrExists) {
		if err = u.Unmap(gfn, n); err == nil {
			err = u.PT.MapRange(iova, pa, size, perm)
		}
	}
	return err
}

// Unmap removes DMA to dom0 frames [gfn, gfn+n) and returns once the
// IOMMU has dropped every cached translation of them, so the frames may be
// reused.
func (u *Unit) Unmap(gfn, n uint64) error {
	iova, size := gfn*Size4K, n*Size4K
	if err := u.PT.UnmapRange(iova, size); err != nil {
		return err
	}
	return u.Q.Run(InvalidateIOMMUPages(Dom0Domain, iova, size))
}

// Poll hands every new event-log entry to log, as one line each ("IOMMU
// fault: device 00:1f.2 IO_PAGE_FAULT ... address 0x..."), and restarts
// the log when the IOMMU found it full. It returns how many it read.
func (u *Unit) Poll(log func(string)) int {
	n := u.Log.Poll(func(e Event) {
		u.faults++
		log(e.String())
	})
	if u.Log.Overflowed() {
		n += u.Log.Poll(func(e Event) {
			u.faults++
			log(e.String())
		})
		if err := u.Log.Restart(); err != nil {
			log(err.Error())
		} else {
			log("IOMMU event log overflowed: events were lost; logging restarted")
		}
	}
	return n
}

// Faults is how many events Poll has reported.
func (u *Unit) Faults() uint64 { return u.faults }

// String describes the unit for hv's boot log.
func (u *Unit) String() string {
	return fmt.Sprintf("AMD IOMMU %v at %#x: %d devices translated through %d-level I/O page tables (domain %d), device table of %d entries",
		BDF(u.IVHD.DeviceID), u.IVHD.Base, u.Covered, u.PT.Levels, Dom0Domain, u.DT.Entries)
}

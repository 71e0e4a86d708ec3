package rt

import (
	"unsafe"

	"gozen/arch/amd64"
	"gozen/boot/layout"
	"gozen/boot/multiboot"
	"gozen/bootparam"
	"gozen/mm"
)

// BootInfo is the parsed multiboot information. boot0 fills it before the Go
// runtime starts; hv reads it afterwards (it does not change again).
var BootInfo multiboot.Info

// Memory requirements.
const (
	// MinUsableRAM is the least usable RAM hv boots with.
	MinUsableRAM = 48 << 20
	// minHVPool and maxHVPool bound the default size of hv's own pool.
	minHVPool = 40 << 20
	maxHVPool = 256 << 20
	lowMemEnd = 1 << 20 // memory below 1 MiB is left to firmware and future AP trampolines
	maxRanges = 256
)

// Physical memory pools. HVFrames backs hv's page tables and the Go heap;
// GuestFrames is kept for domains. The two windows do not overlap.
var (
	HVFrames    mm.FrameAllocator
	GuestFrames mm.FrameAllocator
	usable      [maxRanges]mm.Range // usable RAM after exclusions
	nUsable     int
	usableTotal uint64
	// MaxPhys is the end of the highest RAM region.
	MaxPhys uint64
	// dom0RAM is the RAM set aside for dom0 above 1 MiB (empty without
	// dom0=): in neither pool.
	dom0RAM mm.Range
)

// Dom0Base is where dom0's RAM above 1 MiB starts: Linux's PVH kernel
// (vmlinux p_paddr) is not relocatable and loads at 16 MiB.
const Dom0Base = 16 << 20

// physMem reads physical memory through the boot stub's identity map of the
// first 4 GiB.
type physMem struct{}

var bootMem physMem

func (*physMem) ReadAt(p []byte, addr uint64) bool {
	n := uint64(len(p))
	if addr >= layout.StubMapLimit || n > layout.StubMapLimit-addr {
		return false
	}
	for i := range p {
		p[i] = *(*byte)(unsafe.Pointer(uintptr(addr) + uintptr(i)))
	}
	return true
}

// boot0 runs on the boot stack with a fake g, before the Go runtime exists.
// See the package comment for what it may and may not do.
func boot0() {
	consoleInit()
	kprint("\nGoZen hv: booting\n")
	if imageLayout.Magic != layout.Patched {
		bootError("this image was not processed by tools/mkimage (layout not patched)")
	}
	cpuInit()
	testhookBeforeParse()
	if err := multiboot.Parse(uint32(bootMagic), bootInfoAddr, &bootMem, &BootInfo); err != nil {
		mbError(err)
	}
	testhookAfterParse()
	cmd := BootInfo.Cmdline()
	if v, ok := bootparam.Lookup(cmd, "loglvl"); ok {
		if l, ok := bootparam.ParseLogLevel(v); ok {
			logLevel = int(l)
		}
	}
	if v, ok := bootparam.Lookup(cmd, "console"); ok && string(v) == "none" {
		consoleOff = true
	}
	memInit(cmd)
	timeInit()
	syscallInit()
	startRuntime()
}

func mbError(err error) {
	kprint("hv: boot error: bad multiboot information: ")
	kprint(err.Error())
	kprint(" (at ")
	kprintHex(BootInfo.ErrOffset)
	kprint(")\n")
	stop(ExitBadBoot)
}

// memInit checks the memory map against the image and modules, sets up the
// frame pools and switches to hv's own page tables.
func memInit(cmd []byte) {
	l := &imageLayout
	info := &BootInfo
	// Things no allocator may hand out.
	var cut [multiboot.MaxModules + 3]mm.Range
	ncut := 0
	cut[ncut] = mm.Range{Start: 0, End: lowMemEnd}
	ncut++
	cut[ncut] = mm.Range{Start: l.ImageStart, End: l.ImageEnd}
	ncut++
	if size, ok := bootparam.Dom0Mem(cmd); ok {
		// dom0's RAM, at its machine addresses (an identity p2m): Linux's
		// PVH kernel loads at its fixed p_paddr, 16 MiB, so that is where
		// dom0's RAM starts. Boot modules may lie there; hv copies them
		// out before it loads dom0.
		r := mm.Range{Start: Dom0Base, End: Dom0Base + (size+0xfff)&^0xfff}
		if r.End < r.Start || !inUsableRAM(r.Start, r.End) {
			kprint("hv: boot error: dom0: mem=")
			kprintMiB(size)
			kprint(" from 16 MiB is not all usable RAM in the memory map\n")
			stop(ExitBadBoot)
		}
		if r.Start < l.ImageEnd && l.ImageStart < r.End {
			bootError("dom0's RAM would overlap the hv image")
		}
		dom0RAM = r
		cut[ncut] = r
		ncut++
	}
	for i := 0; i < info.NModules; i++ {
		m := &info.Modules[i]
		r := mm.Range{Start: m.Start &^ 0xfff, End: (m.End + 0xfff) &^ 0xfff}
		if m.End > m.Start && r.Start < l.ImageEnd && l.ImageStart < r.End {
			moduleError(i, m, "overlaps the hv image", l.ImageStart, l.ImageEnd)
		}
		if !inUsableRAM(m.Start, m.End) {
			moduleError(i, m, "is not inside usable RAM (it overlaps reserved memory or a hole)", 0, 0)
		}
		for j := 0; j < i; j++ {
			o := &info.Modules[j]
			if m.Start < o.End && o.Start < m.End {
				moduleError(i, m, "overlaps another boot module", o.Start, o.End)
			}
		}
		cut[ncut] = r
		ncut++
	}
	if !inUsableRAM(l.ImageStart, l.ImageEnd) {
		kprint("hv: the memory map:\n")
		printMemoryMap()
		bootError("the hv image is not inside usable RAM according to the memory map")
	}
	// Usable RAM minus the cuts, sorted by address (the map may be unsorted).
	nUsable, usableTotal = 0, 0
	var parts [multiboot.MaxModules + 4]mm.Range
	for i := 0; i < info.NRegions; i++ {
		r := info.Regions[i]
		if r.Base+r.Len > MaxPhys && (r.Type == multiboot.RegionUsable || r.Type == multiboot.RegionACPIReclaimable || r.Type == multiboot.RegionACPINVS) {
			MaxPhys = r.Base + r.Len
		}
		if r.Type != multiboot.RegionUsable {
			continue
		}
		ur := mm.Range{Start: (r.Base + 0xfff) &^ 0xfff, End: (r.Base + r.Len) &^ 0xfff}
		// A usable region that overlaps a reserved one is trimmed by the
		// reserved one: the stricter type wins.
		n := mm.Subtract(ur, cut[:ncut], parts[:])
		for k := 0; k < n; k++ {
			addUsable(subtractReserved(parts[k]))
		}
	}
	if MaxPhys > directMapLimit {
		kprint("hv: warning: RAM above 512 GiB is ignored\n")
		MaxPhys = directMapLimit
	}
	if usableTotal < MinUsableRAM {
		kprint("hv: boot error: too little RAM: ")
		kprintMiB(usableTotal)
		kprint(" usable, hv needs at least ")
		kprintMiB(MinUsableRAM)
		kprint("\n")
		stop(ExitBadBoot)
	}
	// hv's pool: the lowest usable memory, hvmem= bytes of it.
	pool := usableTotal / 8
	if pool < minHVPool {
		pool = minHVPool
	}
	if pool > maxHVPool {
		pool = maxHVPool
	}
	if v, ok := bootparam.Lookup(cmd, "hvmem"); ok {
		if sz, ok := bootparam.ParseSize(v); ok && sz >= 16<<20 {
			pool = sz
		}
	}
	if pool > usableTotal-(usableTotal/16) {
		pool = usableTotal - usableTotal/16
	}
	split := lowMemEnd + uint64(0)
	acc := uint64(0)
	for i := 0; i < nUsable; i++ {
		r := usable[i]
		if acc+(r.End-r.Start) >= pool {
			split = r.Start + (pool - acc)
			break
		}
		acc += r.End - r.Start
		split = r.End
	}
	split = (split + (2 << 20) - 1) &^ ((2 << 20) - 1) // guest pool starts 2 MiB aligned
	limit := (MaxPhys + 0xfff) &^ 0xfff
	if split > limit {
		split = limit
	}
	// Bitmaps for both pools, carved from the first usable range that fits.
	hvWords := mm.BitmapWords(lowMemEnd, split)
	gWords := mm.BitmapWords(split, limit)
	need := ((hvWords+gWords)*8 + 0xfff) &^ 0xfff
	bm := uint64(0)
	for i := 0; i < nUsable; i++ {
		if usable[i].End-usable[i].Start >= need && usable[i].End <= layout.StubMapLimit {
			bm = usable[i].Start
			break
		}
	}
	if bm == 0 {
		bootError("no room below 4 GiB for the frame allocator's bitmaps")
	}
	words := unsafe.Slice((*uint64)(unsafe.Pointer(uintptr(bm))), hvWords+gWords)
	if err := HVFrames.Init("hv", lowMemEnd, split, words[:hvWords]); err != nil {
		bootError("frame allocator: bad hv window")
	}
	if split < limit {
		if err := GuestFrames.Init("guest", split, limit, words[hvWords:]); err != nil {
			bootError("frame allocator: bad guest window")
		}
	}
	// bootscrub=off: the guest pool's RAM is zero (QEMU's is), so its
	// frames need no clearing before their first use (mm.FrameAllocator,
	// dirty frames). The image and modules are outside the usable ranges,
	// but the loader wrote more next to them: QEMU puts the multiboot
	// information and its strings right after the last module. Everything
	// below loaderEnd stays dirty.
	v, _ := bootparam.Lookup(cmd, "bootscrub")
	zeroed := string(v) == "off"
	loaderEnd := l.ImageEnd
	for i := 0; i < info.NModules; i++ {
		loaderEnd = max(loaderEnd, info.Modules[i].End)
	}
	loaderEnd = max(loaderEnd, info.InfoAddr)
	loaderEnd = (loaderEnd + mbiSlack + 0xfff) &^ 0xfff
	for i := 0; i < nUsable; i++ {
		r := usable[i]
		if r.Start < split {
			e := r.End
			if e > split {
				e = split
			}
			HVFrames.AddFree(r.Start, e)
		}
		if r.End > split && split < limit {
			s := r.Start
			if s < split {
				s = split
			}
			if zeroed && r.End > loaderEnd {
				GuestFrames.AddFree(s, max(s, loaderEnd))
				GuestFrames.AddZeroed(max(s, loaderEnd), r.End)
			} else {
				GuestFrames.AddFree(s, r.End)
			}
		}
	}
	HVFrames.Reserve(bm, bm+need)
	pagingInit()
}

// mbiSlack is how far past the last thing it placed (a module, the
// multiboot information) a loader may have written more (strings, the
// module list, the memory map): with bootscrub=off, guest-pool frames up
// to there still count as dirty.
const mbiSlack = 64 << 10

// subtractReserved trims r where a non-usable region of the map overlaps it
// (some firmware reports overlapping entries).
func subtractReserved(r mm.Range) mm.Range {
	info := &BootInfo
	for i := 0; i < info.NRegions; i++ {
		x := info.Regions[i]
		if x.Type == multiboot.RegionUsable {
			continue
		}
		s, e := x.Base&^0xfff, (x.Base+x.Len+0xfff)&^0xfff
		if s < r.End && r.Start < e {
			if s <= r.Start {
				r.Start = e
			} else {
				r.End = s
			}
		}
	}
	return r
}

func addUsable(r mm.Range) {
	if r.End <= r.Start || nUsable == maxRanges {
		return
	}
	i := nUsable
	for i > 0 && usable[i-1].Start > r.Start {
		usable[i] = usable[i-1]
		i--
	}
	usable[i] = r
	nUsable++
	usableTotal += r.End - r.Start
}

// inUsableRAM reports whether [start, end) lies in usable regions only.
// printMemoryMap prints the boot loader's memory map, for boot errors about
// it (firmware maps differ: OVMF's has far more entries than SeaBIOS's).
func printMemoryMap() {
	info := &BootInfo
	for i := 0; i < info.NRegions; i++ {
		r := info.Regions[i]
		kprint("  ")
		kprintHex(r.Base)
		kprint("-")
		kprintHex(r.Base + r.Len)
		kprint(" type ")
		kprintDec(int64(r.Type))
		kprint("\n")
	}
}

func inUsableRAM(start, end uint64) bool {
	info := &BootInfo
	for start < end {
		advanced := false
		for i := 0; i < info.NRegions; i++ {
			r := info.Regions[i]
			if r.Type == multiboot.RegionUsable && r.Base <= start && start < r.Base+r.Len {
				start = r.Base + r.Len
				advanced = true
			}
		}
		if !advanced {
			return false
		}
	}
	for i := 0; i < info.NRegions; i++ {
		r := info.Regions[i]
		if r.Type != multiboot.RegionUsable && r.Base < end && start < r.Base+r.Len {
			return false
		}
	}
	return true
}

func moduleError(i int, m *multiboot.Module, what string, s, e uint64) {
	kprint("hv: boot error: boot module ")
	kprintDec(int64(i))
	kprint(" [")
	kprintHex(m.Start)
	kprint("-")
	kprintHex(m.End)
	kprint(") ")
	kprint(what)
	if e > s {
		kprint(" [")
		kprintHex(s)
		kprint("-")
		kprintHex(e)
		kprint(")")
	}
	kprint("\n")
	stop(ExitBadBoot)
}

// cpuInit installs GoZen's GDT, TSS and IDT, so from here on every exception
// is reported instead of triple-faulting.
func cpuInit() {
	syscallAddr, idleAddr, vectors, _ := asmAddrs()
	syscallEntryAddr, idleLoopAddr = syscallAddr, idleAddr
	ist1Top = stackTop(ist1Stack[:])
	kernelStackTop = stackTop(kernelStack[:])
	tss.SetIST(1, uint64(ist1Top))
	tss.SetIST(2, uint64(stackTop(ist2Stack[:])))
	tss.SetIST(3, uint64(stackTop(ist3Stack[:])))
	tss.SetIST(4, uint64(stackTop(ist4Stack[:])))
	tss.DisableIOMap()
	gdt[1] = amd64.DescKernelCode64
	gdt[2] = amd64.DescKernelData
	gdt[3] = amd64.DescUserCode32
	gdt[4] = amd64.DescUserData
	gdt[5] = amd64.DescUserCode64
	gdt[6], gdt[7] = amd64.TSSDescriptor(uint64(uintptr(unsafe.Pointer(&tss))), amd64.TSSSize-1)
	var ptr [10]byte
	amd64.DescriptorPointer{Limit: uint16(len(gdt)*8 - 1), Base: uint64(uintptr(unsafe.Pointer(&gdt)))}.Encode(&ptr)
	amd64.Lgdt(uintptr(unsafe.Pointer(&ptr)))
	amd64.ReloadSegments(amd64.SelKernelCode, amd64.SelKernelData)
	amd64.Ltr(amd64.SelTSS)
	table := unsafe.Slice((*uintptr)(unsafe.Pointer(vectors)), 256)
	for v := 0; v < 256; v++ {
		ist := uint8(1)
		switch v {
		case 2:
			ist = 3
		case 8:
			ist = 2
		case 18:
			ist = 4
		}
		idt[2*v], idt[2*v+1] = amd64.IDTGate(uint64(table[v]), amd64.SelKernelCode, ist, amd64.GateInterrupt)
	}
	amd64.DescriptorPointer{Limit: uint16(len(idt)*8 - 1), Base: uint64(uintptr(unsafe.Pointer(&idt)))}.Encode(&ptr)
	amd64.Lidt(uintptr(unsafe.Pointer(&ptr)))
	// The boot context is now the "current" context for trap purposes.
	curFrame = uintptr(unsafe.Pointer(&frames[idleSlot]))
	curFx = fxArea(idleSlot)
	features = amd64.DetectFeatures()
}

var (
	gdt              [amd64.GDTEntries]uint64
	idt              [512]uint64
	tss              amd64.TSS
	features         amd64.Features
	syscallEntryAddr uintptr
	idleLoopAddr     uintptr
)

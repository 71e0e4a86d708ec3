// Package build builds a PVH domain from dom0, as libxl and libxc do for
// `xl create` (Xen 4.17 tools/libs/light libxl_create.c, libxl_dom.c;
// tools/libs/guest xg_dom_*.c), through the xc.Interface and a xenstore
// client only, so it runs against /dev/xen/privcmd in dom0 and against
// fakes on the host.
//
// The guest sees what hv's own boot-time builder gives a domU (hv/domain.go
// createDomain, hv/build_acpi.go, hv/xen.go setupXen, hv/xen_store.go): the
// same memory map (loader.GuestMemoryMap), the console and xenstore rings
// at loader.ConsoleGFN and loader.StoreGFN, the ACPI tables at
// loader.ACPIBase, the hvm_start_info at loader.BootInfoBase, the kernel's
// segments at their physical addresses and the ramdisk after them
// (loader.Image.PlaceModules), and the xenstore nodes libxl writes. (libxc
// puts its special pages at 0xfeff8+ below the 4 GiB hole; GoZen keeps one
// layout for both builders, which the guest finds through the HVM params
// either way.) The ELF and bzImage parsing is package loader's, shared
// with hv.
package build

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"gozen/abi/xen"
	"gozen/dom0/xc"
	"gozen/dom0/xs"
	"gozen/loader"
)

// Store is the xenstore client the builder needs; *xs.Client implements
// it over /dev/xen/xenbus.
type Store interface {
	Read(path string) (string, error)
	Write(path, value string) error
	Mkdir(path string) error
	Rm(path string) error
	SetPerms(path string, perms ...string) error
	// WriteBatch writes nodes and their permissions in order, with
	// several requests in flight (xs.Client.WriteBatch).
	WriteBatch(ws []xs.Write) error
	Introduce(domid uint32, gfn uint64, port uint32) error
}

// Spec is a domain to build.
type Spec struct {
	Name   string
	UUID   [16]byte // zero: a random one (libxl_uuid_generate)
	Kernel []byte   // a PVH ELF image or a bzImage holding one
	// Vmlinux, if set, is the ELF image decompressed from the bzImage
	// in Kernel earlier (xl's kernel cache): Build parses it instead of
	// decompressing Kernel again. Otherwise VmlinuxBuffer, if set, is
	// asked for the n bytes to decompress a bzImage into (xl's cache
	// gives a new entry's file mapping, so keeping the kernel costs no
	// copy); nil from it, or no VmlinuxBuffer, and Build uses memory of
	// its own. The caller keeps what it gave and releases it.
	Vmlinux       []byte
	VmlinuxBuffer func(n int) []byte
	Ramdisk       []byte // nil for none
	Cmdline       string
	MemoryMiB     uint64 // RAM at creation (memory=)
	MaxMemMiB     uint64 // ceiling (maxmem=); memory/static-max
	VCPUs         int
	Sched         *xc.Sched // nil: the hypervisor's default
	// Paused leaves the domain paused at the end (xl create -p).
	Paused bool
	// Now stamps /vm/UUID/start_time (time.Now if nil).
	Now func() time.Time
	// Logf, if set, is told how long each step took (xl -v).
	Logf func(format string, args ...any)
}

// Domain is what Build made.
type Domain struct {
	ID                       uint32
	UUID                     [16]byte
	StorePort, ConsolePort   uint32
	StoreDomID, ConsoleDomID uint32 // the back ends, from /tool/*/domid
	Entry, StartInfo         uint64
}

// populateBatch is how many extents one Populate call asks for, and
// mapBatch how many frames one foreign mapping covers at most (32 MiB of
// dom0's address space at a time: Linux's privcmd takes them from its
// unpopulated address space, and each mapping costs an ioctl, an mmap and
// a munmap besides the hypercall a frame it makes either way).
const (
	populateBatch = 8192
	mapBatch      = 8192
)

// superOrder is the extent order populate asks for where a whole 2 MiB
// extent fits (libxc's SUPERPAGE_2MB_SHIFT for HVM guests): one extent
// where there were 512, and the hypervisor may back it with one 2 MiB
// page.
const superOrder = 9

// Build creates, fills and (unless s.Paused) starts the domain. On error
// the half-built domain is destroyed and its xenstore nodes removed; the
// error says which step failed.
func Build(x xc.Interface, st Store, s Spec) (*Domain, error) {
	t0 := time.Now()
	var (
		img       *loader.Image
		release   = func() {}
		kernelErr error
	)
	if s.Vmlinux != nil {
		img, kernelErr = loader.ParseELF(s.Vmlinux)
	} else {
		img, release, kernelErr = parseKernel(s.Kernel, s.VmlinuxBuffer)
	}
	if kernelErr != nil {
		return nil, fmt.Errorf("kernel: %w", kernelErr)
	}
	defer release()
	s.logStep("parsing the kernel", t0)
	if s.VCPUs < 1 || s.VCPUs > loader.ACPIMaxVCPUs {
		return nil, fmt.Errorf("vcpus=%d: want 1..%d", s.VCPUs, loader.ACPIMaxVCPUs)
	}
	if s.MaxMemMiB < s.MemoryMiB {
		s.MaxMemMiB = s.MemoryMiB
	}
	mem := s.MemoryMiB << 20
	if err := img.Check(mem, loader.LowLoadLimit); err != nil {
		return nil, fmt.Errorf("kernel: %w", err)
	}
	var mods []loader.ModulePlacement
	if s.Ramdisk != nil {
		var err error
		if mods, err = img.PlaceModules(mem, []loader.Module{{Data: s.Ramdisk}}); err != nil {
			return nil, fmt.Errorf("ramdisk: %w", err)
		}
	}
	d := &Domain{UUID: s.UUID, Entry: img.Entry32}
	if d.UUID == ([16]byte{}) {
		if _, err := rand.Read(d.UUID[:]); err != nil {
			return nil, err
		}
		d.UUID[6] = d.UUID[6]&0x0f | 0x40 // version 4
		d.UUID[8] = d.UUID[8]&0x3f | 0x80 // RFC 4122 variant
	}
	id, err := x.CreateDomain(xc.PVHCreateConfig(d.UUID, s.VCPUs))
	if err != nil {
		return nil, fmt.Errorf("creating the domain: %w", err)
	}
	d.ID = id
	b := &builder{x: x, st: st, s: s, d: d, img: img, mods: mods, mem: mem}
	if err := b.run(); err != nil {
		b.undo()
		return nil, fmt.Errorf("domain %d %q: %w", id, s.Name, err)
	}
	return d, nil
}

// logStep tells s.Logf how long step took since t0.
func (s *Spec) logStep(step string, t0 time.Time) {
	if s.Logf != nil {
		s.Logf("%s: %d ms", step, time.Since(t0).Milliseconds())
	}
}

// parseKernel accepts an ELF with the PVH note or a bzImage around one.
// A bzImage's vmlinux is decompressed into buffer(n)'s memory if buffer
// gives it (the caller's to release), else into memory of its own, which
// release gives back; the image's segments point into it.
func parseKernel(k []byte, buffer func(n int) []byte) (img *loader.Image, release func(), err error) {
	release = func() {}
	if loader.IsBzImage(k) {
		n, err := loader.VmlinuxSize(k)
		if err != nil {
			return nil, release, err
		}
		var buf []byte
		if buffer != nil {
			buf = buffer(n)
		}
		if len(buf) != n {
			buf, release = decodeBuffer(n)
		}
		if err := loader.ExtractVmlinuxInto(k, buf); err != nil {
			release()
			return nil, func() {}, err
		}
		k = buf
	}
	img, err = loader.ParseELF(k)
	if err != nil {
		release()
		return nil, func() {}, err
	}
	return img, release, nil
}

// decodeBuffer returns n bytes for a decompressed kernel (tens of MiB)
// and their release: an anonymous mapping the kernel may back with 2 MiB
// pages (MADV_HUGEPAGE), so the decoder's first writes fault once per
// 2 MiB rather than once per page, or Go memory if the mapping fails.
func decodeBuffer(n int) ([]byte, func()) {
	if n > 0 {
		if b, err := unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS); err == nil {
			unix.Madvise(b, unix.MADV_HUGEPAGE)
			return b, func() { unix.Munmap(b) }
		}
	}
	return make([]byte, n), func() {}
}

type builder struct {
	x    xc.Interface
	st   Store
	s    Spec
	d    *Domain
	img  *loader.Image
	mods []loader.ModulePlacement
	mem  uint64
}

func (b *builder) home() string { return "/local/domain/" + strconv.Itoa(int(b.d.ID)) }
func (b *builder) vm() string   { return "/vm/" + UUIDString(b.d.UUID) }

// undo destroys the half-built domain and forgets its nodes (libxl's
// domain_create error path: libxl__domain_destroy).
func (b *builder) undo() {
	b.x.DestroyDomain(b.d.ID)
	b.st.Rm(b.home())
	b.st.Rm(b.vm())
	b.st.Rm("/libxl/" + strconv.Itoa(int(b.d.ID)))
}

func (b *builder) run() error {
	steps := []struct {
		what string
		fn   func() error
	}{
		{"xenstore skeleton", b.skeleton},
		{"build_pre", b.pre},
		{"populating memory", b.populate},
		{"loading the kernel", b.load},
		{"seeding the grant table", b.seedGrants},
		{"HVM params", b.params},
		{"vCPU context", b.vcpu},
		{"build_post", b.post},
	}
	for _, st := range steps {
		t0 := time.Now()
		if err := st.fn(); err != nil {
			return fmt.Errorf("%s: %w", st.what, err)
		}
		b.s.logStep(st.what, t0)
	}
	if !b.s.Paused {
		if err := b.x.Unpause(b.d.ID); err != nil {
			return fmt.Errorf("unpausing: %w", err)
		}
	}
	return nil
}

type node struct {
	path, value string
	perms       []string
}

// write writes nodes in order; one batch of requests (a few round trips
// to xenstored, not one a node and one a permission list).
func (b *builder) write(nodes []node) error {
	ws := make([]xs.Write, len(nodes))
	for i, n := range nodes {
		ws[i] = xs.Write{Path: n.path, Value: n.value, Perms: n.perms}
	}
	return b.st.WriteBatch(ws)
}

// skeleton writes what libxl__domain_make writes before the build: the
// home (dom0's, readable by N), /vm/UUID, /libxl/N, and the directories N
// writes (control/*, data, device/suspend/event-channel, ...).
func (b *builder) skeleton() error {
	n := strconv.Itoa(int(b.d.ID))
	home, vm := b.home(), b.vm()
	ro := []string{"n0", "r" + n}
	rw := []string{"n" + n}
	b.st.Rm(home) // a leftover of an earlier domain with this ID
	b.st.Rm(vm)
	now := time.Now
	if b.s.Now != nil {
		now = b.s.Now
	}
	start := now()
	return b.write([]node{
		{home, "", ro},
		{vm, "", ro},
		{"/libxl/" + n, "", []string{"n0"}},
		{"/libxl/" + n + "/type", "pvh", nil},
		{vm + "/uuid", UUIDString(b.d.UUID), nil},
		{vm + "/name", b.s.Name, nil},
		{vm + "/start_time", fmt.Sprintf("%d.%02d", start.Unix(), start.Nanosecond()/1e7), nil},
		{home + "/vm", vm, nil},
		{home + "/name", b.s.Name, nil},
		{home + "/cpu", "", ro},
		{home + "/memory", "", ro},
		{home + "/device", "", ro},
		{home + "/device/suspend/event-channel", "", rw},
		{home + "/control", "", ro},
		{home + "/control/shutdown", "", rw},
		{home + "/control/feature-poweroff", "", rw},
		{home + "/control/feature-reboot", "", rw},
		{home + "/control/feature-suspend", "", rw},
		{home + "/control/sysrq", "", rw},
		{home + "/control/platform-feature-multiprocessor-suspend", "1", nil},
		{home + "/control/platform-feature-xs_reset_watches", "1", nil},
		{home + "/data", "", rw},
		{home + "/drivers", "", rw},
		{home + "/feature", "", rw},
		{home + "/attr", "", rw},
		{home + "/error", "", rw},
	})
}

// backendDomID reads /tool/NAME/domid, 0 when absent (libxl__build_pre).
func (b *builder) backendDomID(name string) (uint32, error) {
	v, err := b.st.Read("/tool/" + name + "/domid")
	if err != nil {
		return 0, nil
	}
	id, perr := strconv.ParseUint(v, 10, 16)
	if perr != nil {
		return 0, fmt.Errorf("/tool/%s/domid holds %q, not a domain ID", name, v)
	}
	return uint32(id), nil
}

// pre is libxl__build_pre: vCPUs, memory ceiling (the target plus libxl's
// 1 MiB LIBXL_MAXMEM_CONSTANT of slack on x86), the store and console
// event channels, the scheduler parameters.
func (b *builder) pre() error {
	x, id := b.x, b.d.ID
	if err := x.SetMaxVCPUs(id, b.s.VCPUs); err != nil {
		return err
	}
	if err := x.SetMaxMem(id, b.s.MemoryMiB<<10+1024); err != nil {
		return err
	}
	var err error
	if b.d.StoreDomID, err = b.backendDomID("xenstored"); err != nil {
		return err
	}
	if b.d.ConsoleDomID, err = b.backendDomID("xenconsoled"); err != nil {
		return err
	}
	if b.d.StorePort, err = x.AllocUnbound(id, b.d.StoreDomID); err != nil {
		return fmt.Errorf("xenstore event channel: %w", err)
	}
	if b.d.ConsolePort, err = x.AllocUnbound(id, b.d.ConsoleDomID); err != nil {
		return fmt.Errorf("console event channel: %w", err)
	}
	if b.s.Sched != nil {
		if err := x.SetSchedParams(id, *b.s.Sched); err != nil {
			return err
		}
	}
	return nil
}

// populate gives the domain RAM over [0, memory), every frame of it (as
// hv's npt.Memory.Populate does: the reserved ranges of the memory map are
// backed too, since the boot information and rings live there): 2 MiB
// extents up to the last 2 MiB boundary, single frames after it.
func (b *builder) populate() error {
	n := b.mem / xc.PageSize
	big := n &^ (1<<superOrder - 1)
	if err := b.populateRange(superOrder, 0, big); err != nil {
		return err
	}
	return b.populateRange(0, big, n)
}

// populateRange populates frames [from, to) in extents of 2^order frames.
func (b *builder) populateRange(order uint, from, to uint64) error {
	gfns := make([]uint64, 0, min((to-from)>>order, populateBatch))
	for g := from; g < to; g += 1 << order {
		gfns = append(gfns, g)
		if len(gfns) == cap(gfns) || g+1<<order >= to {
			if err := b.x.Populate(b.d.ID, order, gfns); err != nil {
				return fmt.Errorf("%d MiB at gfn %#x: %w", b.s.MemoryMiB, gfns[0], err)
			}
			gfns = gfns[:0]
		}
	}
	return nil
}

// extent is new contents for the domain's memory: data at guest-physical
// gpa.
type extent struct {
	gpa  uint64
	data []byte
}

// zeroGap is the longest run of all-zero pages an extent spans rather than
// being split in two: writing a few zero pages costs less than a call.
const zeroGap = 16 * xc.PageSize

// frameWriter gathers what load writes into the domain and writes it. The
// frames the domain was just given are zero (populate_physmap hands out
// scrubbed frames: Xen scrubs them, and so does hv, rt's allocFrames), so
// parts that are all zero (a kernel's bss and alignment padding, a
// zero-filled ring) need no write: add keeps the non-zero parts as
// extents, split where more than zeroGap of zeros lies between them.
// flush writes each extent with xc's WriteGuest (one hypercall a few MiB,
// no mapping at all); on a hypervisor without it, it maps the frames that
// hold non-zero bytes, up to mapBatch a mapping, and copies through them.
type frameWriter struct {
	mem     uint64
	extents []extent
}

// add queues data for guest-physical gpa; it must lie in the domain's
// memory.
func (l *frameWriter) add(gpa uint64, data []byte) error {
	end := gpa + uint64(len(data))
	if end < gpa || end > l.mem {
		return fmt.Errorf("[%#x-%#x) is outside the domain's memory", gpa, end)
	}
	// [from, to) is the open extent's span of data; -1: none.
	from, to := -1, -1
	for i := 0; i < len(data); {
		n := min(len(data)-i, xc.PageSize-int((gpa+uint64(i))%xc.PageSize))
		if !allZero(data[i : i+n]) {
			if from >= 0 && i-to > zeroGap {
				l.extents = append(l.extents, extent{gpa + uint64(from), data[from:to]})
				from = -1
			}
			if from < 0 {
				from = i
			}
			to = i + n
		}
		i += n
	}
	if from >= 0 {
		l.extents = append(l.extents, extent{gpa + uint64(from), data[from:to]})
	}
	return nil
}

// size is how many bytes the queued extents hold.
func (l *frameWriter) size() (n int) {
	for _, e := range l.extents {
		n += len(e.data)
	}
	return n
}

// allZero reports whether p holds only zero bytes: 64 at a time, the
// eight words OR-ed before one test (a branch per 64 bytes rather than per
// 8: under QEMU's TCG, scanning Debian's 73 MB of kernel and ramdisk is a
// visible part of xl create), then eight at a time.
func allZero(p []byte) bool {
	le := binary.LittleEndian
	for len(p) >= 64 {
		q := p[:64:64]
		if le.Uint64(q[0:])|le.Uint64(q[8:])|le.Uint64(q[16:])|le.Uint64(q[24:])|
			le.Uint64(q[32:])|le.Uint64(q[40:])|le.Uint64(q[48:])|le.Uint64(q[56:]) != 0 {
			return false
		}
		p = p[64:]
	}
	for len(p) >= 8 {
		if le.Uint64(p) != 0 {
			return false
		}
		p = p[8:]
	}
	for _, c := range p {
		if c != 0 {
			return false
		}
	}
	return true
}

// flush writes the queued extents: through WriteGuest while the
// hypervisor has it, the rest through foreign mappings.
func (l *frameWriter) flush(x xc.Interface, dom uint32) error {
	es := l.extents
	l.extents = nil
	for len(es) > 0 {
		err := x.WriteGuest(dom, es[0].gpa, es[0].data)
		if errors.Is(err, syscall.ENOSYS) || errors.Is(err, syscall.EOPNOTSUPP) {
			break
		}
		if err != nil {
			return err
		}
		es = es[1:]
	}
	return mapAndWrite(x, dom, es)
}

// pageWrite is new contents for part of one guest frame: data (at most a
// page, not crossing it) at byte off of frame gfn.
type pageWrite struct {
	gfn  uint64
	off  int
	data []byte
}

// mapAndWrite writes extents through foreign mappings, mapping each frame
// that gets non-zero bytes once per batch, the frames of a batch in one
// MapForeign.
func mapAndWrite(x xc.Interface, dom uint32, es []extent) error {
	var ws []pageWrite
	for _, e := range es {
		gpa, data := e.gpa, e.data
		for len(data) > 0 {
			off := int(gpa % xc.PageSize)
			n := min(len(data), xc.PageSize-off)
			if !allZero(data[:n]) {
				ws = append(ws, pageWrite{gfn: gpa / xc.PageSize, off: off, data: data[:n]})
			}
			data, gpa = data[n:], gpa+uint64(n)
		}
	}
	for len(ws) > 0 {
		idx := map[uint64]int{}
		var gfns []uint64
		n := 0
		for ; n < len(ws); n++ {
			if _, ok := idx[ws[n].gfn]; !ok {
				if len(gfns) == mapBatch {
					break
				}
				idx[ws[n].gfn] = len(gfns)
				gfns = append(gfns, ws[n].gfn)
			}
		}
		m, err := x.MapForeign(dom, gfns)
		if err != nil {
			return err
		}
		for _, w := range ws[:n] {
			copy(m[idx[w.gfn]*xc.PageSize+w.off:], w.data)
		}
		if err := x.Unmap(m); err != nil {
			return err
		}
		ws = ws[n:]
	}
	return nil
}

// load writes the kernel's segments, the ramdisk, the ACPI tables and the
// hvm_start_info (libxc's xc_dom_build_image and alloc_magic_pages_hvm;
// hv's createDomain and writeBootInfo). The console and xenstore rings
// start zeroed, as fresh frames: libxc clears them, here populate did.
func (b *builder) load() error {
	l := &frameWriter{mem: b.mem}
	tScan := time.Now()
	for _, seg := range b.img.Segments {
		if seg.Paddr+seg.Memsz < seg.Paddr || seg.Paddr+seg.Memsz > b.mem {
			return fmt.Errorf("segment at %#x: [%#x-%#x) is outside the domain's memory", seg.Paddr, seg.Paddr, seg.Paddr+seg.Memsz)
		}
		if err := l.add(seg.Paddr, seg.Data); err != nil {
			return fmt.Errorf("segment at %#x: %w", seg.Paddr, err)
		}
	}
	if b.s.Ramdisk != nil {
		if err := l.add(b.mods[0].Paddr, b.s.Ramdisk); err != nil {
			return fmt.Errorf("ramdisk: %w", err)
		}
	}
	var rsdp uint64
	if b.mem >= loader.ACPIBase+loader.ACPILimit {
		tables, r, err := loader.ACPITables(loader.ACPIBase, b.s.VCPUs)
		if err != nil {
			return err
		}
		if err := l.add(loader.ACPIBase, tables); err != nil {
			return fmt.Errorf("ACPI tables: %w", err)
		}
		rsdp = r
	}
	bi, err := loader.BuildStartInfo(loader.BootInfoBase, loader.BootInfoLimit, loader.GuestMemoryMap(b.mem),
		b.s.Cmdline, b.mods, 0, rsdp)
	if err != nil {
		return fmt.Errorf("boot information: %w", err)
	}
	if err := l.add(bi.Paddr, bi.Bytes); err != nil {
		return fmt.Errorf("boot information: %w", err)
	}
	b.d.StartInfo = bi.StartInfo
	for _, g := range []uint64{loader.ConsoleGFN, loader.StoreGFN} {
		if (g+1)*xc.PageSize > b.mem {
			return fmt.Errorf("ring page %#x is outside the domain's memory", g)
		}
	}
	if b.s.Logf == nil {
		return l.flush(b.x, b.d.ID)
	}
	t0 := time.Now()
	n, bytes := len(l.extents), l.size()
	if err := l.flush(b.x, b.d.ID); err != nil {
		return err
	}
	b.s.Logf("loading: finding the non-zero pages %d ms, writing %d extents (%d KiB) %d ms",
		t0.Sub(tScan).Milliseconds(), n, bytes>>10, time.Since(t0).Milliseconds())
	return nil
}

// seedGrants is xc_dom_gnttab_seed: grant entry 0 (GNTTAB_RESERVED_CONSOLE)
// gives the console back end the console ring, entry 1
// (GNTTAB_RESERVED_XENSTORE) gives xenstored the store ring, so they map
// the rings by grant (xenconsoled and xenstored prefer that).
func (b *builder) seedGrants() error {
	g, err := b.x.MapGrantTable(b.d.ID, 0)
	if err != nil {
		return err
	}
	for _, e := range []struct {
		ref   int
		domid uint32
		gfn   uint64
	}{
		{xen.GnttabReservedConsole, b.d.ConsoleDomID, loader.ConsoleGFN},
		{xen.GnttabReservedXenstore, b.d.StoreDomID, loader.StoreGFN},
	} {
		ent := xen.GrantEntryV1{Flags: xen.GTFPermitAccess, DomID: uint16(e.domid), Frame: uint32(e.gfn)}
		ent.Encode(g[e.ref*xen.GrantEntryV1Size:])
	}
	return b.x.Unmap(g)
}

// params sets the HVM params the guest finds its rings and ports by
// (alloc_magic_pages_hvm and bootlate_hvm).
func (b *builder) params() error {
	for _, p := range []struct {
		param uint32
		v     uint64
	}{
		{xen.HVMParamStorePFN, loader.StoreGFN},
		{xen.HVMParamConsolePFN, loader.ConsoleGFN},
		{xen.HVMParamStoreEvtchn, uint64(b.d.StorePort)},
		{xen.HVMParamConsoleEvtchn, uint64(b.d.ConsolePort)},
	} {
		if err := b.x.SetParam(b.d.ID, p.param, p.v); err != nil {
			return fmt.Errorf("param %d: %w", p.param, err)
		}
	}
	return nil
}

// vcpu sets vCPU 0 at the PVH entry with %ebx at the start info; the
// others wait, down, for the guest to start them (INIT/SIPI), as in hv.
func (b *builder) vcpu() error {
	return b.x.SetVCPUContext(b.d.ID, 0, xc.PVHEntryContext(b.img.Entry32, b.d.StartInfo))
}

// post is libxl__build_post and the console device's nodes
// (libxl_console.c), then XS_INTRODUCE.
func (b *builder) post() error {
	if err := b.postNodes(); err != nil {
		return err
	}
	if err := b.st.Introduce(b.d.ID, loader.StoreGFN, b.d.StorePort); err != nil {
		return fmt.Errorf("introducing the domain to xenstored: %w", err)
	}
	return nil
}

// postNodes writes build_post's nodes: memory, store, console, cpu.
func (b *builder) postNodes() error {
	home := b.home()
	n := strconv.Itoa(int(b.d.ID))
	nodes := []node{
		{home + "/domid", n, nil},
		{home + "/memory/static-max", strconv.FormatUint(b.s.MaxMemMiB<<10, 10), nil},
		{home + "/memory/target", strconv.FormatUint(b.s.MemoryMiB<<10, 10), nil},
		{home + "/memory/videoram", "0", nil},
		{home + "/store/port", strconv.Itoa(int(b.d.StorePort)), nil},
		{home + "/store/ring-ref", strconv.FormatUint(loader.StoreGFN, 10), nil},
		{home + "/console/backend-id", strconv.Itoa(int(b.d.ConsoleDomID)), nil},
		{home + "/console/port", strconv.Itoa(int(b.d.ConsolePort)), nil},
		{home + "/console/ring-ref", strconv.FormatUint(loader.ConsoleGFN, 10), nil},
		{home + "/console/limit", "1048576", nil},
		{home + "/console/type", "xenconsoled", nil},
		{home + "/console/output", "pty", nil},
		{home + "/console/tty", "", nil},
	}
	for i := 0; i < b.s.VCPUs; i++ {
		nodes = append(nodes, node{home + "/cpu/" + strconv.Itoa(i) + "/availability", "online", nil})
	}
	return b.write(nodes)
}

// UUIDString formats a domain handle as libxl does (8-4-4-4-12 hex).
func UUIDString(u [16]byte) string {
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

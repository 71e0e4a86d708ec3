package build

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"gozen/abi/xen"
	"gozen/dom0/xc"
	"gozen/dom0/xc/xcfake"
	"gozen/dom0/xl/xltest"
	"gozen/loader"
)

func spec(kernel []byte) Spec {
	return Spec{Name: "guest", Kernel: kernel, Ramdisk: []byte("RAMDISK-CONTENTS"), Cmdline: "console=hvc0 quiet",
		MemoryMiB: 16, MaxMemMiB: 32, VCPUs: 2, UUID: [16]byte{0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 1, 2, 3, 4, 5, 6, 7, 8},
		Now: func() time.Time { return time.Unix(1700000000, 250_000_000) }}
}

func read(t *testing.T, f *xcfake.Fake, id uint32, gpa uint64, n int) []byte {
	t.Helper()
	b, err := f.Read(id, gpa, n)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestBuildMatchesHV builds a domain from a generated PVH ELF and checks
// the fake's memory, params, grants, vCPU and xenstore hold what hv's
// boot-time builder gives a domU of the same shape.
func TestBuildMatchesHV(t *testing.T) {
	for _, bz := range []bool{false, true} {
		k := xltest.DefaultKernel()
		img := k.ELF()
		if bz {
			img = xltest.BzImage(img)
		}
		f := xcfake.New(1024, 256)
		store, c0 := xltest.NewStore()
		s := spec(img)
		d, err := Build(f, c0, s)
		if err != nil {
			t.Fatalf("bzImage=%v: %v", bz, err)
		}
		fd := f.Domain(d.ID)
		if d.ID != 1 || fd == nil || fd.Paused || !fd.Running {
			t.Fatalf("domain %d: %+v", d.ID, fd)
		}
		if got := uint64(len(fd.Pages)); got != 16<<8 {
			t.Errorf("%d pages populated, want %d", got, 16<<8)
		}
		if fd.MaxKiB != 16<<10+1024 || fd.VCPUs != 2 || fd.Config.Flags != xc.CDFHVM|xc.CDFHAP || fd.Config.EmulationFlags != xc.EmuLAPIC {
			t.Errorf("domain settings: max %d KiB, %d vCPUs, config %+v", fd.MaxKiB, fd.VCPUs, fd.Config)
		}
		// The kernel's segment, then zeros to Memsz.
		if got := read(t, f, d.ID, k.Paddr, len(k.Code)); !bytes.Equal(got, k.Code) {
			t.Error("kernel segment differs")
		}
		if bss := read(t, f, d.ID, k.Paddr+uint64(len(k.Code)), int(k.Memsz)-len(k.Code)); bytes.Count(bss, []byte{0}) != len(bss) {
			t.Error("bss not zero")
		}
		// The ramdisk where loader places it, as hv does.
		parsed, _ := loader.ParseELF(k.ELF())
		mods, _ := parsed.PlaceModules(16<<20, []loader.Module{{Data: s.Ramdisk}})
		if got := read(t, f, d.ID, mods[0].Paddr, len(s.Ramdisk)); !bytes.Equal(got, s.Ramdisk) {
			t.Errorf("ramdisk at %#x: %q", mods[0].Paddr, got)
		}
		// ACPI and start info: the very bytes hv's writeBootInfo writes.
		tables, rsdp, _ := loader.ACPITables(loader.ACPIBase, 2)
		if got := read(t, f, d.ID, loader.ACPIBase, len(tables)); !bytes.Equal(got, tables) {
			t.Error("ACPI tables differ from hv's")
		}
		bi, _ := loader.BuildStartInfo(loader.BootInfoBase, loader.BootInfoLimit, loader.GuestMemoryMap(16<<20),
			s.Cmdline, mods, 0, rsdp)
		if got := read(t, f, d.ID, bi.Paddr, len(bi.Bytes)); !bytes.Equal(got, bi.Bytes) {
			t.Error("hvm_start_info blob differs from hv's")
		}
		var si xen.HVMStartInfo
		si.Decode(read(t, f, d.ID, loader.BootInfoBase, xen.HVMStartInfoSize))
		if si.Magic != xen.HVMStartInfoMagic || si.NrModules != 1 || si.RsdpPaddr != rsdp {
			t.Errorf("start info %+v", si)
		}
		if got := read(t, f, d.ID, si.CmdlinePaddr, len(s.Cmdline)+1); string(got) != s.Cmdline+"\x00" {
			t.Errorf("cmdline %q", got)
		}
		// Grants 0 and 1, params, vCPU 0.
		var g0, g1 xen.GrantEntryV1
		g0.Decode(fd.Grant[0:])
		g1.Decode(fd.Grant[8:])
		if g0 != (xen.GrantEntryV1{Flags: xen.GTFPermitAccess, DomID: 0, Frame: loader.ConsoleGFN}) ||
			g1 != (xen.GrantEntryV1{Flags: xen.GTFPermitAccess, DomID: 0, Frame: loader.StoreGFN}) {
			t.Errorf("grant entries %+v %+v", g0, g1)
		}
		if fd.Params[xen.HVMParamStorePFN] != loader.StoreGFN || fd.Params[xen.HVMParamConsolePFN] != loader.ConsoleGFN ||
			fd.Params[xen.HVMParamStoreEvtchn] != uint64(d.StorePort) || fd.Params[xen.HVMParamConsoleEvtchn] != uint64(d.ConsolePort) ||
			d.StorePort == d.ConsolePort || fd.Ports[d.StorePort] != 0 || fd.Ports[d.ConsolePort] != 0 {
			t.Errorf("params %v ports %v (store %d console %d)", fd.Params, fd.Ports, d.StorePort, d.ConsolePort)
		}
		ctx, ok := fd.Contexts[0]
		if !ok || ctx.RIP != k.Entry || ctx.RBX != loader.BootInfoBase || ctx.CR0 != xc.CR0PE|xc.CR0ET ||
			ctx.CS.Arbytes != 0xc9b || len(fd.Contexts) != 1 {
			t.Errorf("vCPU contexts %+v", fd.Contexts)
		}
		if f.Mappings() != 0 {
			t.Errorf("%d mappings left", f.Mappings())
		}
		// xenstore: what libxl writes, readable by the guest as hv's.
		if store.Introduced[1] != [2]uint64{loader.StoreGFN, uint64(d.StorePort)} {
			t.Errorf("introduced %v", store.Introduced)
		}
		want := map[string]string{
			"/local/domain/1/name":                                      "guest",
			"/local/domain/1/domid":                                     "1",
			"/local/domain/1/vm":                                        "/vm/12345678-9abc-def0-0102-030405060708",
			"/vm/12345678-9abc-def0-0102-030405060708/name":             "guest",
			"/vm/12345678-9abc-def0-0102-030405060708/uuid":             "12345678-9abc-def0-0102-030405060708",
			"/vm/12345678-9abc-def0-0102-030405060708/start_time":       "1700000000.25",
			"/local/domain/1/memory/target":                             "16384",
			"/local/domain/1/memory/static-max":                         "32768",
			"/local/domain/1/store/ring-ref":                            "4",
			"/local/domain/1/console/ring-ref":                          "3",
			"/local/domain/1/console/type":                              "xenconsoled",
			"/local/domain/1/cpu/1/availability":                        "online",
			"/local/domain/1/control/platform-feature-xs_reset_watches": "1",
		}
		for p, v := range want {
			if got, err := c0.Read(p); err != nil || got != v {
				t.Errorf("%s = %q, %v; want %q", p, got, err, v)
			}
		}
		u := store.Client(1)
		if v, err := u.Read("name"); err != nil || v != "guest" {
			t.Errorf("guest reads its name: %q %v", v, err)
		}
		if err := u.Write("control/feature-poweroff", "1"); err != nil {
			t.Errorf("guest writes control/feature-poweroff: %v", err)
		}
		if err := u.Write("name", "evil"); err == nil {
			t.Error("guest renamed itself")
		}
		if p, _ := c0.Perms("/local/domain/1"); strings.Join(p, ",") != "n0,r1" {
			t.Errorf("home perms %v", p)
		}
	}
}

func TestBuildPausedAndFailures(t *testing.T) {
	k := xltest.DefaultKernel()
	f := xcfake.New(1024, 256)
	_, c0 := xltest.NewStore()
	s := spec(k.ELF())
	s.Paused = true
	d, err := Build(f, c0, s)
	if err != nil {
		t.Fatal(err)
	}
	if !f.Domain(d.ID).Paused {
		t.Error("create -p left the domain running")
	}

	// A failure half-way destroys the domain and its nodes.
	f.Fail = func(op string, dom uint32) error {
		if op == "sethvmcontext" {
			return syscall.EIO
		}
		return nil
	}
	s.Paused = false
	_, err = Build(f, c0, s)
	if err == nil || !errors.Is(err, syscall.EIO) || !strings.Contains(err.Error(), `domain 2 "guest": vCPU context`) {
		t.Fatalf("err = %v", err)
	}
	if f.Domain(2) != nil || f.Mappings() != 0 {
		t.Error("the failed domain is still there")
	}
	if _, err := c0.Read("/local/domain/2/name"); err == nil {
		t.Error("the failed domain's nodes are still there")
	}
	f.Fail = nil

	// Too little memory for the host: populate fails, named.
	big := spec(k.ELF())
	big.MemoryMiB = 2048
	if _, err := Build(f, c0, big); !errors.Is(err, syscall.ENOMEM) || !strings.Contains(err.Error(), "populating memory") {
		t.Fatalf("err = %v", err)
	}
	// A kernel that does not fit, or is no kernel: refused before any domain.
	small := spec(k.ELF())
	small.MemoryMiB = 1
	if _, err := Build(f, c0, small); err == nil || !strings.Contains(err.Error(), "kernel: ") {
		t.Fatalf("err = %v", err)
	}
	if _, err := Build(f, c0, spec([]byte("not a kernel"))); err == nil || !strings.HasPrefix(err.Error(), "kernel: ") {
		t.Fatalf("err = %v", err)
	}
	list, _ := f.ListDomains()
	if len(list) != 2 { // dom0 and the paused one
		t.Errorf("%d domains left: %+v", len(list), list)
	}
}

func TestWriteGuestAcrossBatches(t *testing.T) {
	// A segment longer than one mapping batch lands whole, written with
	// WriteGuest or, on a hypervisor without it, through foreign
	// mappings; its all-zero pages (every third page here) are never
	// mapped, and its bss is never written: the frames are fresh, so
	// already zero.
	k := xltest.DefaultKernel()
	k.Code = make([]byte, (2*mapBatch+3)*4096+123)
	nonzero := 0
	for p := 0; p*4096 < len(k.Code); p++ {
		if p%3 == 1 {
			continue
		}
		nonzero++
		for i := p * 4096; i < min(len(k.Code), (p+1)*4096); i++ {
			k.Code[i] = byte(p) | 1
		}
	}
	binary.LittleEndian.PutUint32(k.Code[0x10:], 0xdeadbeef)
	k.Memsz = uint64(len(k.Code)) + 2*4096
	for _, mapped := range []bool{false, true} {
		f := xcfake.New(1024, 256)
		f.NoWriteGuest = mapped
		_, c0 := xltest.NewStore()
		s := spec(k.ELF())
		s.Ramdisk = nil
		s.MemoryMiB, s.MaxMemMiB = 129, 129 // 64 extents of 2 MiB, then 256 frames
		d, err := Build(f, c0, s)
		if err != nil {
			t.Fatal(err)
		}
		if got := read(t, f, d.ID, k.Paddr, len(k.Code)); !bytes.Equal(got, k.Code) {
			t.Errorf("mapped %v: long segment differs", mapped)
		}
		if got := read(t, f, d.ID, k.Paddr+uint64(len(k.Code)), 2*4096); !bytes.Equal(got, make([]byte, 2*4096)) {
			t.Errorf("mapped %v: bss is not zero", mapped)
		}
		if mapped {
			// The kernel's non-zero pages, then the boot information
			// and the ACPI tables: two frames more, in batches of
			// mapBatch frames.
			if calls := (nonzero + 2 + mapBatch - 1) / mapBatch; f.MappedFrames != nonzero+2 || f.MapCalls != calls || calls < 2 {
				t.Errorf("%d frames mapped in %d calls, want %d in %d", f.MappedFrames, f.MapCalls, nonzero+2, calls)
			}
		} else if f.MapCalls != 0 || f.WriteCalls != 3 || f.WrittenBytes > len(k.Code)+2*4096 {
			// One extent each: the segment (its zero pages are short
			// gaps), the ACPI tables, the boot information.
			t.Errorf("%d mappings, %d writes of %d bytes, want none, 3 of at most %d", f.MapCalls, f.WriteCalls, f.WrittenBytes, len(k.Code)+2*4096)
		}
		want := []xcfake.PopulateCall{{Dom: d.ID, Order: 9, Extents: 64}, {Dom: d.ID, Order: 0, Extents: 256}}
		if len(f.Populates) != 2 || f.Populates[0] != want[0] || f.Populates[1] != want[1] {
			t.Errorf("populate calls %+v, want %+v", f.Populates, want)
		}
		if got := uint64(len(f.Domain(d.ID).Pages)); got != 129<<8 {
			t.Errorf("%d frames populated, want %d", got, 129<<8)
		}
	}
}

// TestFrameWriterExtents: add keeps the non-zero parts, one extent across
// short zero runs, two across one longer than zeroGap.
func TestFrameWriterExtents(t *testing.T) {
	data := make([]byte, 64*xc.PageSize)
	data[0x10] = 1                        // page 0
	data[3*xc.PageSize+5] = 2             // page 3: a short gap
	data[5*xc.PageSize+zeroGap+0x200] = 3 // past a gap longer than zeroGap
	l := &frameWriter{mem: 1 << 30}
	if err := l.add(0x7ff000, data); err != nil {
		t.Fatal(err)
	}
	want := []struct{ gpa, n uint64 }{
		{0x7ff000, 4 * xc.PageSize},
		{0x7ff000 + 5*xc.PageSize + zeroGap, xc.PageSize},
	}
	if len(l.extents) != len(want) {
		t.Fatalf("%d extents, want %d", len(l.extents), len(want))
	}
	for i, w := range want {
		if e := l.extents[i]; e.gpa != w.gpa || uint64(len(e.data)) != w.n {
			t.Errorf("extent %d at %#x of %#x bytes, want %#x of %#x", i, e.gpa, len(e.data), w.gpa, w.n)
		}
	}
	if err := l.add(1<<30-4, data[:8]); err == nil {
		t.Error("data past the domain's memory was queued")
	}
	l.extents = nil
	if err := l.add(0x1000, make([]byte, 3*xc.PageSize)); err != nil || len(l.extents) != 0 {
		t.Errorf("all zeros: %v, %d extents", err, len(l.extents))
	}
}

// TestBuildRealKernels builds from the images the QEMU scenarios boot
// (tools/mkguest's test guest, Debian's bzImage) when they have been
// built, and checks every loaded segment against package loader's view of
// the same file, as hv loads it.
func TestBuildRealKernels(t *testing.T) {
	for _, k := range []struct {
		path string
		mib  uint64
		long bool
	}{
		{"../../../out/guests/testguest.elf", 16, false},
		{"../../../out/linux/vmlinuz", 256, true},
	} {
		img, err := os.ReadFile(k.path)
		if err != nil {
			t.Logf("skipping %s: %v", k.path, err)
			continue
		}
		if k.long && testing.Short() {
			t.Logf("skipping %s in -short", k.path)
			continue
		}
		f := xcfake.New(1024, 256)
		_, c0 := xltest.NewStore()
		s := spec(img)
		s.MemoryMiB, s.MaxMemMiB = k.mib, k.mib
		d, err := Build(f, c0, s)
		if err != nil {
			t.Fatalf("%s: %v", k.path, err)
		}
		elf := img
		if loader.IsBzImage(img) {
			if elf, err = loader.ExtractVmlinux(img); err != nil {
				t.Fatal(err)
			}
		}
		want, err := loader.ParseELF(elf)
		if err != nil {
			t.Fatal(err)
		}
		for _, seg := range want.Segments {
			if got := read(t, f, d.ID, seg.Paddr, len(seg.Data)); !bytes.Equal(got, seg.Data) {
				t.Errorf("%s: segment at %#x differs", k.path, seg.Paddr)
			}
		}
		if ctx := f.Domain(d.ID).Contexts[0]; ctx.RIP != want.Entry32 {
			t.Errorf("%s: entry %#x, want %#x", k.path, ctx.RIP, want.Entry32)
		}
	}
}

// TestAllZero: one non-zero byte anywhere, in the 64-byte part or the
// tails, is found; all-zero slices of every length up to 200 are zero.
func TestAllZero(t *testing.T) {
	for n := 0; n <= 200; n++ {
		p := make([]byte, n)
		if !allZero(p) {
			t.Fatalf("zero slice of %d bytes: not zero", n)
		}
		for i := range p {
			p[i] = 0x80
			if allZero(p) {
				t.Fatalf("%d bytes with byte %d set: zero", n, i)
			}
			p[i] = 0
		}
	}
}

func BenchmarkAllZero(b *testing.B) {
	p := make([]byte, 4<<20)
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		if !allZero(p) {
			b.Fatal("not zero")
		}
	}
}

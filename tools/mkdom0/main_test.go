package main

import (
	"bytes"
	"encoding/binary"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/u-root/u-root/pkg/cpio"

	"gozen/dom0/kmod"
	"gozen/dom0/xl/cfg"
	"gozen/tools/internal/uroot"
)

func TestBzImageRelease(t *testing.T) {
	bz := make([]byte, 0x400)
	copy(bz[0x202:], "HdrS")
	binary.LittleEndian.PutUint16(bz[0x20e:], 0x100)
	copy(bz[0x300:], "6.1.0-57-amd64 (debian-kernel@lists.debian.org) #1 SMP\x00junk")
	if r, err := bzImageRelease(bz); err != nil || r != "6.1.0-57-amd64" {
		t.Errorf("release %q, %v", r, err)
	}
	noHdr := append([]byte{}, bz...)
	copy(noHdr[0x202:], "XXXX")
	zero := append([]byte{}, bz...)
	binary.LittleEndian.PutUint16(zero[0x20e:], 0)
	past := append([]byte{}, bz...)
	binary.LittleEndian.PutUint16(past[0x20e:], 0x300)
	blank := append([]byte{}, bz...)
	copy(blank[0x300:], "  \x00")
	for name, b := range map[string][]byte{"short": bz[:0x100], "no HdrS": noHdr, "no string": zero, "past the end": past, "blank": blank} {
		if _, err := bzImageRelease(b); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	// The real kernel, when scripts/get-kernel.sh has fetched it.
	if bz, err := os.ReadFile("../../out/linux/vmlinuz"); err == nil {
		r, err := bzImageRelease(bz)
		if err != nil {
			t.Fatal(err)
		}
		if v, err := os.ReadFile("../../out/linux/VERSION"); err == nil && !strings.Contains(string(v), "release="+r+"\n") {
			t.Errorf("vmlinuz says %s; VERSION says\n%s", r, v)
		}
	}
}

// modfile returns an ELF file with a .modinfo section of entries.
func modfile(entries ...string) []byte {
	info := []byte(strings.Join(entries, "\x00") + "\x00")
	shstr := "\x00.modinfo\x00.shstrtab\x00"
	strOff := 64 + len(info)
	shOff := (strOff + len(shstr) + 7) &^ 7
	b := make([]byte, shOff+3*64)
	copy(b, "\x7fELF\x02\x01\x01")
	le := binary.LittleEndian
	le.PutUint16(b[16:], 1)
	le.PutUint16(b[18:], 62)
	le.PutUint32(b[20:], 1)
	le.PutUint64(b[40:], uint64(shOff))
	le.PutUint16(b[52:], 64)
	le.PutUint16(b[58:], 64)
	le.PutUint16(b[60:], 3)
	le.PutUint16(b[62:], 2)
	copy(b[64:], info)
	copy(b[strOff:], shstr)
	for i, s := range [][3]int{{1, 1, 64}, {10, 3, strOff}} {
		h := b[shOff+(i+1)*64:]
		le.PutUint32(h[0:], uint32(s[0]))
		le.PutUint32(h[4:], uint32(s[1]))
		le.PutUint64(h[24:], uint64(s[2]))
		size := len(info)
		if i == 1 {
			size = len(shstr)
		}
		le.PutUint64(h[32:], uint64(size))
	}
	return b
}

// fakeTree writes a modules directory: xenfs needs xen-privcmd, ext4 needs
// jbd2; a module built for another release; one built in.
func fakeTree(t *testing.T) string {
	dir := t.TempDir()
	files := map[string][]string{
		"kernel/drivers/xen/xen-privcmd.ko": {"depends=", "name=xen_privcmd", "vermagic=6.1.0-57-amd64 SMP"},
		"kernel/drivers/xen/xenfs/xenfs.ko": {"depends=xen-privcmd", "name=xenfs", "vermagic=6.1.0-57-amd64 SMP"},
		"kernel/fs/jbd2/jbd2.ko":            {"depends=", "name=jbd2", "vermagic=6.1.0-57-amd64 SMP"},
		"kernel/fs/ext4/ext4.ko":            {"softdep=pre: crypto-crc32c", "depends=jbd2", "name=ext4", "vermagic=6.1.0-57-amd64 SMP"},
		"kernel/old.ko":                     {"depends=", "name=old", "vermagic=6.1.0-56-amd64 SMP"},
		"kernel/needsgone.ko":               {"depends=gone", "name=needsgone", "vermagic=6.1.0-57-amd64 SMP"},
	}
	var order []string
	for p, e := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, modfile(e...), 0o644); err != nil {
			t.Fatal(err)
		}
		order = append(order, p)
	}
	os.WriteFile(filepath.Join(dir, "modules.order"), []byte(strings.Join(order, "\n")+"\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "modules.builtin"), []byte("kernel/drivers/xen/xenbus/xenbus.ko\n"), 0o644)
	return dir
}

func TestModuleRecords(t *testing.T) {
	dir := fakeTree(t)
	recs, err := moduleRecords(dir, "6.1.0-57-amd64", []string{"xenfs", "ext4", "xenbus"})
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]string{}
	for _, r := range recs {
		byName[r.Name] = string(r.Data)
	}
	base := "lib/modules/6.1.0-57-amd64/"
	for _, p := range []string{"kernel/drivers/xen/xen-privcmd.ko", "kernel/drivers/xen/xenfs/xenfs.ko", "kernel/fs/jbd2/jbd2.ko", "kernel/fs/ext4/ext4.ko"} {
		if _, ok := byName[base+p]; !ok {
			t.Errorf("no %s", p)
		}
	}
	if _, ok := byName[base+"kernel/old.ko"]; ok {
		t.Error("a module nobody needs is in the image")
	}
	dep, err := kmod.ParseDep(strings.NewReader(byName[base+"modules.dep"]))
	if err != nil {
		t.Fatal(err)
	}
	order, err := dep.Order(strings.Fields(byName[listPath][strings.Index(byName[listPath], "\n"):]))
	if err != nil {
		t.Fatal(err)
	}
	want := "kernel/drivers/xen/xen-privcmd.ko kernel/drivers/xen/xenfs/xenfs.ko kernel/fs/jbd2/jbd2.ko kernel/fs/ext4/ext4.ko"
	if strings.Join(order, " ") != want {
		t.Errorf("load order %q, want %q\nmodules.dep:\n%s", order, want, byName[base+"modules.dep"])
	}
	// xenbus is built in: not listed to load.
	if strings.Contains(byName[listPath], "xenbus") {
		t.Errorf("built-in module listed:\n%s", byName[listPath])
	}

	for names, want := range map[string]string{
		"old":       `kernel/old.ko was built for "6.1.0-56-amd64", not the kernel's 6.1.0-57-amd64`,
		"needsgone": "needsgone depends on gone, which the modules tree lacks",
		"nosuch":    "no module nosuch in",
	} {
		if _, err := moduleRecords(dir, "6.1.0-57-amd64", []string{names}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want %q", names, err, want)
		}
	}
}

func TestSoftdepNotes(t *testing.T) {
	ext4 := kmod.Module{Path: "kernel/fs/ext4/ext4.ko", Info: kmod.Info{Name: "ext4", SoftPre: []string{"crypto-crc32c"}}}
	if n := softdepNotes([]kmod.Module{ext4}); len(n) != 1 || !strings.Contains(n[0], "ext4's softdep crypto-crc32c") {
		t.Errorf("notes %q", n)
	}
	crc := kmod.Module{Path: "kernel/crypto/crc32c_generic.ko", Info: kmod.Info{Name: "crc32c_generic", Aliases: []string{"crypto-crc32c"}}}
	if n := softdepNotes([]kmod.Module{ext4, crc}); len(n) != 0 {
		t.Errorf("notes %q with the provider present", n)
	}
}

func TestCheckBase(t *testing.T) {
	recs := []uroot.Record{
		uroot.Symlink("init", "bbin/init"), uroot.File("bbin/bb", 0o755, []byte("x")),
		uroot.Symlink("bin/defaultsh", "../bbin/gosh"), uroot.CharDev("dev/console", 0o600, 5, 1),
	}
	for _, c := range commands {
		recs = append(recs, uroot.Symlink("bbin/"+filepath.Base(c), "bb"))
	}
	if err := checkBase(recs); err != nil {
		t.Fatal(err)
	}
	if err := checkBase(append(recs, uroot.Symlink("bin/uinit", "../bbin/gosh"))); err == nil {
		t.Error("no error for u-root's own uinit")
	}
	if err := checkBase(recs[1:]); err == nil || !strings.Contains(err.Error(), "no init") {
		t.Errorf("no init: %v", err)
	}
}

// TestBuiltImage lists a built dom0 initramfs (go run ./tools/mkdom0) and
// checks what dom0init needs is there, at the paths modules.dep names.
func TestBuiltImage(t *testing.T) {
	recs, err := uroot.ReadArchiveFile("../../out/linux/dom0/initramfs.cpio")
	if err != nil {
		t.Skipf("no built image: %v", err)
	}
	byName := map[string]uroot.Record{}
	for _, r := range recs {
		byName[r.Name] = r
	}
	if err := uroot.Check(recs, []uroot.Want{
		{Name: "init", Type: cpio.S_IFLNK, Data: "bbin/init"},
		{Name: "bin/uinit", Type: cpio.S_IFLNK, Data: "dom0init"},
		{Name: "bin/dom0init", Type: cpio.S_IFREG},
		{Name: "bin/xl", Type: cpio.S_IFREG},
		{Name: "bbin/gosh", Type: cpio.S_IFLNK, Data: "bb"},
		{Name: listPath, Type: cpio.S_IFREG},
		{Name: "bin/xenstored", Type: cpio.S_IFREG},
		{Name: "bin/xenconsoled", Type: cpio.S_IFREG},
		{Name: "bin/xenstore", Type: cpio.S_IFREG},
		{Name: "bin/xenstore-ls", Type: cpio.S_IFLNK, Data: "xenstore"},
		{Name: sampleCfgPath, Type: cpio.S_IFREG, Data: sampleCfg},
		{Name: sampleDir + "/vmlinuz", Type: cpio.S_IFREG},
		{Name: sampleDir + "/initramfs.cpio", Type: cpio.S_IFREG},
	}); err != nil {
		t.Fatal(err)
	}
	for _, p := range programs {
		if n := "bin/" + path.Base(p.pkg); !bytes.HasPrefix(byName[n].Data, []byte("\x7fELF")) {
			t.Errorf("%s is not an ELF file", n)
		}
	}
	var depName string
	for n := range byName {
		if strings.HasSuffix(n, "/modules.dep") {
			depName = n
		}
	}
	if depName == "" {
		t.Fatal("no modules.dep")
	}
	base := strings.TrimSuffix(depName, "modules.dep")
	dep, err := kmod.ParseDep(bytes.NewReader(byName[depName].Data))
	if err != nil {
		t.Fatal(err)
	}
	order, err := dep.Order(modules)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range order {
		r, ok := byName[base+p]
		if !ok || r.Type() != cpio.S_IFREG {
			t.Errorf("modules.dep names %s; the image has no such file", p)
		}
	}
	// No module where u-root's init would load it without dependencies.
	for n := range byName {
		if m, _ := filepath.Match("lib/modules/*.ko", n); m {
			t.Errorf("%s would be loaded by u-root's init", n)
		}
	}
}

// The sample domU's config is one xl accepts, naming the files shipped.
func TestSampleConfig(t *testing.T) {
	f, err := cfg.Parse(sampleCfgPath, []byte(sampleCfg))
	if err != nil {
		t.Fatal(err)
	}
	c, err := cfg.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "debian" || c.Type != "pvh" || c.Kernel != "/"+sampleDir+"/vmlinuz" ||
		c.Ramdisk != "/"+sampleDir+"/initramfs.cpio" || c.MemoryMiB != 256 || c.VCPUs != 1 {
		t.Errorf("sample config decodes to %+v", c)
	}
}

// The test guest's config is one xl accepts, naming the file shipped.
func TestGuestConfig(t *testing.T) {
	f, err := cfg.Parse(guestCfgPath, []byte(tinyCfg("testguest", "hello")))
	if err != nil {
		t.Fatal(err)
	}
	c, err := cfg.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "testguest" || c.Type != "pvh" || c.Kernel != "/"+guestPath || c.MemoryMiB != 16 {
		t.Errorf("test guest config decodes to %+v", c)
	}
	if recs, err := testGuests(t.TempDir()); err != nil || recs != nil {
		t.Errorf("without a test guest: %d records, %v; want none, no error", len(recs), err)
	}
}

package kmod

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// modinfo builds .modinfo contents from key=value entries, with the
// padding NULs modpost leaves between some of them.
func modinfo(entries ...string) []byte {
	return []byte(strings.Join(entries, "\x00\x00") + "\x00")
}

func TestParseModinfo(t *testing.T) {
	b := modinfo("softdep=pre: crct10dif post: foo", "license=GPL", "depends=scsi_mod,t10-pi",
		"alias=pci:v00008086d0000100Esv*sd*bc*sc*i*", "alias=crypto-x", "name=sd_mod",
		"vermagic=6.1.0-57-amd64 SMP preempt mod_unload modversions ", "parm=x:int")
	got, err := ParseModinfo(b)
	if err != nil {
		t.Fatal(err)
	}
	want := Info{Name: "sd_mod", Depends: []string{"scsi_mod", "t10-pi"}, SoftPre: []string{"crct10dif"},
		SoftPost: []string{"foo"}, Aliases: []string{"pci:v00008086d0000100Esv*sd*bc*sc*i*", "crypto-x"},
		Vermagic: "6.1.0-57-amd64 SMP preempt mod_unload modversions "}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if r := got.Release(); r != "6.1.0-57-amd64" {
		t.Errorf("Release() = %q", r)
	}
	// An empty depends= (modules needing nothing) gives no dependencies.
	if got, err := ParseModinfo(modinfo("depends=", "name=e1000")); err != nil || got.Depends != nil {
		t.Errorf("empty depends: %+v, %v", got, err)
	}
	for _, bad := range []string{"nokey\x00", "=v\x00", "softdep=crct10dif\x00"} {
		if _, err := ParseModinfo([]byte(bad)); err == nil {
			t.Errorf("no error for %q", bad)
		}
	}
}

// elfWithSection returns a minimal ELF64 relocatable file with one
// section, name, holding data (and the section name table).
func elfWithSection(name string, data []byte) []byte {
	shstr := "\x00" + name + "\x00.shstrtab\x00"
	const ehsize, shentsize = 64, 64
	dataOff := ehsize
	strOff := dataOff + len(data)
	shOff := (strOff + len(shstr) + 7) &^ 7
	b := make([]byte, shOff+3*shentsize)
	copy(b, "\x7fELF\x02\x01\x01")
	le := binary.LittleEndian
	le.PutUint16(b[16:], 1)  // ET_REL
	le.PutUint16(b[18:], 62) // EM_X86_64
	le.PutUint32(b[20:], 1)
	le.PutUint64(b[40:], uint64(shOff))
	le.PutUint16(b[52:], ehsize)
	le.PutUint16(b[58:], shentsize)
	le.PutUint16(b[60:], 3) // e_shnum
	le.PutUint16(b[62:], 2) // e_shstrndx
	copy(b[dataOff:], data)
	copy(b[strOff:], shstr)
	sh := func(i int, nameOff, typ, off, size int) {
		h := b[shOff+i*shentsize:]
		le.PutUint32(h[0:], uint32(nameOff))
		le.PutUint32(h[4:], uint32(typ))
		le.PutUint64(h[24:], uint64(off))
		le.PutUint64(h[32:], uint64(size))
		le.PutUint64(h[48:], 1)
	}
	sh(1, 1, 1 /* SHT_PROGBITS */, dataOff, len(data))
	sh(2, 2+len(name), 3 /* SHT_STRTAB */, strOff, len(shstr))
	return b
}

func TestReadInfo(t *testing.T) {
	f := elfWithSection(".modinfo", modinfo("depends=xen-privcmd", "name=xenfs", "vermagic=6.1.0-57-amd64 SMP"))
	got, err := ReadInfo(bytes.NewReader(f))
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "xenfs" || !reflect.DeepEqual(got.Depends, []string{"xen-privcmd"}) || got.Release() != "6.1.0-57-amd64" {
		t.Errorf("got %+v", got)
	}
	if _, err := ReadInfo(bytes.NewReader(elfWithSection(".text", []byte{0xc3}))); err == nil ||
		!strings.Contains(err.Error(), "no .modinfo") {
		t.Errorf("module without .modinfo: err = %v", err)
	}
	if _, err := ReadInfo(bytes.NewReader([]byte("not an ELF file at all, just text......................................"))); err == nil {
		t.Error("no error for a non-ELF file")
	}
}

// TestReadInfoReal reads a module of Debian's kernel package when
// scripts/get-kernel.sh has kept its modules tree.
func TestReadInfoReal(t *testing.T) {
	matches, _ := filepath.Glob("../../out/linux/modules/*/kernel/drivers/xen/xenfs/xenfs.ko")
	if len(matches) == 0 {
		t.Skip("no out/linux/modules (scripts/get-kernel.sh keeps them)")
	}
	f, err := os.Open(matches[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	info, err := ReadInfo(f)
	if err != nil {
		t.Fatal(err)
	}
	release := filepath.Base(filepath.Dir(filepath.Dir(filepath.Dir(filepath.Dir(filepath.Dir(matches[0]))))))
	if info.Name != "xenfs" || !reflect.DeepEqual(info.Depends, []string{"xen-privcmd"}) || info.Release() != release {
		t.Errorf("xenfs.ko: %+v (release dir %s)", info, release)
	}
}

func mod(path string, deps ...string) Module {
	return Module{Path: path, Info: Info{Depends: deps}}
}

// The AHCI disk stack of Debian's 6.1 (modinfo -F depends), in an order
// unrelated to the dependencies.
var ahci = []Module{
	mod("kernel/drivers/ata/ahci.ko", "libahci", "libata"),
	mod("kernel/drivers/scsi/sd_mod.ko", "scsi_mod", "t10-pi"),
	mod("kernel/block/t10-pi.ko", "crc64-rocksoft", "crc-t10dif"),
	mod("kernel/drivers/ata/libahci.ko", "libata"),
	mod("kernel/drivers/ata/libata.ko", "scsi_mod"),
	mod("kernel/drivers/scsi/scsi_mod.ko", "scsi_common"),
	mod("kernel/drivers/scsi/scsi_common.ko"),
	mod("kernel/lib/crc64-rocksoft.ko", "crc64"),
	mod("kernel/lib/crc64.ko"),
	mod("kernel/lib/crc-t10dif.ko", "crct10dif_common"),
	mod("kernel/crypto/crct10dif_common.ko"),
}

func TestDep(t *testing.T) {
	b, err := Dep(ahci)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) != len(ahci) {
		t.Fatalf("%d lines:\n%s", len(lines), b)
	}
	for i, want := range map[int]string{
		0: "kernel/drivers/ata/ahci.ko: kernel/drivers/ata/libahci.ko kernel/drivers/ata/libata.ko kernel/drivers/scsi/scsi_mod.ko kernel/drivers/scsi/scsi_common.ko",
		1: "kernel/drivers/scsi/sd_mod.ko: kernel/block/t10-pi.ko kernel/lib/crc-t10dif.ko kernel/crypto/crct10dif_common.ko kernel/lib/crc64-rocksoft.ko kernel/lib/crc64.ko kernel/drivers/scsi/scsi_mod.ko kernel/drivers/scsi/scsi_common.ko",
		6: "kernel/drivers/scsi/scsi_common.ko:",
	} {
		if lines[i] != want {
			t.Errorf("line %d:\n got %s\nwant %s", i, lines[i], want)
		}
	}
	// Every line read backwards is a load order: each module after
	// everything its modinfo names.
	f, err := ParseDep(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ahci {
		deps := f.Deps[m.Path]
		pos := map[string]int{}
		for i, d := range deps {
			pos[NameFromPath(d)] = len(deps) - i
		}
		for _, d := range deps {
			for _, dd := range f.Deps[d] {
				if pos[NameFromPath(dd)] >= pos[NameFromPath(d)] {
					t.Errorf("%s: %s loads no earlier than %s, which needs it", m.Path, dd, d)
				}
			}
		}
	}
}

func TestDepErrors(t *testing.T) {
	for _, c := range []struct {
		mods []Module
		want string
	}{
		{[]Module{mod("a.ko", "b")}, "module a (a.ko) depends on b, which is not in the module set"},
		{[]Module{mod("a.ko", "b"), mod("b.ko", "c"), mod("c.ko", "a")}, "dependency cycle: a -> b -> c -> a"},
		{[]Module{mod("a.ko", "a")}, "dependency cycle: a -> a"},
		{[]Module{mod("x/a-b.ko"), mod("y/a_b.ko")}, "module a_b: both x/a-b.ko and y/a_b.ko"},
	} {
		_, err := Dep(c.mods)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Dep(%v) error = %v, want %q", c.mods, err, c.want)
		}
	}
}

func TestOrder(t *testing.T) {
	b, err := Dep(ahci)
	if err != nil {
		t.Fatal(err)
	}
	f, err := ParseDep(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.Order([]string{"crc64", "sd-mod", "kernel/drivers/ata/ahci.ko", "crc_t10dif"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"kernel/lib/crc64.ko",
		// sd_mod's line lists t10-pi first, so its stack loads first.
		"kernel/crypto/crct10dif_common.ko", "kernel/lib/crc-t10dif.ko", "kernel/lib/crc64-rocksoft.ko",
		"kernel/block/t10-pi.ko",
		"kernel/drivers/scsi/scsi_common.ko", "kernel/drivers/scsi/scsi_mod.ko", "kernel/drivers/scsi/sd_mod.ko",
		"kernel/drivers/ata/libata.ko", "kernel/drivers/ata/libahci.ko", "kernel/drivers/ata/ahci.ko",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Order:\n got %q\nwant %q", got, want)
	}
}

// Bad files and names are reported, and the rest still ordered.
func TestOrderErrors(t *testing.T) {
	dep := "a.ko: b.ko\nb.ko: a.ko\nc.ko: gone.ko\nd.ko:\n# comment\n\ne.ko: d.ko\n"
	f, err := ParseDep(strings.NewReader(dep))
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.Order([]string{"a", "c", "nosuch", "e", "d"})
	if !reflect.DeepEqual(got, []string{"d.ko", "e.ko"}) {
		t.Errorf("Order = %q", got)
	}
	for _, want := range []string{
		"dependency cycle: a.ko -> b.ko -> a.ko",
		"c.ko needs gone.ko, which has no line in modules.dep",
		"module nosuch is not in modules.dep",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want %q", err, want)
		}
	}
	for _, bad := range []string{"a.ko b.ko\n", "a.ko:\na.ko:\n", "x/a.ko:\ny/a.ko:\n", ": b.ko\n"} {
		if _, err := ParseDep(strings.NewReader(bad)); err == nil {
			t.Errorf("ParseDep(%q): no error", bad)
		}
	}
}

func TestAlias(t *testing.T) {
	m := Module{Path: "kernel/crypto/crc32c_generic.ko", Info: Info{Name: "crc32c_generic", Aliases: []string{"crypto-crc32c", "crc32c"}}}
	want := "# Aliases extracted from modules themselves.\nalias crypto-crc32c crc32c_generic\nalias crc32c crc32c_generic\n"
	if got := string(Alias([]Module{m})); got != want {
		t.Errorf("Alias = %q", got)
	}
}

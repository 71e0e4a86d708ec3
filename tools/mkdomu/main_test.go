package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gozen/dom0/kmod"
	"gozen/tools/internal/uroot"
)

// goodArchive returns the records of an archive with what checkInitramfs
// wants, less the one named skip.
func goodArchive(skip string) []uroot.Record {
	recs := []uroot.Record{
		uroot.Dir("bbin", 0o755),
		uroot.File("bbin/bb", 0o755, []byte("\x7fELF...")),
		uroot.Symlink("bin/defaultsh", "../bbin/gosh"),
		uroot.Symlink("bin/uinit", "../bbin/gosh"),
		uroot.CharDev("dev/console", 0o600, 5, 1),
		uroot.Symlink("init", "bbin/init"),
	}
	for _, c := range commands {
		recs = append(recs, uroot.Symlink("bbin/"+c, "bb"))
	}
	for _, c := range gozenCommands {
		name := c.pkg[strings.LastIndexByte(c.pkg, '/')+1:]
		recs = append(recs, uroot.File("bin/"+name, 0o755, []byte("\x7fELF...")))
		for _, n := range c.names {
			recs = append(recs, uroot.Symlink("bin/"+n, name))
		}
	}
	for _, l := range links {
		recs = append(recs, uroot.Symlink(l[0], l[1]))
	}
	for i, m := range modules {
		recs = append(recs, uroot.File(moduleName(i, m), 0o644, []byte("\x7fELF...")))
	}
	var out []uroot.Record
	for _, r := range recs {
		if r.Name != skip {
			out = append(out, r)
		}
	}
	return out
}

func TestCheckInitramfs(t *testing.T) {
	// Through a real archive: what u-root's reader gives back.
	b, err := uroot.WriteArchive(goodArchive(""))
	if err != nil {
		t.Fatal(err)
	}
	recs, err := uroot.ReadArchive(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkInitramfs(recs); err != nil {
		t.Fatal(err)
	}
	wrong := goodArchive("bin/uinit")
	wrong = append(wrong, uroot.Symlink("bin/uinit", "../bbin/ls"))
	if err := checkInitramfs(wrong); err == nil || !strings.Contains(err.Error(), `bin/uinit is "../bbin/ls"`) {
		t.Errorf("wrong uinit: %v", err)
	}
	for _, missing := range []string{"init", "bbin/bb", "bin/uinit", "bbin/gosh", "bbin/poweroff", "dev/console", "bin/xenstore", "bin/xenstore-read", "sbin/poweroff"} {
		err := checkInitramfs(goodArchive(missing))
		if err == nil || !strings.Contains(err.Error(), "no "+missing) {
			t.Errorf("without %s: %v", missing, err)
		}
	}
}

func TestUrootArgs(t *testing.T) {
	args := strings.Join(urootArgs(), " ")
	for _, want := range []string{
		"-build=bb", "-go-build-tags=goshsmall", "-defaultsh=gosh",
		"-uinitcmd=gosh -c 'echo GOZEN-USERSPACE-UP;",
		"github.com/u-root/u-root/cmds/core/init", "github.com/u-root/u-root/cmds/core/gosh",
	} {
		if !strings.Contains(args, want) {
			t.Errorf("u-root arguments %q lack %q", args, want)
		}
	}
	for _, c := range []string{"init", "gosh", "ls", "cat", "echo", "uname", "dmesg", "date", "poweroff", "shutdown", "mount"} {
		if !strings.Contains(args, "/cmds/core/"+c+" ") && !strings.HasSuffix(args, "/cmds/core/"+c) {
			t.Errorf("no %s command", c)
		}
	}
}

func TestInitramfsKey(t *testing.T) {
	dir := t.TempDir()
	if _, err := initramfsBuild(dir); err == nil || !strings.Contains(err.Error(), "VERSION") {
		t.Errorf("no VERSION: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "VERSION"), []byte("package=linux-image-9\nrelease=9.9-test\n"), 0o644)
	if _, err := initramfsBuild(dir); err == nil || !strings.Contains(err.Error(), "xen-blkfront.ko") {
		t.Errorf("no modules: %v", err)
	}
	for _, m := range modules {
		p := filepath.Join(dir, "modules/9.9-test", m)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(m), 0o644)
	}
	b, err := initramfsBuild(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := &uroot.ModuleInfo{Path: uroot.Module, Version: "v0.16.0", Sum: "h1:x"}
	k := b.Key("go1.26.0", m)
	if k != b.Key("go1.26.0", m) {
		t.Fatal("key not deterministic")
	}
	if k == b.Key("go1.26.1", m) {
		t.Error("key ignores the Go version")
	}
	m2 := *m
	m2.Sum = "h1:y"
	if k == b.Key("go1.26.0", &m2) {
		t.Error("key ignores the module checksum")
	}
	b2 := *b
	b2.Args = append(b2.Args[:len(b2.Args):len(b2.Args)], "extra")
	if k == b2.Key("go1.26.0", m) {
		t.Error("key ignores the u-root arguments")
	}
	if !strings.HasSuffix(b.Stamp(), "/initramfs.stamp") {
		t.Errorf("stamp %s", b.Stamp())
	}
}

// TestBuiltInitramfs checks a built domU image (go run ./tools/mkdomu),
// read with u-root's cpio reader.
func TestBuiltInitramfs(t *testing.T) {
	recs, err := uroot.ReadArchiveFile("../../out/linux/initramfs.cpio")
	if err != nil {
		t.Skipf("no built image: %v", err)
	}
	if err := checkInitramfs(recs); err != nil {
		t.Error(err)
	}
}

// TestModulesOrder checks the module list against Debian's modules
// (when scripts/get-kernel.sh has kept them): every dependency and
// pre-softdep comes earlier in the list or is built in, and every module
// was built for the kernel's release.
func TestModulesOrder(t *testing.T) {
	release, err := kernelRelease("../../out/linux")
	if err != nil {
		t.Skipf("no kernel: %v", err)
	}
	dir := filepath.Join("../../out/linux/modules", release)
	builtinList, err := os.ReadFile(filepath.Join(dir, "modules.builtin"))
	if err != nil {
		t.Skipf("no modules tree: %v", err)
	}
	have := map[string]bool{}
	for _, l := range strings.Fields(string(builtinList)) {
		have[kmod.NameFromPath(l)] = true
	}
	for _, m := range modules {
		f, err := os.Open(filepath.Join(dir, m))
		if err != nil {
			t.Fatal(err)
		}
		info, err := kmod.ReadInfo(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		if info.Release() != release {
			t.Errorf("%s built for %q", m, info.Release())
		}
		for _, d := range append(append([]string{}, info.Depends...), info.SoftPre...) {
			if !have[kmod.Normalize(d)] {
				t.Errorf("%s needs %s, which no module before it provides", m, d)
			}
		}
		have[kmod.NameFromPath(m)] = true
		for _, a := range info.Aliases {
			have[kmod.Normalize(a)] = true
		}
	}
}

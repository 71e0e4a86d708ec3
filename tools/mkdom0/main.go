// Command mkdom0 builds dom0's initramfs: the u-root busybox of the domU
// images plus more commands, dom0's init (dom0/cmd/dom0init) as
// /bin/uinit, and the kernel modules dom0 needs from Debian's kernel
// package, with a modules.dep and modules.alias made from the modules'
// own .modinfo (the package ships none: depmod runs in its postinst).
//
//	go run ./tools/mkdom0 [-o out/linux] [-force] [-list] [-v]
//
// It reads, from the output directory (scripts/get-kernel.sh fills it):
//
//	vmlinuz                  the kernel; its release ("6.1.0-57-amd64") is
//	                         read from the bzImage header
//	modules/RELEASE/         the same package's modules tree
//
// and writes, in OUTDIR/dom0:
//
//	base.cpio, base.stamp    the u-root part, rebuilt only when its inputs
//	                         change (tools/internal/uroot)
//	initramfs.cpio           base.cpio plus:
//	  bin/dom0init, bin/uinit -> dom0init
//	  bin/xl                 the toolstack (dom0/cmd/xl)
//	  bin/createbench        times xl create to a domU's first console
//	                         line (bench/xl-create.sh)
//	  bin/xenstored, bin/xenconsoled   the xenstore and console daemons
//	  bin/xenstore, bin/xenstore-{read,write,ls,list,rm} -> xenstore
//	  etc/dom0/modules       the modules to load, in order
//	  lib/modules/RELEASE/kernel/...   those modules and all they depend on
//	  lib/modules/RELEASE/modules.{dep,alias,order,builtin}
//	  etc/xen/debian.cfg     a sample PVH domU for `xl create`: Debian's
//	  var/lib/xen/images/debian/{vmlinuz,initramfs.cpio}
//	                         kernel (OUTDIR/vmlinuz, the same bzImage) and
//	                         the domU image (OUTDIR/initramfs.cpio, made by
//	                         tools/mkdomu)
//	  etc/xen/testguest.cfg, tiny1.cfg, tiny2.cfg, hello.cfg
//	  var/lib/xen/images/testguest.elf
//	                         GoZen's test guest as small domUs (its mode on
//	                         the command line, e.g. xl create
//	                         /etc/xen/testguest.cfg 'cmdline="xsgood"'),
//	                         from -guests DIR (tools/mkguest makes it; left
//	                         out, with a note, when missing)
//
// The modules sit under lib/modules/RELEASE, not lib/modules/*.ko, which
// u-root's init would load itself in glob order, without dependencies.
// dom0init loads them, each after what it needs, then starts the shell.
package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/u-root/u-root/pkg/cpio"

	"gozen/dom0/kmod"
	"gozen/tools/internal/uroot"
)

// commands are the u-root commands in dom0's busybox: the domU set plus
// what administering a machine's devices takes.
var commands = []string{
	"core/init", "core/gosh",
	"core/cat", "core/cp", "core/date", "core/dmesg", "core/echo", "core/false", "core/free", "core/grep",
	"core/hexdump", "core/ls", "core/mkdir", "core/mount", "core/mv", "core/poweroff", "core/printenv",
	"core/ps", "core/pwd", "core/rm", "core/shutdown", "core/sleep", "core/sync", "core/true", "core/umount",
	"core/uname", "core/uptime", "core/wc",
	// dom0 additions
	"core/pci", "core/insmod", "core/lsmod", "core/rmmod", "core/ip", "core/dhclient", "core/losetup",
	"core/blkid", "core/shasum", "core/md5sum", "core/dd", "core/df", "core/find", "core/head", "core/tail",
	"core/touch", "core/ln", "core/mknod", "core/readlink", "core/brctl", "core/io", "core/ping",
	"exp/modprobe",
}

// modules are the modules dom0init loads, in this order, each after the
// modules it depends on (which the image gets too).
var modules = []string{
	// The Xen toolstack devices (dom0-toolstack.md §C.1). Outside Xen
	// they refuse to load (ENODEV), and xenfs, needing xen-privcmd, is
	// skipped.
	"xen-privcmd", "xen-evtchn", "xen-gntdev", "xen-gntalloc", "xenfs", "xen-netback", "xen-blkback",
	// QEMU's devices.
	"virtio_pci", "virtio_blk", "virtio_net", "e1000",
	// crc-t10dif's softdep (pre: crct10dif): the kernel would ask
	// modprobe for it, and there is no /sbin/modprobe to ask.
	"crct10dif_generic",
	"ahci", "sd_mod",
	"bridge",
	// ext4's softdep (pre: crypto-crc32c): metadata_csum needs crc32c.
	"crc32c_generic",
	"ext4", "loop",
}

const (
	recipe   = "mkdom0-base-1"
	listPath = "etc/dom0/modules"
)

// programs are GoZen's dom0 programs, built static into bin/, each with
// the extra names (symlinks in bin/) it answers to.
var programs = []struct {
	pkg   string
	names []string
}{
	{"dom0/cmd/dom0init", []string{"uinit"}},
	{"dom0/cmd/xenstored", nil},
	{"dom0/cmd/xenconsoled", nil},
	{"dom0/cmd/xl", nil},
	{"dom0/cmd/xenstore", []string{"xenstore-read", "xenstore-write", "xenstore-ls", "xenstore-list", "xenstore-rm"}},
	{"dom0/cmd/tcpbench", nil},
	{"dom0/cmd/blkbench", nil},
	{"dom0/cmd/createbench", nil},
}

func main() {
	out := flag.String("o", "out/linux", "the kernel's directory (scripts/get-kernel.sh); the image goes to its dom0/")
	force := flag.Bool("force", false, "rebuild the u-root part even when it is up to date")
	list := flag.Bool("list", false, "list the initramfs contents")
	verbose := flag.Bool("v", false, "show the u-root build's output")
	guests := flag.String("guests", "out/guests", "tools/mkguest's output: its testguest.elf is shipped for the tiny sample domUs when present")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: go run ./tools/mkdom0 [flags]\n\nBuilds dom0's initramfs: u-root, dom0init and the kernel's modules.\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*out, *guests, *force, *verbose, *list); err != nil {
		fmt.Fprintf(os.Stderr, "mkdom0: %v\n", err)
		os.Exit(1)
	}
}

func logf(format string, args ...any) {
	fmt.Printf("mkdom0: "+format+"\n", args...)
}

func run(outDir, guestDir string, force, verbose, list bool) error {
	start := time.Now()
	kernel := filepath.Join(outDir, "vmlinuz")
	bz, err := os.ReadFile(kernel)
	if err != nil {
		return fmt.Errorf("%v (run scripts/get-kernel.sh first)", err)
	}
	release, err := bzImageRelease(bz)
	if err != nil {
		return fmt.Errorf("%s: %w", kernel, err)
	}
	modDir := filepath.Join(outDir, "modules", release)
	if _, err := os.Stat(filepath.Join(modDir, "modules.order")); err != nil {
		return fmt.Errorf("no modules for %s's release %s: %v (scripts/get-kernel.sh keeps them)", kernel, release, err)
	}
	dir := filepath.Join(outDir, "dom0")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}

	base := baseBuild(dir)
	if err := base.Run(force, verbose); err != nil {
		return fmt.Errorf("u-root: %w", err)
	}
	recs, err := uroot.ReadArchiveFile(base.Out)
	if err != nil {
		return err
	}

	for _, p := range programs {
		bin, err := buildProgram(p.pkg)
		if err != nil {
			return err
		}
		name := path.Base(p.pkg)
		recs = append(recs, uroot.File("bin/"+name, 0o755, bin))
		for _, n := range p.names {
			recs = append(recs, uroot.Symlink("bin/"+n, name))
		}
	}

	mods, err := moduleRecords(modDir, release, modules)
	if err != nil {
		return err
	}
	recs = append(recs, mods...)

	sample, err := sampleDomU(outDir, bz)
	if err != nil {
		return err
	}
	recs = append(recs, sample...)
	tiny, err := testGuests(guestDir)
	if err != nil {
		return err
	}
	recs = append(recs, tiny...)

	data, err := uroot.WriteArchive(recs)
	if err != nil {
		return err
	}
	outPath := filepath.Join(dir, "initramfs.cpio")
	if err := uroot.WriteFileAtomic(outPath, data); err != nil {
		return err
	}
	logf("wrote %s (%s, sha256 %x, Linux %s) in %.1fs", outPath, uroot.Size(len(data)), sha256.Sum256(data), release, time.Since(start).Seconds())
	if list {
		back, err := uroot.ReadArchive(data)
		if err != nil {
			return err
		}
		for _, r := range back {
			fmt.Println(r)
		}
	}
	return nil
}

// The sample domU in dom0's image (issue 10: dom0 `xl create`s a Debian
// PVH domU from a config it ships).
const (
	sampleCfgPath = "etc/xen/debian.cfg"
	sampleDir     = "var/lib/xen/images/debian"
)

// sampleCfg is its xl.cfg: Debian's kernel with the domU initramfs
// (tools/mkdomu: u-root, GOZEN-USERSPACE-UP, a shell on hvc0).
var sampleCfg = `# A Debian PVH domU: xl create /etc/xen/debian.cfg, then xl console debian.
name = "debian"
type = "pvh"
kernel = "/` + sampleDir + `/vmlinuz"
ramdisk = "/` + sampleDir + `/initramfs.cpio"
cmdline = "console=hvc0"
memory = 256
vcpus = 1
on_poweroff = "destroy"
on_reboot = "restart"
on_crash = "destroy"
`

// sampleDomU returns the sample domU's records: its config, the kernel bz
// and OUTDIR/initramfs.cpio.
func sampleDomU(outDir string, bz []byte) ([]uroot.Record, error) {
	img := filepath.Join(outDir, "initramfs.cpio")
	ramdisk, err := os.ReadFile(img)
	if err != nil {
		return nil, fmt.Errorf("the sample domU's image: %v (go run ./tools/mkdomu -o %s makes it)", err, outDir)
	}
	return []uroot.Record{
		uroot.File(sampleCfgPath, 0o644, []byte(sampleCfg)),
		uroot.File(sampleDir+"/vmlinuz", 0o644, bz),
		uroot.File(sampleDir+"/initramfs.cpio", 0o644, ramdisk),
	}, nil
}

// GoZen's test guest (guests/README.md) as small domUs, 16 MiB each:
// testguest.cfg is the hostile domU of scenario xl-hostile and its
// well-behaved neighbour (the mode comes on xl's command line), tiny1 and
// tiny2 idle for create/destroy cycles and hello prints a few lines and
// powers off (the create-to-first-line benchmark, BENCHMARKS.md).
const (
	guestCfgPath = "etc/xen/testguest.cfg"
	guestPath    = "var/lib/xen/images/testguest.elf"
)

// tinyCfg returns the config of test-guest domU name running mode (its
// command line).
func tinyCfg(name, mode string) string {
	return `# GoZen's test guest as a PVH domU (guests/README.md lists its modes):
# xl create /etc/xen/testguest.cfg 'cmdline="MODE ARGS"' name=NAME
name = "` + name + `"
type = "pvh"
kernel = "/` + guestPath + `"
cmdline = "` + mode + `"
memory = 16
vcpus = 1
on_poweroff = "destroy"
on_reboot = "destroy"
on_crash = "destroy"
`
}

// testGuests returns the records of the test-guest domUs: the ELF from
// guestDir and their configs. tiny1 and tiny2 run evtpong (one line, then
// blocked on an event channel nobody sends on, so they idle until
// destroyed); hello prints a few lines and powers off. Without the test
// guest (no binutils to build it) they are left out with a log line.
func testGuests(guestDir string) ([]uroot.Record, error) {
	elf, err := os.ReadFile(filepath.Join(guestDir, "testguest.elf"))
	if errors.Is(err, os.ErrNotExist) {
		logf("no %s/testguest.elf (go run ./tools/mkguest -o %s makes it): the test-guest domUs are left out", guestDir, guestDir)
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return []uroot.Record{
		uroot.File(guestPath, 0o644, elf),
		uroot.File(guestCfgPath, 0o644, []byte(tinyCfg("testguest", "hello"))),
		uroot.File("etc/xen/tiny1.cfg", 0o644, []byte(tinyCfg("tiny1", "evtpong 1"))),
		uroot.File("etc/xen/tiny2.cfg", 0o644, []byte(tinyCfg("tiny2", "evtpong 1"))),
		uroot.File("etc/xen/hello.cfg", 0o644, []byte(tinyCfg("hello", "hello"))),
	}, nil
}

// baseBuild describes the u-root part of the image.
func baseBuild(dir string) *uroot.Build {
	args := []string{
		"-build=bb",
		"-go-build-tags=goshsmall", // gosh without a line editor: serial-console friendly
		"-initcmd=init",
		"-defaultsh=gosh",
		"-uinitcmd=", // bin/uinit is dom0init, added after
	}
	for _, c := range commands {
		args = append(args, uroot.Module+"/cmds/"+c)
	}
	return &uroot.Build{Recipe: recipe, Args: args, Out: filepath.Join(dir, "base.cpio"), Check: checkBase, Logf: logf}
}

// checkBase checks the u-root part has what dom0init relies on, and no
// uinit of its own.
func checkBase(recs []uroot.Record) error {
	wants := []uroot.Want{
		{Name: "init", Type: cpio.S_IFLNK, Data: "bbin/init"},
		{Name: "bbin/bb", Type: cpio.S_IFREG},
		{Name: "bin/defaultsh", Type: cpio.S_IFLNK, Data: "../bbin/gosh"},
		{Name: "dev/console", Type: cpio.S_IFCHR},
	}
	for _, c := range commands {
		wants = append(wants, uroot.Want{Name: "bbin/" + path.Base(c), Type: cpio.S_IFLNK, Data: "bb"})
	}
	err := uroot.Check(recs, wants)
	for _, r := range recs {
		if r.Name == "bin/uinit" || r.Name == "bbin/uinit" {
			err = errors.Join(err, fmt.Errorf("the u-root part has its own %s", r.Name))
		}
	}
	return err
}

// buildProgram builds one of GoZen's dom0 programs, static, for the image.
func buildProgram(pkg string) ([]byte, error) {
	root, err := uroot.ModuleRoot()
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "mkdom0-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, path.Base(pkg))
	if _, err := uroot.GoCmd(root, uroot.TargetEnv, "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./"+pkg); err != nil {
		return nil, err
	}
	return os.ReadFile(bin)
}

// bzImageRelease returns the kernel release of a bzImage: the first word
// of the version string its setup header points at (Linux boot protocol
// 2.00+: kernel_version at 0x20e, an offset from 0x200).
func bzImageRelease(bz []byte) (string, error) {
	if len(bz) < 0x210 || string(bz[0x202:0x206]) != "HdrS" {
		return "", errors.New("not a bzImage (no HdrS setup header)")
	}
	off := int(binary.LittleEndian.Uint16(bz[0x20e:])) + 0x200
	if off >= len(bz) || binary.LittleEndian.Uint16(bz[0x20e:]) == 0 {
		return "", errors.New("no kernel_version string")
	}
	s := bz[off:]
	if i := bytes.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	f := strings.Fields(string(s))
	if len(f) == 0 {
		return "", errors.New("empty kernel_version string")
	}
	return f[0], nil
}

// readLines returns a file's non-empty lines.
func readLines(p string) ([]string, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			out = append(out, l)
		}
	}
	return out, sc.Err()
}

// tree is a kernel's modules directory.
type tree struct {
	dir, release string
	order        []string          // modules.order paths
	byName       map[string]string // normalized name -> path
	builtin      map[string]bool   // normalized names built into the kernel
}

func openTree(dir, release string) (*tree, error) {
	t := &tree{dir: dir, release: release, byName: map[string]string{}, builtin: map[string]bool{}}
	var err error
	if t.order, err = readLines(filepath.Join(dir, "modules.order")); err != nil {
		return nil, err
	}
	for _, p := range t.order {
		t.byName[kmod.NameFromPath(p)] = p
	}
	builtin, err := readLines(filepath.Join(dir, "modules.builtin"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	for _, p := range builtin {
		t.builtin[kmod.NameFromPath(p)] = true
	}
	return t, nil
}

// closure returns the modules names need, dependencies included, in
// modules.order's order. A name built into the kernel is left out (and
// logged); one in neither list, or a module built for another release, is
// an error.
func (t *tree) closure(names []string) ([]kmod.Module, []string, error) {
	got := map[string]kmod.Module{}
	var roots []string
	var errs []error
	var visit func(name, from string)
	visit = func(name, from string) {
		n := kmod.Normalize(name)
		if _, ok := got[n]; ok {
			return
		}
		p, ok := t.byName[n]
		if !ok {
			switch {
			case t.builtin[n]:
				logf("%s is built into the kernel", name)
			case from != "":
				errs = append(errs, fmt.Errorf("%s depends on %s, which the modules tree lacks", from, name))
			default:
				errs = append(errs, fmt.Errorf("no module %s in %s", name, t.dir))
			}
			return
		}
		info, err := readInfo(filepath.Join(t.dir, p))
		if err != nil {
			errs = append(errs, err)
			return
		}
		if r := info.Release(); r != t.release {
			errs = append(errs, fmt.Errorf("%s was built for %q, not the kernel's %s", p, r, t.release))
			return
		}
		got[n] = kmod.Module{Path: p, Info: info}
		for _, d := range info.Depends {
			visit(d, n)
		}
	}
	for _, name := range names {
		visit(name, "")
		if _, ok := got[kmod.Normalize(name)]; ok {
			roots = append(roots, name)
		}
	}
	if len(errs) > 0 {
		return nil, nil, errors.Join(errs...)
	}
	var mods []kmod.Module
	for _, p := range t.order {
		if m, ok := got[kmod.NameFromPath(p)]; ok {
			mods = append(mods, m)
		}
	}
	return mods, roots, nil
}

func readInfo(p string) (kmod.Info, error) {
	f, err := os.Open(p)
	if err != nil {
		return kmod.Info{}, err
	}
	defer f.Close()
	info, err := kmod.ReadInfo(f)
	if err != nil {
		return kmod.Info{}, fmt.Errorf("%s: %w", p, err)
	}
	return info, nil
}

// softdepNotes returns a line for each pre-softdep of mods that no module
// of mods provides (by name or alias): the kernel may ask for it through
// a modprobe the image does not run.
func softdepNotes(mods []kmod.Module) []string {
	provides := map[string]bool{}
	for _, m := range mods {
		provides[m.Name()] = true
		for _, a := range m.Info.Aliases {
			provides[a] = true
		}
	}
	var out []string
	for _, m := range mods {
		for _, s := range m.Info.SoftPre {
			if !provides[s] && !provides[kmod.Normalize(s)] {
				out = append(out, fmt.Sprintf("%s's softdep %s is in no module of the image", m.Name(), s))
			}
		}
	}
	sort.Strings(out)
	return out
}

// moduleRecords returns the image's module files and lists for names.
func moduleRecords(dir, release string, names []string) ([]uroot.Record, error) {
	t, err := openTree(dir, release)
	if err != nil {
		return nil, err
	}
	mods, roots, err := t.closure(names)
	if err != nil {
		return nil, err
	}
	dep, err := kmod.Dep(mods)
	if err != nil {
		return nil, err
	}
	for _, n := range softdepNotes(mods) {
		logf("warning: %s", n)
	}
	base := "lib/modules/" + release + "/"
	var recs []uroot.Record
	var order strings.Builder
	size := 0
	for _, m := range mods {
		b, err := os.ReadFile(filepath.Join(dir, m.Path))
		if err != nil {
			return nil, err
		}
		size += len(b)
		recs = append(recs, uroot.File(base+m.Path, 0o644, b))
		fmt.Fprintln(&order, m.Path)
	}
	builtin, err := os.ReadFile(filepath.Join(dir, "modules.builtin"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	list := "# Modules dom0init loads, in this order (each after what modules.dep says it needs).\n" +
		strings.Join(roots, "\n") + "\n"
	recs = append(recs,
		uroot.File(base+"modules.dep", 0o644, dep),
		uroot.File(base+"modules.alias", 0o644, kmod.Alias(mods)),
		uroot.File(base+"modules.order", 0o644, []byte(order.String())),
		uroot.File(base+"modules.builtin", 0o644, builtin),
		uroot.File(listPath, 0o644, []byte(list)),
	)
	logf("%d modules (%s) for Linux %s: %d to load, the rest their dependencies", len(mods), uroot.Size(size), release, len(roots))
	return recs, nil
}

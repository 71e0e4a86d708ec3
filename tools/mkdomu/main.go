// Command mkdomu builds the guest assets for booting Debian's unmodified
// Linux kernel as a PVH domU: a small u-root initramfs and, from the bzImage
// scripts/get-kernel.sh downloads, the ELF vmlinux that GoZen (and QEMU)
// boot through the PVH entry point.
//
//	go run ./tools/mkdomu [-o out/linux] [-vmlinux] [-force] [-list]
//
// It writes, in the output directory:
//
//	initramfs.cpio        newc cpio: a u-root busybox (bb mode) with init, the
//	                      gosh shell and core commands; init loads the PV
//	                      front ends, ext4, xen-evtchn and xen-gntalloc
//	                      (lib/modules/NN-NAME.ko, from
//	                      OUTDIR/modules/RELEASE), prints GOZEN-USERSPACE-UP,
//	                      then runs the shell on the console (hvc0 under
//	                      Xen, or whatever console= says)
//	initramfs.stamp       what the cpio was built from
//	vmlinux               with -vmlinux: the ELF kernel extracted from vmlinuz
//	vmlinux.stamp         what vmlinux was extracted from
//
// The initramfs is built by tools/internal/uroot (the u-root builder go.mod
// pins; see there). Both outputs are rebuilt only when their inputs change:
// the u-root version and checksum, the Go version, the command list and
// options for the initramfs; the vmlinuz checksum for vmlinux. -force
// rebuilds.
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/u-root/u-root/pkg/cpio"

	"gozen/loader"
	"gozen/tools/internal/uroot"
)

// Marker is the line the initramfs prints when userspace starts, before
// the shell: tests wait for it.
const Marker = "GOZEN-USERSPACE-UP"

// commands are the u-root commands in the initramfs (cmds/core/...).
var commands = []string{
	"init", "gosh",
	"cat", "cp", "date", "dmesg", "echo", "false", "free", "grep", "hexdump",
	"ls", "mkdir", "mount", "mv", "poweroff", "printenv", "ps", "pwd", "rm",
	"shutdown", "sleep", "sync", "true", "umount", "uname", "uptime", "wc",
	// networking over netfront (scenario xl-net)
	"ip", "ping",
	// raw checks of a PV disk
	"dd", "shasum",
}

// modules are the kernel modules the domU loads at boot, in this order
// (each after the ones it depends on; TestModulesOrder checks that
// against the modules' .modinfo): Debian builds the PV disk and network
// front ends as modules, and ext4 mounts a PV disk (scenario xl-disk).
// They are shipped as lib/modules/NN-NAME.ko, NN their place in the order:
// u-root's init loads /lib/modules/*.ko in name order before uinit (outside
// Xen the front ends refuse, ENODEV, one log line each).
var modules = []string{
	"kernel/drivers/block/xen-blkfront.ko",
	"kernel/drivers/net/xen-netfront.ko",
	"kernel/lib/crc16.ko",
	// jbd2's and ext4's softdep (pre: crypto-crc32c): metadata_csum
	// needs crc32c.
	"kernel/crypto/crc32c_generic.ko",
	"kernel/fs/mbcache.ko",
	"kernel/fs/jbd2/jbd2.ko",
	"kernel/fs/ext4/ext4.ko",
	// /dev/xen/evtchn and /dev/xen/gntalloc, for a front end in
	// userspace (dom0/cmd/hostilefe, scenario xl-hostile-io)
	"kernel/drivers/xen/xen-evtchn.ko",
	"kernel/drivers/xen/xen-gntalloc.ko",
}

// moduleName is where module i (path p) is in the image.
func moduleName(i int, p string) string {
	return fmt.Sprintf("lib/modules/%02d-%s", i+1, filepath.Base(p))
}

// gozenCommands are GoZen's own guest commands (package main directories
// of this module), built for the target and added as bin/NAME, with
// symlinks bin/LINK -> NAME for the names they answer to. links also
// gives Linux its /sbin/poweroff: a Xen toolstack's shutdown request
// (control/shutdown = poweroff) makes the kernel run that path
// (orderly_poweroff), and u-root has the command only in bbin.
var gozenCommands = []struct {
	pkg   string
	names []string
}{
	{"dom0/cmd/xenstore", []string{"xenstore-read", "xenstore-write", "xenstore-ls", "xenstore-list", "xenstore-rm"}},
	{"dom0/cmd/tcpbench", nil},
	{"dom0/cmd/blkbench", nil},
	{"dom0/cmd/hostilefe", nil},
}

var links = [][2]string{{"sbin/poweroff", "../bbin/poweroff"}}

// targetEnv is how GoZen's own commands are built: static, for the
// baseline x86-64 level (QEMU's qemu64 CPU has nothing newer).
var targetEnv = []string{"GOOS=linux", "GOARCH=amd64", "GOAMD64=v1", "CGO_ENABLED=0"}

// uinitCmd is what u-root's init runs after setting up the system. It must
// not exit: init starts each command as a session leader with the console
// as its controlling tty, and when a session leader exits the kernel hangs
// up the tty, breaking the console output of the commands init starts
// after it. So the marker is printed by the shell that then runs the
// interactive shells, one after another.
const uinitCmd = "gosh -c 'echo " + Marker + "; while true; do gosh; done'"

// recipe is bumped whenever the way the initramfs is built changes in a way
// the other inputs of the cache key do not show.
const recipe = "mkdomu-initramfs-4"

func main() {
	out := flag.String("o", "out/linux", "output directory")
	doInitramfs := flag.Bool("initramfs", true, "build initramfs.cpio")
	doVmlinux := flag.Bool("vmlinux", false, "extract vmlinux from the kernel bzImage (see -kernel)")
	kernel := flag.String("kernel", "", "the bzImage for -vmlinux (default: vmlinuz in the output directory, from scripts/get-kernel.sh)")
	force := flag.Bool("force", false, "rebuild even when the outputs are up to date")
	list := flag.Bool("list", false, "list the initramfs contents")
	verbose := flag.Bool("v", false, "show the u-root build's output")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: go run ./tools/mkdomu [flags]\n\nBuilds the Linux domU initramfs and, with -vmlinux, extracts the kernel.\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fatal(err)
	}
	if *doInitramfs {
		b, err := initramfsBuild(*out)
		if err != nil {
			fatal(fmt.Errorf("initramfs: %w", err))
		}
		if err := b.Run(*force, *verbose); err != nil {
			fatal(fmt.Errorf("initramfs: %w", err))
		}
		if *list {
			if err := listInitramfs(filepath.Join(*out, "initramfs.cpio")); err != nil {
				fatal(err)
			}
		}
	}
	if *doVmlinux {
		if *kernel == "" {
			*kernel = filepath.Join(*out, "vmlinuz")
		}
		if err := extractVmlinux(*kernel, *out, *force); err != nil {
			fatal(fmt.Errorf("vmlinux: %w", err))
		}
	}
}

func fatal(err error) {
	fmt.Fprintf(os.Stderr, "mkdomu: %v\n", err)
	os.Exit(1)
}

func logf(format string, args ...any) {
	fmt.Printf("mkdomu: "+format+"\n", args...)
}

// urootArgs returns the u-root builder's arguments, without -o; files are
// extra -files arguments (buildGozenCommands).
func urootArgs(files ...string) []string {
	args := []string{
		"-build=bb",
		// gosh's plain line-reading interactive mode: no line editor
		// escape sequences on the serial console, and input can be
		// scripted.
		"-go-build-tags=goshsmall",
		"-initcmd=init",
		"-defaultsh=gosh",
		"-uinitcmd=" + uinitCmd,
	}
	args = append(args, files...)
	for _, c := range commands {
		args = append(args, uroot.Module+"/cmds/core/"+c)
	}
	return args
}

// initramfsBuild describes the domU initramfs in outDir, after building
// GoZen's own commands into outDir/gozen-bin (a stable path, so the u-root
// arguments and with them the cache key stay the same between runs; the
// binaries' checksums go into the recipe).
func initramfsBuild(outDir string) (*uroot.Build, error) {
	dir, err := filepath.Abs(filepath.Join(outDir, "gozen-bin")) // the builder runs in u-root's module
	if err != nil {
		return nil, err
	}
	files, key, err := buildGozenCommands(dir)
	if err != nil {
		return nil, err
	}
	modFiles, modKey, err := moduleFiles(outDir)
	if err != nil {
		return nil, err
	}
	files = append(files, modFiles...)
	return &uroot.Build{
		Recipe: recipe + " gozen:" + key + " modules:" + modKey,
		Args:   urootArgs(files...),
		Out:    filepath.Join(outDir, "initramfs.cpio"),
		Check:  checkInitramfs,
		Logf:   logf,
	}, nil
}

// buildGozenCommands builds gozenCommands into dir, makes their symlinks
// and the other links there, and returns the u-root builder's -files
// arguments that add them and a key naming the binaries' contents (the
// build is reproducible: -trimpath, no VCS stamp).
func buildGozenCommands(dir string) (files []string, key string, err error) {
	root, err := uroot.ModuleRoot()
	if err != nil {
		return nil, "", err
	}
	if err := os.RemoveAll(dir); err != nil {
		return nil, "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, "", err
	}
	h := sha256.New()
	for _, c := range gozenCommands {
		name := filepath.Base(c.pkg)
		bin := filepath.Join(dir, name)
		if _, err := uroot.GoCmd(root, targetEnv, "build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w", "-o", bin, "./"+c.pkg); err != nil {
			return nil, "", err
		}
		sum, err := uroot.FileSHA256(bin)
		if err != nil {
			return nil, "", err
		}
		fmt.Fprintf(h, "%s %s %v\n", c.pkg, sum, c.names)
		files = append(files, "-files", bin+":bin/"+name)
		for _, n := range c.names {
			if err := os.Symlink(name, filepath.Join(dir, n)); err != nil {
				return nil, "", err
			}
			files = append(files, "-files", filepath.Join(dir, n)+":bin/"+n)
		}
	}
	for _, lt := range links {
		l, target := lt[0], lt[1]
		p := filepath.Join(dir, strings.ReplaceAll(l, "/", "_"))
		if err := os.Symlink(target, p); err != nil {
			return nil, "", err
		}
		files = append(files, "-files", p+":"+l)
		fmt.Fprintf(h, "link %s %s\n", l, target)
	}
	return files, hex.EncodeToString(h.Sum(nil))[:16], nil
}

// kernelRelease is the release of the kernel scripts/get-kernel.sh
// fetched (the release= line of OUTDIR/VERSION).
func kernelRelease(outDir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(outDir, "VERSION"))
	if err != nil {
		return "", fmt.Errorf("%v (scripts/get-kernel.sh writes it)", err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if r, ok := strings.CutPrefix(l, "release="); ok && r != "" {
			return r, nil
		}
	}
	return "", fmt.Errorf("%s/VERSION has no release= line", outDir)
}

// moduleFiles returns the u-root builder's -files arguments adding the
// modules from OUTDIR/modules/RELEASE (get-kernel.sh keeps the tree), and
// a key naming their contents.
func moduleFiles(outDir string) (files []string, key string, err error) {
	release, err := kernelRelease(outDir)
	if err != nil {
		return nil, "", err
	}
	dir, err := filepath.Abs(filepath.Join(outDir, "modules", release))
	if err != nil {
		return nil, "", err
	}
	h := sha256.New()
	for i, m := range modules {
		p := filepath.Join(dir, m)
		sum, err := uroot.FileSHA256(p)
		if err != nil {
			return nil, "", fmt.Errorf("module %s: %v (scripts/get-kernel.sh keeps the modules tree)", m, err)
		}
		fmt.Fprintf(h, "%s %s\n", m, sum)
		files = append(files, "-files", p+":"+moduleName(i, m))
	}
	return files, hex.EncodeToString(h.Sum(nil))[:16], nil
}

// checkInitramfs checks that the archive has what the domU tests rely on.
func checkInitramfs(recs []uroot.Record) error {
	wants := []uroot.Want{
		{Name: "init", Type: cpio.S_IFLNK, Data: "bbin/init"},
		{Name: "bbin/bb", Type: cpio.S_IFREG},
		{Name: "bin/defaultsh", Type: cpio.S_IFLNK, Data: "../bbin/gosh"},
		{Name: "bin/uinit", Type: cpio.S_IFLNK, Data: "../bbin/gosh"},
		{Name: "dev/console", Type: cpio.S_IFCHR},
	}
	for _, c := range commands {
		wants = append(wants, uroot.Want{Name: "bbin/" + c, Type: cpio.S_IFLNK, Data: "bb"})
	}
	for _, c := range gozenCommands {
		name := filepath.Base(c.pkg)
		wants = append(wants, uroot.Want{Name: "bin/" + name, Type: cpio.S_IFREG})
		for _, n := range c.names {
			wants = append(wants, uroot.Want{Name: "bin/" + n, Type: cpio.S_IFLNK, Data: name})
		}
	}
	for _, l := range links {
		wants = append(wants, uroot.Want{Name: l[0], Type: cpio.S_IFLNK, Data: l[1]})
	}
	for i, m := range modules {
		wants = append(wants, uroot.Want{Name: moduleName(i, m), Type: cpio.S_IFREG})
	}
	return uroot.Check(recs, wants)
}

func listInitramfs(path string) error {
	recs, err := uroot.ReadArchiveFile(path)
	if err != nil {
		return err
	}
	for _, r := range recs {
		fmt.Println(r)
	}
	return nil
}

func extractVmlinux(kernel, outDir string, force bool) error {
	start := time.Now()
	outPath := filepath.Join(outDir, "vmlinux")
	stampPath := filepath.Join(outDir, "vmlinux.stamp")
	bz, err := os.ReadFile(kernel)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%v (run scripts/get-kernel.sh first)", err)
		}
		return err
	}
	bzSum := sha256.Sum256(bz)
	bzHex := hex.EncodeToString(bzSum[:])
	if st := uroot.ReadStamp(stampPath); !force && st["vmlinuz-sha256"] == bzHex {
		if sum, err := uroot.FileSHA256(outPath); err == nil && sum == st["vmlinux-sha256"] {
			logf("up to date: %s (from %s, PVH entry %s)", outPath, kernel, st["entry"])
			return nil
		}
	}
	if !loader.IsBzImage(bz) {
		return fmt.Errorf("%s is not a bzImage", kernel)
	}
	vmlinux, err := loader.ExtractVmlinux(bz)
	if err != nil {
		return fmt.Errorf("%s: %w", kernel, err)
	}
	im, err := loader.ParseELF(vmlinux)
	if err != nil {
		return err
	}
	if err := uroot.WriteFileAtomic(outPath, vmlinux); err != nil {
		return err
	}
	sum := sha256.Sum256(vmlinux)
	entry := fmt.Sprintf("%#x", im.Entry32)
	if err := uroot.WriteStamp(stampPath, [][2]string{
		{"vmlinuz-sha256", bzHex},
		{"vmlinux-sha256", hex.EncodeToString(sum[:])},
		{"entry", entry},
	}); err != nil {
		return err
	}
	logf("wrote %s (%s, ELF%d, PVH entry %s, %d segments) from %s (%s) in %.1fs",
		outPath, uroot.Size(len(vmlinux)), im.Class, entry, len(im.Segments), kernel, uroot.Size(len(bz)), time.Since(start).Seconds())
	return nil
}

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
//	                      gosh shell and core commands; init prints
//	                      GOZEN-USERSPACE-UP, then runs the shell on the
//	                      console (hvc0 under Xen, or whatever console= says)
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
}

// uinitCmd is what u-root's init runs after setting up the system. It must
// not exit: init starts each command as a session leader with the console
// as its controlling tty, and when a session leader exits the kernel hangs
// up the tty, breaking the console output of the commands init starts
// after it. So the marker is printed by the shell that then runs the
// interactive shells, one after another.
const uinitCmd = "gosh -c 'echo " + Marker + "; while true; do gosh; done'"

// recipe is bumped whenever the way the initramfs is built changes in a way
// the other inputs of the cache key do not show.
const recipe = "mkdomu-initramfs-1"

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
		if err := initramfsBuild(*out).Run(*force, *verbose); err != nil {
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

// urootArgs returns the u-root builder's arguments, without -o.
func urootArgs() []string {
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
	for _, c := range commands {
		args = append(args, uroot.Module+"/cmds/core/"+c)
	}
	return args
}

// initramfsBuild describes the domU initramfs in outDir.
func initramfsBuild(outDir string) *uroot.Build {
	return &uroot.Build{
		Recipe: recipe,
		Args:   urootArgs(),
		Out:    filepath.Join(outDir, "initramfs.cpio"),
		Check:  checkInitramfs,
		Logf:   logf,
	}
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

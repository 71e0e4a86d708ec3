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
// The initramfs is built with the u-root builder at the version go.mod pins
// (tool github.com/u-root/u-root), from u-root's own module, so u-root's
// go.sum pins every command's dependencies; the Go toolchain fetches them
// through the module proxy once and from its module cache after that. The
// build is reproducible (u-root strips and trims the binary and zeroes cpio
// timestamps). Both outputs are rebuilt only when their inputs change: the
// u-root version and checksum, the Go version, the command list and options
// for the initramfs; the vmlinuz checksum for vmlinux. -force rebuilds.
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"gozen/loader"
)

// Marker is the line the initramfs prints when userspace starts, before
// the shell: tests wait for it.
const Marker = "GOZEN-USERSPACE-UP"

const urootModule = "github.com/u-root/u-root"

// commands are the u-root commands in the initramfs (cmds/core/...).
var commands = []string{
	"init", "gosh",
	"cat", "cp", "date", "dmesg", "echo", "false", "free", "grep", "hexdump",
	"ls", "mkdir", "mount", "mv", "poweroff", "printenv", "ps", "pwd", "rm",
	"shutdown", "sleep", "sync", "true", "umount", "uname", "uptime", "wc",
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
}

var links = [][2]string{{"sbin/poweroff", "../bbin/poweroff"}}

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

// targetEnv is the environment of the u-root build: a static amd64 binary
// for the baseline x86-64 level (QEMU's qemu64 CPU has nothing newer).
var targetEnv = []string{
	"GOOS=linux", "GOARCH=amd64", "GOAMD64=v1", "CGO_ENABLED=0",
	"GOWORK=off", "GOFLAGS=-mod=readonly -buildvcs=false",
}

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
		if err := buildInitramfs(*out, *force, *verbose); err != nil {
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
		args = append(args, urootModule+"/cmds/core/"+c)
	}
	return args
}

// module is what `go mod download -json` says about a module.
type module struct {
	Path, Version, Sum, Dir, Error string
}

// goCmd runs the go command in dir with extra environment variables and
// returns its standard output.
func goCmd(dir string, env []string, args ...string) ([]byte, error) {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return b, nil
}

// moduleRoot returns the directory of gozen's go.mod.
func moduleRoot() (string, error) {
	b, err := goCmd("", nil, "env", "GOMOD")
	if err != nil {
		return "", err
	}
	gomod := strings.TrimSpace(string(b))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside the gozen module: run mkdomu from the repository")
	}
	return filepath.Dir(gomod), nil
}

// urootSource downloads (or finds in the module cache) the u-root module at
// the version go.mod requires; the go command checks it against go.sum.
func urootSource(root string) (*module, error) {
	b, err := goCmd(root, nil, "mod", "download", "-json", urootModule)
	if err != nil {
		return nil, err
	}
	var m module
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("go mod download -json: %v", err)
	}
	if m.Error != "" {
		return nil, fmt.Errorf("go mod download %s: %s", urootModule, m.Error)
	}
	if m.Dir == "" || m.Version == "" {
		return nil, fmt.Errorf("go mod download %s: no directory or version", urootModule)
	}
	return &m, nil
}

// initramfsKey hashes everything the initramfs is built from; extra is
// the key of GoZen's own commands (buildGozenCommands).
func initramfsKey(goVersion string, m *module, extra string) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n%s %s %s\n", recipe, goVersion, m.Path, m.Version, m.Sum)
	for _, s := range targetEnv {
		fmt.Fprintf(h, "env %s\n", s)
	}
	for _, s := range urootArgs() {
		fmt.Fprintf(h, "arg %s\n", s)
	}
	fmt.Fprintf(h, "gozen %s\n", extra)
	return hex.EncodeToString(h.Sum(nil))
}

func fileSHA256(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:]), nil
}

// readStamp reads a stamp file of "key value" lines.
func readStamp(path string) map[string]string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	m := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, " "); ok {
			m[k] = v
		}
	}
	return m
}

func writeStamp(path string, kv [][2]string) error {
	var b strings.Builder
	for _, p := range kv {
		fmt.Fprintf(&b, "%s %s\n", p[0], p[1])
	}
	return writeFileAtomic(path, []byte(b.String()))
}

// writeFileAtomic writes path through a temporary file and a rename, so an
// interrupted run never leaves a truncated output behind.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	_, werr := f.Write(data)
	cerr := f.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(f.Name(), 0o644)
	}
	if werr == nil {
		werr = os.Rename(f.Name(), path)
	}
	if werr != nil {
		os.Remove(f.Name())
	}
	return werr
}

func buildInitramfs(outDir string, force, verbose bool) error {
	start := time.Now()
	cpioPath := filepath.Join(outDir, "initramfs.cpio")
	stampPath := filepath.Join(outDir, "initramfs.stamp")

	root, err := moduleRoot()
	if err != nil {
		return err
	}
	b, err := goCmd(root, nil, "env", "GOVERSION")
	if err != nil {
		return err
	}
	goVersion := strings.TrimSpace(string(b))
	m, err := urootSource(root)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "mkdomu-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	files, extra, err := buildGozenCommands(root, tmp)
	if err != nil {
		return err
	}
	key := initramfsKey(goVersion, m, extra)

	if st := readStamp(stampPath); !force && st["key"] == key {
		if sum, err := fileSHA256(cpioPath); err == nil && sum == st["sha256"] {
			logf("up to date: %s (u-root %s, %s, sha256 %s)", cpioPath, m.Version, goVersion, sum)
			return nil
		}
	}

	// The builder, built in gozen's module: the version go.mod pins.
	logf("building the u-root %s builder", m.Version)
	builder := filepath.Join(tmp, "u-root")
	if _, err := goCmd(root, []string{"CGO_ENABLED=0"}, "build", "-o", builder, urootModule); err != nil {
		return err
	}

	// The commands, built in u-root's module (the module cache copy is
	// read-only; nothing is written there).
	logf("building the initramfs: %d commands with %s for linux/amd64", len(commands), goVersion)
	out := filepath.Join(tmp, "initramfs.cpio")
	cmd := exec.Command(builder, append(append([]string{"-o", out}, files...), urootArgs()...)...)
	cmd.Dir = m.Dir
	cmd.Env = append(os.Environ(), targetEnv...)
	cmd.Env = append(cmd.Env, "TMPDIR="+tmp)
	var log bytes.Buffer
	if verbose {
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	} else {
		cmd.Stdout, cmd.Stderr = &log, &log
	}
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("u-root: %v\n%s", err, log.Bytes())
	}

	data, err := os.ReadFile(out)
	if err != nil {
		return err
	}
	if err := checkInitramfs(data); err != nil {
		return fmt.Errorf("the u-root output is not as expected: %w", err)
	}
	if err := writeFileAtomic(cpioPath, data); err != nil {
		return err
	}
	sum := sha256.Sum256(data)
	if err := writeStamp(stampPath, [][2]string{
		{"key", key},
		{"sha256", hex.EncodeToString(sum[:])},
		{"u-root", m.Version + " " + m.Sum},
		{"go", goVersion},
	}); err != nil {
		return err
	}
	logf("wrote %s (%s, sha256 %x) in %.1fs", cpioPath, size(len(data)), sum, time.Since(start).Seconds())
	return nil
}

// checkInitramfs checks that the archive has what the domU tests rely on.
func checkInitramfs(data []byte) error {
	entries, err := readCpio(data)
	if err != nil {
		return err
	}
	byName := map[string]cpioEntry{}
	for _, e := range entries {
		byName[e.Name] = e
	}
	want := func(name string, mode uint32, data string) error {
		e, ok := byName[name]
		switch {
		case !ok:
			return fmt.Errorf("no %s", name)
		case e.Mode&sIFMT != mode:
			return fmt.Errorf("%s has mode %#o", name, e.Mode)
		case data != "" && string(e.Data) != data:
			return fmt.Errorf("%s is %q, want %q", name, e.Data, data)
		}
		return nil
	}
	checks := []error{
		want("init", sIFLNK, "bbin/init"),
		want("bbin/bb", sIFREG, ""),
		want("bin/defaultsh", sIFLNK, "../bbin/gosh"),
		want("bin/uinit", sIFLNK, "../bbin/gosh"),
		want("dev/console", sIFCHR, ""),
	}
	for _, c := range commands {
		checks = append(checks, want("bbin/"+c, sIFLNK, "bb"))
	}
	for _, c := range gozenCommands {
		checks = append(checks, want("bin/"+filepath.Base(c.pkg), sIFREG, ""))
		for _, n := range c.names {
			checks = append(checks, want("bin/"+n, sIFLNK, filepath.Base(c.pkg)))
		}
	}
	for _, l := range links {
		checks = append(checks, want(l[0], sIFLNK, l[1]))
	}
	return errors.Join(checks...)
}

// buildGozenCommands builds gozenCommands into dir, makes their symlinks
// and the other links there, and returns the u-root builder's -files
// arguments that add them and a key naming the binaries' contents (the
// build is reproducible: -trimpath, no VCS stamp).
func buildGozenCommands(root, dir string) (files []string, key string, err error) {
	h := sha256.New()
	for _, c := range gozenCommands {
		pkg, names := c.pkg, c.names
		name := filepath.Base(pkg)
		bin := filepath.Join(dir, name)
		if _, err := goCmd(root, targetEnv, "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./"+pkg); err != nil {
			return nil, "", err
		}
		sum, err := fileSHA256(bin)
		if err != nil {
			return nil, "", err
		}
		fmt.Fprintf(h, "%s %s %v\n", pkg, sum, names)
		files = append(files, "-files", bin+":bin/"+name)
		for _, n := range names {
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
	return files, hex.EncodeToString(h.Sum(nil)), nil
}

func listInitramfs(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	entries, err := readCpio(data)
	if err != nil {
		return err
	}
	for _, e := range entries {
		fmt.Println(e)
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
	if st := readStamp(stampPath); !force && st["vmlinuz-sha256"] == bzHex {
		if sum, err := fileSHA256(outPath); err == nil && sum == st["vmlinux-sha256"] {
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
	if err := writeFileAtomic(outPath, vmlinux); err != nil {
		return err
	}
	sum := sha256.Sum256(vmlinux)
	entry := fmt.Sprintf("%#x", im.Entry32)
	if err := writeStamp(stampPath, [][2]string{
		{"vmlinuz-sha256", bzHex},
		{"vmlinux-sha256", hex.EncodeToString(sum[:])},
		{"entry", entry},
	}); err != nil {
		return err
	}
	logf("wrote %s (%s, ELF%d, PVH entry %s, %d segments) from %s (%s) in %.1fs",
		outPath, size(len(vmlinux)), im.Class, entry, len(im.Segments), kernel, size(len(bz)), time.Since(start).Seconds())
	return nil
}

func size(n int) string {
	return fmt.Sprintf("%d bytes, %.1f MiB", n, float64(n)/(1<<20))
}

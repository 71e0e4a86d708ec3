// Command mkiso builds a bootable GRUB 2 rescue ISO that loads hv with
// multiboot2, optionally with multiboot2 modules.
//
//	go run ./tools/mkiso -hv out/hv.bin -o out/hv.iso -cmdline "selftest loglvl=debug" \
//		[-module path[:cmdline words]]... [-timeout 0] [-print-cfg] [-keep]
//
// The ISO contains /boot/hv.bin, /boot/<module base names> and
// /boot/grub/grub.cfg. GRUB talks on COM1 at 115200 baud as well as the
// console, and boots the single "GoZen" entry after -timeout seconds.
// It needs grub-mkrescue (Debian: grub-pc-bin grub-common xorriso mtools).
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

type moduleFlags []string

func (m *moduleFlags) String() string     { return strings.Join(*m, " ") }
func (m *moduleFlags) Set(s string) error { *m = append(*m, s); return nil }

func main() {
	log := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "mkiso: "+format+"\n", args...)
	}
	var (
		hv       = flag.String("hv", "out/hv.bin", "bootable hv image (multiboot2)")
		out      = flag.String("o", "out/hv.iso", "output ISO file")
		cmdline  = flag.String("cmdline", "", "hv command line")
		timeout  = flag.Int("timeout", 0, "GRUB menu timeout in seconds (-1: wait for a key)")
		printCfg = flag.Bool("print-cfg", false, "print grub.cfg to stdout and exit")
		keep     = flag.Bool("keep", false, "keep the ISO staging directory and print its path")
		mkrescue = flag.String("grub-mkrescue", "grub-mkrescue", "grub-mkrescue program")
		modules  moduleFlags
	)
	flag.Var(&modules, "module", "multiboot2 module as path[:cmdline words] (repeatable)")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: mkiso -hv out/hv.bin -o out/hv.iso [-cmdline ARGS] [-module PATH[:ARGS]]... [-timeout N] [-print-cfg]\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 0 {
		flag.Usage()
		os.Exit(2)
	}

	cfg := Config{Cmdline: *cmdline, Timeout: *timeout}
	var files []string
	for _, arg := range modules {
		file, e, err := parseModule(arg)
		if err != nil {
			log("%v", err)
			os.Exit(2)
		}
		files = append(files, file)
		cfg.Modules = append(cfg.Modules, e)
	}
	text, err := GrubConfig(cfg)
	if err != nil {
		log("%v", err)
		os.Exit(2)
	}
	if *printCfg {
		fmt.Print(text)
		return
	}
	if err := build(*mkrescue, *hv, files, cfg, text, *out, *keep, log); err != nil {
		log("%v", err)
		os.Exit(1)
	}
}

// build stages the ISO tree in a temporary directory and runs grub-mkrescue.
func build(mkrescue, hv string, files []string, cfg Config, grubCfg, out string, keep bool, log func(string, ...any)) (err error) {
	if _, err := exec.LookPath(mkrescue); err != nil {
		return fmt.Errorf("%s not found (Debian: apt-get install grub-pc-bin grub-common xorriso mtools): %w", mkrescue, err)
	}
	dir, err := os.MkdirTemp("", "mkiso-")
	if err != nil {
		return err
	}
	if keep {
		log("staging directory kept: %s", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	boot := filepath.Join(dir, "boot")
	if err := os.MkdirAll(filepath.Join(boot, "grub"), 0o755); err != nil {
		return err
	}
	if err := copyFile(hv, filepath.Join(boot, KernelName)); err != nil {
		return fmt.Errorf("hv image: %w", err)
	}
	for i, f := range files {
		if err := copyFile(f, filepath.Join(boot, cfg.Modules[i].Name)); err != nil {
			return fmt.Errorf("module %d: %w", i, err)
		}
	}
	if err := os.WriteFile(filepath.Join(boot, "grub", "grub.cfg"), []byte(grubCfg), 0o644); err != nil {
		return err
	}

	if d := filepath.Dir(out); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	// Write next to the destination and rename, so a failed run never
	// leaves a half-written ISO behind under the real name.
	tmp, err := os.CreateTemp(filepath.Dir(out), ".mkiso-*.iso")
	if err != nil {
		return err
	}
	tmp.Close()
	defer os.Remove(tmp.Name())

	var output bytes.Buffer
	cmd := exec.Command(mkrescue, "-o", tmp.Name(), dir)
	cmd.Stdout = &output
	cmd.Stderr = &output
	if err := cmd.Run(); err != nil {
		os.Stderr.Write(output.Bytes())
		return fmt.Errorf("%s failed: %w", mkrescue, err)
	}
	if fi, err := os.Stat(tmp.Name()); err != nil || fi.Size() == 0 {
		os.Stderr.Write(output.Bytes())
		return errors.New(mkrescue + " produced no image")
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), out)
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if fi, err := in.Stat(); err != nil {
		return err
	} else if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s: not a regular file", src)
	}
	o, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(o, in); err != nil {
		o.Close()
		return err
	}
	return o.Close()
}

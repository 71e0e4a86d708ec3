// Command mkimage builds GoZen's bootable hypervisor image with the stock Go
// toolchain:
//
//	go run ./tools/mkimage [-o out] [-tags testhooks] [-pkg ./cmd/hv]
//
// It runs `go build` for GOOS=linux GOARCH=amd64 CGO_ENABLED=0 (hv is a static
// Linux program whose system calls GoZen's rt package serves at ring 0), then
// converts the ELF into a flat multiboot image (see package boot/image):
//
//	out/hv.elf  the linked program, with symbols (for addr2line, gdb, objdump)
//	out/hv.bin  the bootable image: QEMU -kernel, GRUB multiboot or multiboot2
package main

import (
	"debug/elf"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"gozen/boot/image"
)

func main() {
	out := flag.String("o", "out", "output directory")
	tags := flag.String("tags", "", "build tags (e.g. testhooks)")
	pkg := flag.String("pkg", "./cmd/hv", "package to build")
	elfIn := flag.String("elf", "", "convert this ELF instead of building")
	flag.Parse()
	if err := run(*out, *tags, *pkg, *elfIn); err != nil {
		fmt.Fprintln(os.Stderr, "mkimage:", err)
		os.Exit(1)
	}
}

func run(out, tags, pkg, elfIn string) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	elfPath := elfIn
	if elfPath == "" {
		elfPath = filepath.Join(out, "hv.elf")
		args := []string{"build", "-o", elfPath, "-trimpath", "-ldflags=-T=0xa01000"}
		if tags != "" {
			args = append(args, "-tags", tags)
		}
		args = append(args, pkg)
		cmd := exec.Command("go", args...)
		cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=amd64", "CGO_ENABLED=0", "GOAMD64=v1")
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("go build: %w", err)
		}
	}
	prog, err := readProgram(elfPath)
	if err != nil {
		return err
	}
	img, l, err := image.Build(prog)
	if err != nil {
		return err
	}
	bin := filepath.Join(out, "hv.bin")
	if err := os.WriteFile(bin, img, 0o644); err != nil {
		return err
	}
	fmt.Printf("mkimage: %s: %d bytes, loads at %#x, ends at %#x (bss and boot tables included), entry %#x\n",
		bin, len(img), l.ImageStart, l.ImageEnd, l.StubEntry)
	return nil
}

// Symbols mkimage needs from the program.
const (
	symEntry64 = "gozen/rt.entry64"
	symLayout  = "gozen/rt.imageLayout"
)

func readProgram(path string) (image.Program, error) {
	var p image.Program
	f, err := elf.Open(path)
	if err != nil {
		return p, err
	}
	defer f.Close()
	if f.Class != elf.ELFCLASS64 || f.Machine != elf.EM_X86_64 {
		return p, errors.New("not an x86-64 ELF64 file")
	}
	p.Entry = f.Entry
	for _, ph := range f.Progs {
		if ph.Type != elf.PT_LOAD {
			continue
		}
		data := make([]byte, ph.Filesz)
		if _, err := ph.ReadAt(data, 0); err != nil {
			return p, fmt.Errorf("reading segment at %#x: %w", ph.Vaddr, err)
		}
		p.Segments = append(p.Segments, image.Segment{
			Vaddr: ph.Vaddr, Data: data, Memsz: ph.Memsz,
			Exec: ph.Flags&elf.PF_X != 0, Write: ph.Flags&elf.PF_W != 0,
		})
	}
	if s := f.Section(".text"); s != nil {
		p.TextStart = s.Addr
	}
	syms, err := f.Symbols()
	if err != nil {
		return p, fmt.Errorf("symbols: %w", err)
	}
	for _, s := range syms {
		switch s.Name {
		case symEntry64, symEntry64 + ".abi0":
			p.Entry64 = s.Value
		case symLayout:
			p.LayoutSym = s.Value
		}
	}
	if p.Entry64 == 0 || p.LayoutSym == 0 {
		return p, fmt.Errorf("%s or %s missing: is the program built on gozen/rt?", symEntry64, symLayout)
	}
	return p, nil
}

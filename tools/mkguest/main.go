// Command mkguest builds GoZen's freestanding test guests with the GNU assembler and
// linker (Debian package binutils):
//
//	go run ./tools/mkguest [-o out/guests] [-src guests]
//
// Each directory guests/<name>/ holding a guest.ld is one guest: every *.S file in it is
// assembled with `as --64` (sorted by name), and the objects are linked with
// `ld -T guest.ld` into <out>/<name>.elf. The result is then checked the way hv's loader
// reads it (see check.go): ELF64 x86-64, PT_LOAD segments at their physical addresses,
// and a PT_NOTE holding the Xen PVH entry note (type 18). Today there is one guest,
// testguest; guests/README.md describes its modes.
//
// The output depends only on the sources and the binutils version: no build ID, no
// time stamps, and the assembler sees bare file names (it runs in the source directory).
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

func main() {
	out := flag.String("o", "out/guests", "output directory")
	src := flag.String("src", "", "directory of guest sources (default: guests/ at the module root)")
	flag.Parse()
	if err := run(*src, *out); err != nil {
		fmt.Fprintln(os.Stderr, "mkguest:", err)
		os.Exit(1)
	}
}

func run(src, out string) error {
	if src == "" {
		root, err := moduleRoot()
		if err != nil {
			return err
		}
		src = filepath.Join(root, "guests")
	}
	tc, err := findToolchain()
	if err != nil {
		return err
	}
	names, err := guestDirs(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	for _, name := range names {
		path, err := tc.build(filepath.Join(src, name), out, name)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		info, err := checkGuest(path, LoadAddr)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		fmt.Printf("mkguest: %s: entry %#x, loaded at [%#x, %#x)\n", path, info.Entry, info.Start, info.End)
		if name == "testguest" {
			if err := writeNoNote(path, filepath.Join(out, "nonote.elf")); err != nil {
				return err
			}
			// The same guest linked at 16 MiB, where a dom0's kernel loads
			// (hv gives dom0 the host's RAM from 16 MiB): the test guest
			// as dom0 (its `toolstack` mode).
			hi, err := tc.build(filepath.Join(src, name), out, name+"-dom0", fmt.Sprintf("--defsym=__load_base=%#x", Dom0LoadAddr))
			if err != nil {
				return fmt.Errorf("%s at 16 MiB: %w", name, err)
			}
			info, err := checkGuest(hi, Dom0LoadAddr)
			if err != nil {
				return fmt.Errorf("%s: %w", hi, err)
			}
			fmt.Printf("mkguest: %s: entry %#x, loaded at [%#x, %#x)\n", hi, info.Entry, info.Start, info.End)
		}
	}
	return nil
}

// writeNoNote writes a copy of the guest whose PVH note has another type,
// for the test that hv refuses a kernel without a PVH entry.
func writeNoNote(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	// The note header: namesz 4, descsz 4, type 18, "Xen\0".
	hdr := []byte{4, 0, 0, 0, 4, 0, 0, 0, 18, 0, 0, 0, 'X', 'e', 'n', 0}
	i := bytes.Index(b, hdr)
	if i < 0 || bytes.Index(b[i+1:], hdr) >= 0 {
		return fmt.Errorf("%s: expected exactly one PVH note", src)
	}
	b[i+8] = 0x7f // an unassigned note type
	return os.WriteFile(dst, b, 0o644)
}

// toolchain holds the paths of the binutils programs.
type toolchain struct{ as, ld string }

// findToolchain locates as and ld on PATH.
func findToolchain() (toolchain, error) {
	var tc toolchain
	var missing []string
	for _, t := range []struct {
		name string
		dst  *string
	}{{"as", &tc.as}, {"ld", &tc.ld}} {
		p, err := exec.LookPath(t.name)
		if err != nil {
			missing = append(missing, t.name)
			continue
		}
		*t.dst = p
	}
	if len(missing) > 0 {
		return tc, fmt.Errorf("%s not found on PATH: install GNU binutils (apt-get install binutils)",
			strings.Join(missing, " and "))
	}
	return tc, nil
}

// build assembles and links the guest in dir into out/name.elf and returns that path.
func (tc toolchain) build(dir, out, name string, ldArgs ...string) (string, error) {
	sources, err := filepath.Glob(filepath.Join(dir, "*.S"))
	if err != nil {
		return "", err
	}
	if len(sources) == 0 {
		return "", fmt.Errorf("no .S files in %s", dir)
	}
	sort.Strings(sources)
	tmp, err := os.MkdirTemp(out, ".mkguest-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	tmp, err = filepath.Abs(tmp)
	if err != nil {
		return "", err
	}

	var objs []string
	for _, s := range sources {
		base := filepath.Base(s)
		obj := filepath.Join(tmp, strings.TrimSuffix(base, ".S")+".o")
		// Run in dir with the bare file name, so that .include finds defs.inc and the
		// object's file symbol does not depend on where the tree is checked out.
		if err := runIn(dir, tc.as, "--64", "--fatal-warnings", "-I", ".", "-o", obj, base); err != nil {
			return "", err
		}
		objs = append(objs, obj)
	}

	elfTmp := filepath.Join(tmp, name+".elf")
	// ldArgs (a --defsym) go before the script, which reads them.
	args := append([]string{
		"-m", "elf_x86_64", "-nostdlib", "-static", "--build-id=none",
		"-z", "max-page-size=0x1000", "-z", "noexecstack", "--fatal-warnings",
	}, ldArgs...)
	args = append(args, "-T", "guest.ld", "-o", elfTmp)
	if err := runIn(dir, tc.ld, append(args, objs...)...); err != nil {
		return "", err
	}
	dst := filepath.Join(out, name+".elf")
	if err := os.Rename(elfTmp, dst); err != nil {
		return "", err
	}
	return dst, nil
}

// runIn runs a program in dir; its output goes to ours, and a failure names the command.
func runIn(dir, prog string, args ...string) error {
	cmd := exec.Command(prog, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w", filepath.Base(prog), strings.Join(args, " "), err)
	}
	return nil
}

// guestDirs lists the subdirectories of src that hold a guest.ld, sorted.
func guestDirs(src string) ([]string, error) {
	ents, err := os.ReadDir(src)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		if _, err := os.Stat(filepath.Join(src, e.Name(), "guest.ld")); err == nil {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no guest (a directory with guest.ld) in %s", src)
	}
	return names, nil
}

// moduleRoot walks up from the working directory to the directory holding go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory; pass -src")
		}
		dir = parent
	}
}

// Package kmod handles Linux kernel modules for dom0's initramfs: it reads
// a module's .modinfo section, writes and parses modules.dep and
// modules.alias in depmod's format, and orders modules for loading so that
// every module comes after the modules it depends on.
//
// Debian's kernel package ships no modules.dep (depmod makes it in the
// package's postinst), so tools/mkdom0 builds one from each module's
// "depends=" field, and dom0's init (dom0/cmd/dom0init) loads modules in
// the order Order gives. The code uses only the standard library, so it
// runs both on the build host and inside dom0.
package kmod

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
)

// Info is what a module's .modinfo section says about it (Linux
// include/linux/module.h MODULE_INFO: NUL-separated "key=value" strings).
type Info struct {
	// Name is the module's name as the kernel knows it ("name="; the
	// kernel adds it at build time, underscores for dashes). Empty in
	// modules built without it; see ModuleName.
	Name string
	// Depends lists the modules whose symbols this one uses ("depends=",
	// comma-separated, as modpost wrote them: file names, dashes kept).
	Depends []string
	// SoftPre and SoftPost are the names or aliases of "softdep=pre: ...
	// post: ..." modules: loaded before (after) this one if available,
	// but not required by the kernel's symbol resolution.
	SoftPre, SoftPost []string
	// Aliases are the "alias=" patterns (device IDs, crypto-NAME, ...).
	Aliases []string
	// Vermagic is the "vermagic=" string; it starts with the kernel
	// release the module was built for.
	Vermagic string
}

// Release returns the kernel release in Vermagic ("6.1.0-57-amd64").
func (i Info) Release() string {
	r, _, _ := strings.Cut(i.Vermagic, " ")
	return r
}

// ReadInfo reads the .modinfo section of the ELF module r.
func ReadInfo(r io.ReaderAt) (Info, error) {
	f, err := elf.NewFile(r)
	if err != nil {
		return Info{}, err
	}
	defer f.Close()
	s := f.Section(".modinfo")
	if s == nil {
		return Info{}, errors.New("no .modinfo section (not a kernel module?)")
	}
	if s.Type == elf.SHT_NOBITS {
		return Info{}, errors.New(".modinfo has no contents")
	}
	b, err := s.Data()
	if err != nil {
		return Info{}, fmt.Errorf(".modinfo: %w", err)
	}
	return ParseModinfo(b)
}

// ParseModinfo parses the contents of a .modinfo section. Entries without
// "=" are refused: modpost never writes them, so the data is not modinfo.
func ParseModinfo(b []byte) (Info, error) {
	var info Info
	for _, e := range bytes.Split(b, []byte{0}) {
		if len(e) == 0 {
			continue // padding between entries
		}
		k, v, ok := strings.Cut(string(e), "=")
		if !ok || k == "" {
			return Info{}, fmt.Errorf("malformed .modinfo entry %q", e)
		}
		switch k {
		case "name":
			info.Name = v
		case "depends":
			for _, d := range strings.Split(v, ",") {
				if d = strings.TrimSpace(d); d != "" {
					info.Depends = append(info.Depends, d)
				}
			}
		case "softdep":
			pre, post, err := parseSoftdep(v)
			if err != nil {
				return Info{}, err
			}
			info.SoftPre = append(info.SoftPre, pre...)
			info.SoftPost = append(info.SoftPost, post...)
		case "alias":
			info.Aliases = append(info.Aliases, v)
		case "vermagic":
			info.Vermagic = v
		}
	}
	return info, nil
}

// parseSoftdep parses "pre: a b post: c" (MODULE_SOFTDEP's format, the one
// modprobe.d's softdep lines use).
func parseSoftdep(v string) (pre, post []string, err error) {
	var cur *[]string
	for _, w := range strings.Fields(v) {
		switch w {
		case "pre:":
			cur = &pre
		case "post:":
			cur = &post
		default:
			if cur == nil {
				return nil, nil, fmt.Errorf("softdep %q: %q before pre: or post:", v, w)
			}
			*cur = append(*cur, w)
		}
	}
	return pre, post, nil
}

// Normalize returns the kernel's form of a module name: dashes become
// underscores (the kernel and modprobe treat them alike).
func Normalize(name string) string {
	return strings.ReplaceAll(name, "-", "_")
}

// NameFromPath returns the normalized module name of a module file path:
// its base name without ".ko" (or a compressed ".ko.*").
func NameFromPath(p string) string {
	b := path.Base(p)
	if i := strings.Index(b, ".ko"); i > 0 {
		b = b[:i]
	}
	return Normalize(b)
}

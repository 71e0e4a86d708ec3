package kmod

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Module is one module file and its modinfo.
type Module struct {
	// Path is the file's path relative to /lib/modules/RELEASE, as
	// modules.dep spells it ("kernel/drivers/xen/xenfs/xenfs.ko").
	Path string
	Info Info
}

// Name returns the module's normalized name: modinfo's name= if present,
// else the file's base name.
func (m Module) Name() string {
	if m.Info.Name != "" {
		return Normalize(m.Info.Name)
	}
	return NameFromPath(m.Path)
}

// graph maps a node to the nodes it needs first.
type graph map[string][]string

// visit appends to *out, in load order, key and everything it needs not yet
// in done. stack holds the nodes being visited (cycle detection); missing
// makes the error for a node without an entry, needed by from.
func (g graph) visit(key string, done map[string]bool, stack []string, out *[]string, missing func(from, key string) error) error {
	if done[key] {
		return nil
	}
	for i, s := range stack {
		if s == key {
			return fmt.Errorf("dependency cycle: %s", strings.Join(append(stack[i:], key), " -> "))
		}
	}
	deps, ok := g[key]
	if !ok {
		from := ""
		if len(stack) > 0 {
			from = stack[len(stack)-1]
		}
		return missing(from, key)
	}
	stack = append(stack, key)
	for _, d := range deps {
		if err := g.visit(d, done, stack, out, missing); err != nil {
			return err
		}
	}
	done[key] = true
	*out = append(*out, key)
	return nil
}

// order returns the nodes roots need, each after what it needs, and the
// roots themselves. A root that cannot be resolved (a cycle, a missing
// node) is left out with everything only it needed, and its error joins
// the returned error; the other roots are still ordered.
func (g graph) order(roots []string, missing func(from, key string) error) ([]string, error) {
	done := map[string]bool{}
	var out []string
	var errs []error
	for _, r := range roots {
		// Visit with a scratch copy so that a failing root adds nothing.
		scratch := make(map[string]bool, len(done))
		for k := range done {
			scratch[k] = true
		}
		var add []string
		if err := g.visit(r, scratch, nil, &add, missing); err != nil {
			errs = append(errs, err)
			continue
		}
		done = scratch
		out = append(out, add...)
	}
	return out, errors.Join(errs...)
}

// Dep returns the text of modules.dep for mods, in depmod's format: one
// line per module, "PATH: DEP...", listing every module it needs directly
// or not, each before the modules it needs in turn, so that the list read
// from the end is a load order (modprobe reads it that way). Dependencies
// are matched by normalized name. A dependency missing from mods, a cycle,
// or two files with one name is an error naming the modules involved.
func Dep(mods []Module) ([]byte, error) {
	byName := map[string]Module{}
	g := graph{}
	var errs []error
	for _, m := range mods {
		n := m.Name()
		if o, dup := byName[n]; dup {
			errs = append(errs, fmt.Errorf("module %s: both %s and %s", n, o.Path, m.Path))
			continue
		}
		byName[n] = m
		var deps []string
		for _, d := range m.Info.Depends {
			deps = append(deps, Normalize(d))
		}
		g[n] = deps
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	missing := func(from, key string) error {
		return fmt.Errorf("module %s (%s) depends on %s, which is not in the module set", from, byName[from].Path, key)
	}
	var b bytes.Buffer
	for _, m := range mods {
		n := m.Name()
		var load []string
		if err := g.visit(n, map[string]bool{}, nil, &load, missing); err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintf(&b, "%s:", m.Path)
		// load ends with n itself; the rest, backwards, is depmod's order.
		for i := len(load) - 2; i >= 0; i-- {
			fmt.Fprintf(&b, " %s", byName[load[i]].Path)
		}
		b.WriteByte('\n')
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return b.Bytes(), nil
}

// Alias returns the text of modules.alias for mods: "alias PATTERN NAME"
// lines, as depmod writes them.
func Alias(mods []Module) []byte {
	var b bytes.Buffer
	b.WriteString("# Aliases extracted from modules themselves.\n")
	for _, m := range mods {
		for _, a := range m.Info.Aliases {
			fmt.Fprintf(&b, "alias %s %s\n", a, m.Name())
		}
	}
	return b.Bytes()
}

// DepFile is a parsed modules.dep.
type DepFile struct {
	// Paths lists the modules in the file's order.
	Paths []string
	// Deps maps a module's path to the paths of the modules it needs.
	Deps map[string][]string
	// ByName maps a normalized module name to its path.
	ByName map[string]string
}

// ParseDep parses modules.dep. Blank lines and lines starting with # are
// skipped; a line without ":" or a module listed twice is an error.
func ParseDep(r io.Reader) (*DepFile, error) {
	f := &DepFile{Deps: map[string][]string{}, ByName: map[string]string{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	for ln := 1; sc.Scan(); ln++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		p, rest, ok := strings.Cut(line, ":")
		p = strings.TrimSpace(p)
		if !ok || p == "" {
			return nil, fmt.Errorf("modules.dep line %d: %q is not \"PATH: DEPS\"", ln, line)
		}
		if _, dup := f.Deps[p]; dup {
			return nil, fmt.Errorf("modules.dep line %d: %s listed twice", ln, p)
		}
		n := NameFromPath(p)
		if o, dup := f.ByName[n]; dup {
			return nil, fmt.Errorf("modules.dep line %d: module %s is both %s and %s", ln, n, o, p)
		}
		f.Paths = append(f.Paths, p)
		f.Deps[p] = strings.Fields(rest)
		if f.Deps[p] == nil {
			f.Deps[p] = []string{}
		}
		f.ByName[n] = p
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return f, nil
}

// Order returns the paths of the modules named (by name, dashes or
// underscores alike, or by path) and of everything they need, each after
// the modules it needs and otherwise in the order named. A name that is
// not in the file, or needs a module without its own line, or sits on a
// dependency cycle is left out, and the error says which and why; the
// other modules are still ordered.
func (f *DepFile) Order(names []string) ([]string, error) {
	var roots []string
	var errs []error
	for _, n := range names {
		if _, ok := f.Deps[n]; ok {
			roots = append(roots, n)
		} else if p, ok := f.ByName[Normalize(n)]; ok {
			roots = append(roots, p)
		} else {
			errs = append(errs, fmt.Errorf("module %s is not in modules.dep", n))
		}
	}
	missing := func(from, key string) error {
		return fmt.Errorf("%s needs %s, which has no line in modules.dep", from, key)
	}
	out, err := graph(f.Deps).order(roots, missing)
	return out, errors.Join(append(errs, err)...)
}

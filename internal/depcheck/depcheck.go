// Package depcheck states GoZen's dependency rules as data and checks a
// module's packages against them. Its test runs the check on the real
// module (go list), so `go test ./...` fails when a package breaks a rule:
//
//   - abi/xen, the Xen ABI leaf hv and the dom0 tools share, imports
//     only the standard library;
//   - the pure packages (Pure: event, grant, sched, mm/..., loader,
//     bootparam, boot/multiboot, hypercall, hv/x86, hv/backend, hv/vioapic,
//     xenstore, iommu/..., acpi, hv/vlapic) import nothing from
//     arch/..., rt/... or hv (hv/x86 and hv/backend are libraries they may
//     use);
//   - hv, the arch-neutral core, imports nothing from arch/... (so no
//     backend) or rt/...;
//   - dom0 tools (dom0/...) import nothing from hv/..., rt/... or
//     arch/...;
//
// and every package outside arch/..., rt and cmd/hv builds and vets for
// GOARCH=arm64, which keeps the core and the pure packages free of amd64
// code.
package depcheck

import (
	"fmt"
	"sort"
	"strings"
)

// Module is the module path.
const Module = "gozen"

// Package is what the check needs to know of a package (the fields of
// `go list -json` with the same names).
type Package struct {
	ImportPath   string
	Deps         []string // transitive imports of the package itself
	TestImports  []string // direct imports of its in-package tests
	XTestImports []string // direct imports of its external tests
}

// Rule forbids the packages it applies to from depending on some others.
type Rule struct {
	Name string
	// Applies reports whether the rule covers package path p.
	Applies func(p string) bool
	// Forbidden reports whether depending on dep breaks the rule.
	Forbidden func(dep string) bool
}

// under reports whether p is path or a package below it ("gozen/" is
// added to both).
func under(p, path string) bool {
	full := Module + "/" + path
	return p == full || strings.HasPrefix(p, full+"/")
}

// Standard reports whether p is a standard-library package: its first
// element has no dot, and it is not this module's.
func Standard(p string) bool {
	first, _, _ := strings.Cut(p, "/")
	return !strings.Contains(first, ".") && first != Module
}

// Pure lists the pure packages (and trees of packages) by path below the
// module.
var Pure = []string{"event", "grant", "sched", "mm", "loader", "bootparam", "boot/multiboot",
	"hypercall", "hv/x86", "hv/backend", "hv/vioapic", "xenstore", "iommu", "acpi", "hv/vlapic"}

// archOrRT is arch/... or rt/...: hardware code and the bare-metal runtime.
func archOrRT(dep string) bool { return under(dep, "arch") || under(dep, "rt") }

// Rules are GoZen's dependency rules.
var Rules = []Rule{
	{
		Name:      "abi/xen imports only the standard library",
		Applies:   func(p string) bool { return under(p, "abi/xen") },
		Forbidden: func(dep string) bool { return !Standard(dep) },
	},
	{
		Name: "pure packages import no arch/, rt or hv",
		Applies: func(p string) bool {
			for _, q := range Pure {
				if under(p, q) {
					return true
				}
			}
			return false
		},
		Forbidden: func(dep string) bool {
			return archOrRT(dep) || under(dep, "hv") && !under(dep, "hv/x86") && !under(dep, "hv/backend")
		},
	},
	{
		Name:      "hv (the core) imports no arch/ (no backend) and no rt",
		Applies:   func(p string) bool { return p == Module+"/hv" },
		Forbidden: archOrRT,
	},
	{
		Name:      "dom0 tools import no hv, rt or arch",
		Applies:   func(p string) bool { return under(p, "dom0") },
		Forbidden: func(dep string) bool { return archOrRT(dep) || under(dep, "hv") },
	},
}

// Check returns one line per broken rule: package, dependency, the chain
// that brings it in (for a test's imports) and the rule. pkgs must hold
// every package of the module, so a test import's own dependencies can be
// followed.
func Check(pkgs []Package, rules []Rule) []string {
	byPath := map[string]*Package{}
	for i := range pkgs {
		byPath[pkgs[i].ImportPath] = &pkgs[i]
	}
	var bad []string
	for _, p := range pkgs {
		for _, r := range rules {
			if !r.Applies(p.ImportPath) {
				continue
			}
			for _, dep := range p.Deps {
				if r.Forbidden(dep) {
					bad = append(bad, fmt.Sprintf("%s imports %s: %s", p.ImportPath, dep, r.Name))
				}
			}
			// Tests count too: a test of the core that imports a backend
			// is as wrong as the core doing so.
			for _, imp := range append(append([]string{}, p.TestImports...), p.XTestImports...) {
				if imp == p.ImportPath {
					continue // the external test package imports the package itself
				}
				if r.Forbidden(imp) {
					bad = append(bad, fmt.Sprintf("%s (test) imports %s: %s", p.ImportPath, imp, r.Name))
					continue
				}
				if q := byPath[imp]; q != nil {
					for _, dep := range q.Deps {
						if r.Forbidden(dep) {
							bad = append(bad, fmt.Sprintf("%s (test) imports %s via %s: %s", p.ImportPath, dep, imp, r.Name))
						}
					}
				}
			}
		}
	}
	sort.Strings(bad)
	return compact(bad)
}

func compact(s []string) []string {
	out := s[:0]
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}

// ARM64Excluded reports whether package p is exempt from building for
// arm64: the amd64 hardware code, the bare-metal runtime (package rt
// itself; its pure subpackages are not exempt) and the hv program.
func ARM64Excluded(p string) bool {
	return under(p, "arch") || p == Module+"/rt" || p == Module+"/cmd/hv"
}

package depcheck

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// root is the module root, from this package's directory.
const root = "../.."

func goCmd(t *testing.T, env []string, args ...string) []byte {
	t.Helper()
	// The go command that runs this test: on PATH, or the toolchain's own.
	gobin, err := exec.LookPath("go")
	if err != nil {
		gobin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	cmd := exec.Command(gobin, args...)
	cmd.Dir = root
	cmd.Env = append(cmd.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.Bytes())
	}
	return out
}

// listModule runs go list -json over the module for the given GOARCH.
func listModule(t *testing.T, goarch string) []Package {
	t.Helper()
	out := goCmd(t, []string{"GOOS=linux", "GOARCH=" + goarch}, "list", "-json", "./...")
	var pkgs []Package
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p Package
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 20 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	return pkgs
}

// The module keeps every dependency rule, on amd64 (hv's real build).
func TestModuleDependencyRules(t *testing.T) {
	pkgs := listModule(t, "amd64")
	seen := map[string]bool{}
	for _, p := range pkgs {
		seen[p.ImportPath] = true
	}
	// The rules must still be about real packages: a renamed package would
	// silently escape them.
	for _, p := range []string{"abi/xen", "hv", "hv/x86", "hv/backend", "event", "grant", "sched", "mm",
		"mm/npt", "loader", "bootparam", "boot/multiboot", "hypercall", "arch/amd64/svm"} {
		if !seen[Module+"/"+p] {
			t.Errorf("package %s/%s does not exist: update the rules", Module, p)
		}
	}
	for _, v := range Check(pkgs, Rules) {
		t.Error(v)
	}
}

// Everything outside arch/, rt and cmd/hv builds and vets for arm64, so the
// core cannot quietly grow amd64-only code.
func TestARM64Vet(t *testing.T) {
	var args []string
	for _, p := range listModule(t, "arm64") {
		if !ARM64Excluded(p.ImportPath) {
			args = append(args, p.ImportPath)
		}
	}
	for _, must := range []string{"hv", "hypercall", "mm/npt", "rt/thread", "tools/mkimage"} {
		found := false
		for _, a := range args {
			found = found || a == Module+"/"+must
		}
		if !found {
			t.Errorf("%s/%s is not among the packages checked for arm64", Module, must)
		}
	}
	goCmd(t, []string{"GOOS=linux", "GOARCH=arm64"}, append([]string{"vet"}, args...)...)
}

// The rules catch what they should, on made-up packages (the real module
// keeps them, so only made-up violations show that each rule fires).
func TestRulesCatchViolations(t *testing.T) {
	m := func(s string) string { return Module + "/" + s }
	pkgs := []Package{
		{ImportPath: m("abi/xen"), Deps: []string{"fmt", "golang.org/x/arch/x86/x86asm"}},
		{ImportPath: m("hv"), Deps: []string{m("hv/x86"), m("arch/amd64/svm"), m("arch/amd64")}},
		{ImportPath: m("hv/x86"), Deps: []string{"fmt"}},
		{ImportPath: m("hypercall"), Deps: []string{m("hv/x86"), m("abi/xen")}},
		{ImportPath: m("mm/npt"), Deps: []string{m("mm/pgtable"), m("rt")}},
		{ImportPath: m("event"), TestImports: []string{m("hv")}},
		{ImportPath: m("grant"), XTestImports: []string{m("grant"), m("testutil")}},
		{ImportPath: m("testutil"), Deps: []string{m("rt/thread")}},
		{ImportPath: m("dom0/xl"), Deps: []string{m("abi/xen"), m("hv"), m("rt")}},
		{ImportPath: m("dom0/xenstored"), Deps: []string{m("abi/xen"), "os"}},
		{ImportPath: m("cmd/hv"), Deps: []string{m("rt"), m("arch/amd64/svm"), m("hv")}},
	}
	got := Check(pkgs, Rules)
	want := []string{
		"gozen/abi/xen imports golang.org/x/arch/x86/x86asm: abi/xen imports only the standard library",
		"gozen/dom0/xl imports gozen/hv: dom0 tools import no hv, rt or arch",
		"gozen/dom0/xl imports gozen/rt: dom0 tools import no hv, rt or arch",
		"gozen/event (test) imports gozen/hv: pure packages import no arch/, rt or hv",
		"gozen/grant (test) imports gozen/rt/thread via gozen/testutil: pure packages import no arch/, rt or hv",
		"gozen/hv imports gozen/arch/amd64/svm: hv (the core) imports no arch/ (no backend) and no rt",
		"gozen/hv imports gozen/arch/amd64: hv (the core) imports no arch/ (no backend) and no rt",
		"gozen/mm/npt imports gozen/rt: pure packages import no arch/, rt or hv",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("violations:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !ARM64Excluded(m("rt")) || ARM64Excluded(m("rt/thread")) || !ARM64Excluded(m("arch/amd64/svm")) ||
		ARM64Excluded(m("hv")) || ARM64Excluded(m("dev/rtc")) || !ARM64Excluded(m("cmd/hv")) {
		t.Error("ARM64Excluded exempts the wrong packages")
	}
}

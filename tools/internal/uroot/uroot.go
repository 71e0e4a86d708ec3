// Package uroot is what tools/mkdomu and tools/mkdom0 share: building a
// u-root busybox initramfs with the u-root builder go.mod pins, caching it
// behind a stamp of its inputs, and reading, checking and writing newc cpio
// archives with u-root's pkg/cpio.
//
// The initramfs is built with the u-root builder at the version go.mod pins
// (tool github.com/u-root/u-root), from u-root's own module, so u-root's
// go.sum pins every command's dependencies; the Go toolchain fetches them
// through the module proxy once and from its module cache after that. The
// build is reproducible (u-root strips and trims the binary and zeroes cpio
// timestamps).
package uroot

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Module is u-root's module path.
const Module = "github.com/u-root/u-root"

// TargetEnv is the environment of the u-root build (and of dom0's own
// commands): a static amd64 binary for the baseline x86-64 level (QEMU's
// qemu64 CPU has nothing newer).
var TargetEnv = []string{
	"GOOS=linux", "GOARCH=amd64", "GOAMD64=v1", "CGO_ENABLED=0",
	"GOWORK=off", "GOFLAGS=-mod=readonly -buildvcs=false",
}

// Build describes one u-root initramfs.
type Build struct {
	// Recipe names the way the caller builds; bump it when a change the
	// other inputs do not show changes the output.
	Recipe string
	// Args are the u-root builder's arguments, without -o: flags, then
	// command packages.
	Args []string
	// Out is the cpio archive to write; its stamp is Out's name with
	// ".stamp" for ".cpio".
	Out string
	// Check, if set, vets the builder's output before it is kept.
	Check func([]Record) error
	// Logf reports progress.
	Logf func(format string, args ...any)
}

// Stamp returns the stamp file of b.Out.
func (b *Build) Stamp() string {
	return strings.TrimSuffix(b.Out, ".cpio") + ".stamp"
}

// ModuleInfo is what `go mod download -json` says about a module.
type ModuleInfo struct {
	Path, Version, Sum, Dir, Error string
}

// GoCmd runs the go command in dir with extra environment variables and
// returns its standard output.
func GoCmd(dir string, env []string, args ...string) ([]byte, error) {
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

// ModuleRoot returns the directory of gozen's go.mod.
func ModuleRoot() (string, error) {
	b, err := GoCmd("", nil, "env", "GOMOD")
	if err != nil {
		return "", err
	}
	gomod := strings.TrimSpace(string(b))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside the gozen module: run the tool from the repository")
	}
	return filepath.Dir(gomod), nil
}

// GoVersion returns the toolchain's version ("go1.26.0").
func GoVersion(root string) (string, error) {
	b, err := GoCmd(root, nil, "env", "GOVERSION")
	return strings.TrimSpace(string(b)), err
}

// Source downloads (or finds in the module cache) the u-root module at the
// version go.mod requires; the go command checks it against go.sum.
func Source(root string) (*ModuleInfo, error) {
	b, err := GoCmd(root, nil, "mod", "download", "-json", Module)
	if err != nil {
		return nil, err
	}
	var m ModuleInfo
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("go mod download -json: %v", err)
	}
	if m.Error != "" {
		return nil, fmt.Errorf("go mod download %s: %s", Module, m.Error)
	}
	if m.Dir == "" || m.Version == "" {
		return nil, fmt.Errorf("go mod download %s: no directory or version", Module)
	}
	return &m, nil
}

// Key hashes everything the initramfs is built from.
func (b *Build) Key(goVersion string, m *ModuleInfo) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n%s %s %s\n", b.Recipe, goVersion, m.Path, m.Version, m.Sum)
	for _, s := range TargetEnv {
		fmt.Fprintf(h, "env %s\n", s)
	}
	for _, s := range b.Args {
		fmt.Fprintf(h, "arg %s\n", s)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Run builds b.Out unless its stamp shows it is up to date (or force).
func (b *Build) Run(force, verbose bool) error {
	start := time.Now()
	root, err := ModuleRoot()
	if err != nil {
		return err
	}
	goVersion, err := GoVersion(root)
	if err != nil {
		return err
	}
	m, err := Source(root)
	if err != nil {
		return err
	}
	key := b.Key(goVersion, m)

	if st := ReadStamp(b.Stamp()); !force && st["key"] == key {
		if sum, err := FileSHA256(b.Out); err == nil && sum == st["sha256"] {
			b.Logf("up to date: %s (u-root %s, %s, sha256 %s)", b.Out, m.Version, goVersion, sum)
			return nil
		}
	}

	tmp, err := os.MkdirTemp("", "uroot-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	// The builder, built in gozen's module: the version go.mod pins.
	b.Logf("building the u-root %s builder", m.Version)
	builder := filepath.Join(tmp, "u-root")
	if _, err := GoCmd(root, []string{"CGO_ENABLED=0"}, "build", "-o", builder, Module); err != nil {
		return err
	}

	// The commands, built in u-root's module (the module cache copy is
	// read-only; nothing is written there).
	b.Logf("building %s with %s for linux/amd64", filepath.Base(b.Out), goVersion)
	out := filepath.Join(tmp, "initramfs.cpio")
	cmd := exec.Command(builder, append([]string{"-o", out}, b.Args...)...)
	cmd.Dir = m.Dir
	cmd.Env = append(os.Environ(), TargetEnv...)
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
	if b.Check != nil {
		recs, err := ReadArchive(data)
		if err == nil {
			err = b.Check(recs)
		}
		if err != nil {
			return fmt.Errorf("the u-root output is not as expected: %w", err)
		}
	}
	if err := WriteFileAtomic(b.Out, data); err != nil {
		return err
	}
	sum := sha256.Sum256(data)
	if err := WriteStamp(b.Stamp(), [][2]string{
		{"key", key},
		{"sha256", hex.EncodeToString(sum[:])},
		{"u-root", m.Version + " " + m.Sum},
		{"go", goVersion},
	}); err != nil {
		return err
	}
	b.Logf("wrote %s (%s, sha256 %x) in %.1fs", b.Out, Size(len(data)), sum, time.Since(start).Seconds())
	return nil
}

// FileSHA256 returns the hex SHA-256 of a file's contents.
func FileSHA256(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:]), nil
}

// ReadStamp reads a stamp file of "key value" lines; nil if there is none.
func ReadStamp(path string) map[string]string {
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

// WriteStamp writes a stamp file of "key value" lines.
func WriteStamp(path string, kv [][2]string) error {
	var b strings.Builder
	for _, p := range kv {
		fmt.Fprintf(&b, "%s %s\n", p[0], p[1])
	}
	return WriteFileAtomic(path, []byte(b.String()))
}

// WriteFileAtomic writes path through a temporary file and a rename, so an
// interrupted run never leaves a truncated output behind.
func WriteFileAtomic(path string, data []byte) error {
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

// Size formats a byte count for log lines.
func Size(n int) string {
	return fmt.Sprintf("%d bytes, %.1f MiB", n, float64(n)/(1<<20))
}

package xl

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"gozen/dom0/xl/build"
	"gozen/dom0/xl/cfg"
	"gozen/dom0/xl/kcache"
	"gozen/loader"
)

// Record is what xl keeps of a domain it created: its configuration, for
// list -l and for the lifecycle actions (restart rebuilds from it). libxl
// keeps the same in userdata-d.DOMID.UUID.libxl-json.
type Record struct {
	DomID  uint32     `json:"domid"`
	UUID   string     `json:"uuid"`
	Config cfg.Config `json:"config"`
}

func (e *Env) recordPath(id uint32, uuid string) string {
	return filepath.Join(e.StateDir, fmt.Sprintf("userdata-d.%d.%s.gozen-xl-json", id, uuid))
}

func (e *Env) saveRecord(r *Record) error {
	if e.StateDir == "" {
		return nil
	}
	b, err := json.MarshalIndent(r, "", "    ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(e.StateDir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(e.recordPath(r.DomID, r.UUID), b, 0o644)
}

// loadRecord returns domain id's record, or nil if xl did not create it.
func (e *Env) loadRecord(id uint32) *Record {
	if e.StateDir == "" {
		return nil
	}
	m, _ := filepath.Glob(filepath.Join(e.StateDir, fmt.Sprintf("userdata-d.%d.*.gozen-xl-json", id)))
	for _, p := range m {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		var r Record
		if json.Unmarshal(b, &r) == nil && r.DomID == id {
			return &r
		}
	}
	return nil
}

func (e *Env) removeRecord(id uint32) {
	if e.StateDir == "" {
		return
	}
	m, _ := filepath.Glob(filepath.Join(e.StateDir, fmt.Sprintf("userdata-d.%d.*.gozen-xl-json", id)))
	for _, p := range m {
		os.Remove(p)
	}
}

// LoadConfig reads an xl.cfg file and applies KEY=VALUE overrides.
func LoadConfig(file string, overrides []string) (*cfg.Config, error) {
	text, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("Failed to read config file: %v", err)
	}
	f, err := cfg.Parse(file, text)
	if err != nil {
		return nil, err
	}
	if err := f.ParseOverrides(overrides); err != nil {
		return nil, err
	}
	return cfg.Decode(f)
}

func (e *Env) create(args []string) error {
	opts, rest, err := flags("create", args, "cp")
	if err != nil {
		return err
	}
	if len(rest) == 0 {
		return usage("create", "xl create: no config file")
	}
	// xl takes a first operand with '=' as an override with no file; a
	// file is needed here.
	if strings.Contains(rest[0], "=") {
		return usage("create", "xl create: the first operand must be the config file, not %q", rest[0])
	}
	fmt.Fprintf(e.Stderr, "Parsing config from %s\n", rest[0])
	c, err := LoadConfig(rest[0], rest[1:])
	if err != nil {
		return err
	}
	_, paused := opts['p']
	id, err := e.createFrom(c, [16]byte{}, paused)
	if err != nil {
		return err
	}
	if e.Spawn != nil {
		t0 := time.Now()
		err := e.Spawn(MonitorVerb, strconv.Itoa(int(id)))
		if e.Verbose > 0 {
			fmt.Fprintf(e.Stderr, "xl: domain %q: starting its monitor: %d ms\n", c.Name, time.Since(t0).Milliseconds())
		}
		if err != nil {
			fmt.Fprintf(e.Stderr, "warning: domain %d (%s): no lifecycle monitor (on_poweroff/on_reboot/on_crash will not be applied): %v\n",
				id, c.Name, err)
		}
	}
	if e.Verbose > 0 && e.Started != nil {
		if d, err := e.Started(); err == nil {
			fmt.Fprintf(e.Stderr, "xl: domain %q: xl's run, exec to here: %d ms\n", c.Name, d.Milliseconds())
		}
	}
	if _, ok := opts['c']; ok {
		return e.attach(id)
	}
	return nil
}

// createFrom builds a domain from c (uuid zero: a new one) and records it.
func (e *Env) createFrom(c *cfg.Config, uuid [16]byte, paused bool) (uint32, error) {
	tFind := time.Now()
	if id, err := e.find(c.Name); err == nil {
		return 0, fmt.Errorf("Domain with name %q already exists (domain %d).", c.Name, id)
	}
	if e.Verbose > 0 {
		if e.Started != nil {
			if d, err := e.Started(); err == nil {
				fmt.Fprintf(e.Stderr, "xl: domain %q: xl's start (exec to config parsed): %d ms\n", c.Name, d.Milliseconds()-time.Since(tFind).Milliseconds())
			}
		}
		fmt.Fprintf(e.Stderr, "xl: domain %q: checking the name is free: %d ms\n", c.Name, time.Since(tFind).Milliseconds())
	}
	tRead := time.Now()
	kernel, unmapKernel, kernelInfo, err := mapFile(c.Kernel)
	if err != nil {
		return 0, fmt.Errorf("domain %q: kernel: %v", c.Name, err)
	}
	defer unmapKernel()
	var ramdisk []byte
	if c.Ramdisk != "" {
		var unmapRamdisk func()
		if ramdisk, unmapRamdisk, _, err = mapFile(c.Ramdisk); err != nil {
			return 0, fmt.Errorf("domain %q: ramdisk: %v", c.Name, err)
		}
		defer unmapRamdisk()
	}
	spec := build.Spec{
		Name: c.Name, UUID: uuid, Kernel: kernel, Ramdisk: ramdisk, Cmdline: c.Cmdline,
		MemoryMiB: c.MemoryMiB, MaxMemMiB: c.MaxMemMiB, VCPUs: c.VCPUs, Paused: true, Now: e.Now,
	}
	kc := e.cachedKernel(&spec, kernelInfo)
	defer kc.release()
	if e.Verbose > 0 {
		spec.Logf = func(format string, args ...any) {
			fmt.Fprintf(e.Stderr, "xl: domain %q: "+format+"\n", append([]any{c.Name}, args...)...)
		}
		spec.Logf("reading the kernel and ramdisk: %d ms", time.Since(tRead).Milliseconds())
		if spec.Vmlinux != nil {
			spec.Logf("the decompressed kernel is in the cache, %s", e.KernelCache.Dir)
		}
	}
	d, err := build.Build(e.XC, e.XS, spec)
	if err != nil {
		if strings.HasPrefix(err.Error(), "domain ") {
			return 0, err
		}
		return 0, fmt.Errorf("domain %q: %v", c.Name, err)
	}
	// The domain is built paused; its devices go in before it runs, as
	// libxl adds them, and its record is saved (libxl stores the domain's
	// configuration during the creation too), so the new domain does not
	// compete with the rest of xl's work for dom0's CPU.
	if len(c.Vifs) > 0 || len(c.Disks) > 0 {
		if err := e.addDisks(d.ID, c); err != nil {
			e.destroyDomain(d.ID)
			return 0, fmt.Errorf("domain %q: %v", c.Name, err)
		}
		if err := e.addVifs(d.ID, c); err != nil {
			e.destroyDomain(d.ID)
			return 0, fmt.Errorf("domain %q: %v", c.Name, err)
		}
	}
	tSave := time.Now()
	if err := e.saveRecord(&Record{DomID: d.ID, UUID: build.UUIDString(d.UUID), Config: *c}); err != nil {
		fmt.Fprintf(e.Stderr, "warning: domain %d (%s): its configuration was not saved: %v\n", d.ID, c.Name, err)
	}
	if spec.Logf != nil {
		spec.Logf("saving its configuration: %d ms", time.Since(tSave).Milliseconds())
	}
	if !paused {
		if err := e.XC.Unpause(d.ID); err != nil {
			e.destroyDomain(d.ID)
			return 0, fmt.Errorf("domain %q: unpause: %v", c.Name, err)
		}
	}
	fmt.Fprintf(e.Stderr, "Started domain %s (id=%d)\n", c.Name, d.ID)
	kc.commit(e, spec.Logf)
	return d.ID, nil
}

// kernelCacheUse is what one create does with the kernel cache: found,
// the entry it maps (release unmaps it); not found, the new entry Build
// decompressed into, committed once the domain runs, else dropped.
type kernelCacheUse struct {
	unmap  func()
	wanted bool // a bzImage not in the cache
	entry  *kcache.Entry
}

func (u *kernelCacheUse) release() {
	if u.unmap != nil {
		u.unmap()
	}
	if u.entry != nil {
		u.entry.Abort() // nothing once committed
	}
}

// commit keeps the kernel the create decompressed into a new entry.
func (u *kernelCacheUse) commit(e *Env, logf func(string, ...any)) {
	if u.entry == nil || u.entry.Buf == nil {
		if u.wanted && logf != nil {
			logf("the decompressed kernel is not cached (too large, or too little memory free)")
		}
		return
	}
	if err := u.entry.Commit(); err != nil {
		fmt.Fprintf(e.Stderr, "warning: kernel cache %s: %v\n", e.KernelCache.Dir, err)
	} else if logf != nil {
		logf("the decompressed kernel is kept in the cache, %s", e.KernelCache.Dir)
	}
}

// cachedKernel looks a bzImage kernel (fi: its file) up in the kernel
// cache. Found, it sets s.Vmlinux to the entry; not found, it has Build
// decompress into a new entry (s.VmlinuxBuffer), which the returned use
// commits once the domain runs.
func (e *Env) cachedKernel(s *build.Spec, fi os.FileInfo) *kernelCacheUse {
	u := &kernelCacheUse{}
	if e.KernelCache == nil || fi == nil || !loader.IsBzImage(s.Kernel) {
		return u
	}
	k, ok := kcache.KeyOf(fi)
	if !ok {
		return u
	}
	n, err := loader.VmlinuxSize(s.Kernel)
	if err != nil {
		return u // Build reports the bad bzImage
	}
	if v, unmap, ok := e.KernelCache.Get(k, n); ok {
		s.Vmlinux, u.unmap = v, unmap
		return u
	}
	u.wanted = true
	s.VmlinuxBuffer = func(n int) []byte {
		ent, err := e.KernelCache.Create(k, n)
		if err != nil {
			fmt.Fprintf(e.Stderr, "warning: kernel cache %s: %v\n", e.KernelCache.Dir, err)
		}
		if ent == nil {
			return nil
		}
		u.entry = ent
		return ent.Buf
	}
	return u
}

// mapFile returns the contents of the file at path, mapped read-only
// (the build reads the kernel and writes the ramdisk straight from the
// page cache, without a copy into fresh memory first), its release, and
// the mapped file's FileInfo (the kernel cache's key). A file that cannot
// be mapped (empty, or on a file system without mmap) is read instead,
// with a nil FileInfo. libxc maps kernel and ramdisk files too
// (xc_dom_malloc_filemap).
func mapFile(path string) ([]byte, func(), os.FileInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, nil, err
	}
	if n := st.Size(); st.Mode().IsRegular() && n > 0 && n == int64(int(n)) {
		if b, err := unix.Mmap(int(f.Fd()), 0, int(n), unix.PROT_READ, unix.MAP_PRIVATE); err == nil {
			return b, func() { unix.Munmap(b) }, st, nil
		}
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, nil, nil, err
	}
	// Read, not mapped (not a regular file, say): no identity to cache
	// a kernel under.
	return b, func() {}, nil, nil
}

// Shutdown requests, as libxl_domain_shutdown/reboot write them to
// control/shutdown, and the feature node the guest must have set.
var requestFeature = map[string]string{"poweroff": "feature-poweroff", "reboot": "feature-reboot"}

// ErrNoPV is the error for a guest without PV control (libxl's
// ERROR_NOPARAVIRT).
var ErrNoPV = errors.New("PV control interface not available: external graceful shutdown not possible")

func (e *Env) request(verb, req string, args []string) error {
	opts, rest, err := flags(verb, args, "w")
	if err != nil {
		return err
	}
	id, err := e.one(verb, rest)
	if err != nil {
		return err
	}
	if id == 0 {
		return fmt.Errorf("%s of domain 0 (%s): dom0 shuts itself down (run poweroff/reboot in it)", verb, e.name(0))
	}
	ctl := fmt.Sprintf("/local/domain/%d/control/", id)
	if v, err := e.XS.Read(ctl + requestFeature[req]); err != nil || v != "1" {
		return fmt.Errorf("%s of domain %d (%s) failed: %w", verb, id, e.name(id), ErrNoPV)
	}
	if err := e.XS.Write(ctl+"shutdown", req); err != nil {
		return e.domainErr(id, verb, err)
	}
	if _, wait := opts['w']; wait {
		fmt.Fprintf(e.Stdout, "Waiting for 1 domains\n")
		return e.waitDeath(id)
	}
	return nil
}

func (e *Env) shutdownVerb(args []string) error { return e.request("shutdown", "poweroff", args) }
func (e *Env) rebootVerb(args []string) error   { return e.request("reboot", "reboot", args) }

// waitDeath waits until domain id has shut down or is gone, as xl's
// wait_for_domain_deaths reports it.
func (e *Env) waitDeath(id uint32) error {
	for {
		info, err := e.XC.DomainInfo(id)
		switch {
		case err != nil:
			fmt.Fprintf(e.Stdout, "Domain %d has been destroyed.\n", id)
			return nil
		case info.IsShutdown():
			fmt.Fprintf(e.Stdout, "Domain %d has been shut down, reason code %d\n", id, info.ShutdownReason())
			return nil
		case info.Dying():
			fmt.Fprintf(e.Stdout, "Domain %d has been destroyed.\n", id)
			return nil
		}
		e.sleep()
	}
}

// memSet is xl mem-set: the balloon target (memory/target, KiB) and the
// hypervisor ceiling with libxl's 1 MiB slack, at most static-max.
func (e *Env) memSet(args []string) error {
	if len(args) != 2 {
		return usage("mem-set", "xl mem-set: want DOMAIN and SIZE")
	}
	id, err := e.find(args[0])
	if err != nil {
		return err
	}
	kib, err := ParseMemKiB(args[1])
	if err != nil {
		return usage("mem-set", "xl mem-set: invalid size %q: %v", args[1], err)
	}
	home := fmt.Sprintf("/local/domain/%d/memory/", id)
	if s, err := e.XS.Read(home + "static-max"); err == nil {
		if max, perr := strconv.ParseUint(s, 10, 64); perr == nil && kib > max {
			return fmt.Errorf("mem-set of domain %d (%s): %d KiB is above its maxmem of %d KiB", id, e.name(id), kib, max)
		}
	}
	if err := e.XC.SetMaxMem(id, kib+1024); err != nil {
		return e.domainErr(id, "mem-set", err)
	}
	if err := e.XS.Write(home+"target", strconv.FormatUint(kib, 10)); err != nil {
		return e.domainErr(id, "mem-set", err)
	}
	return nil
}

// ParseMemKiB reads xl's memory sizes: a number with an optional b, k, m,
// g or t suffix (either case), KiB when there is none.
func ParseMemKiB(s string) (uint64, error) {
	if s == "" {
		return 0, errors.New("empty")
	}
	shift := map[byte]int{'b': -10, 'k': 0, 'm': 10, 'g': 20, 't': 30}
	sh, unit := 0, s[len(s)-1]|0x20
	if v, ok := shift[unit]; ok && (s[len(s)-1] < '0' || s[len(s)-1] > '9') {
		sh = v
		s = s[:len(s)-1]
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, errors.New("not a number")
	}
	if sh < 0 {
		return n >> -sh, nil
	}
	if n > (1<<63)>>sh {
		return 0, errors.New("too large")
	}
	return n << sh, nil
}

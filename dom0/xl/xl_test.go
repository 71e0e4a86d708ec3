package xl

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gozen/dom0/xc"
	"gozen/dom0/xc/xcfake"
	"gozen/dom0/xl/cfg"
	"gozen/dom0/xl/kcache"
	"gozen/dom0/xl/xltest"
	"gozen/dom0/xs"
)

type harness struct {
	t      *testing.T
	f      *xcfake.Fake
	store  *xltest.Store
	c0     *xs.Client
	env    *Env
	dir    string
	out    bytes.Buffer
	errb   bytes.Buffer
	spawns [][]string
	now    time.Time
	// bes is dom0's client as xl uses it: with fake back ends behind it
	// (xltest.Backends); c0 is the same connection without them.
	bes *xltest.Backends
}

func newHarness(t *testing.T) *harness {
	h := &harness{t: t, f: xcfake.New(1024, 256), dir: t.TempDir(), now: time.Date(2026, 12, 4, 18, 30, 0, 0, time.UTC)}
	h.store, h.c0 = xltest.NewStore()
	h.bes = &xltest.Backends{Client: h.c0}
	h.env = &Env{XC: h.f, XS: h.bes, Stdout: &h.out, Stderr: &h.errb, StateDir: filepath.Join(h.dir, "state"),
		Now:        func() time.Time { return h.now },
		Sleep:      func(time.Duration) { h.now = h.now.Add(time.Second) },
		Dom0Uptime: func() (time.Duration, error) { return 90061 * time.Second, nil },
		Uname:      func() (string, string, string, string) { return "dom0", "6.1.0-57-amd64", "#1 SMP Debian", "x86_64" },
		Spawn:      func(a ...string) error { h.spawns = append(h.spawns, a); return nil },
	}
	k := xltest.DefaultKernel()
	h.file("vmlinux", string(k.ELF()))
	h.file("initrd", "INITRD")
	return h
}

func (h *harness) file(name, content string) string {
	p := filepath.Join(h.dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		h.t.Fatal(err)
	}
	return p
}

func (h *harness) cfg(name string, extra string) string {
	return h.file(name+".cfg", fmt.Sprintf("name = %q\ntype = \"pvh\"\nkernel = %q\nramdisk = %q\nmemory = 16\nvcpus = 2\n%s",
		name, filepath.Join(h.dir, "vmlinux"), filepath.Join(h.dir, "initrd"), extra))
}

// run runs xl and returns stdout, stderr and the exit code.
func (h *harness) run(args ...string) (string, string, int) {
	h.out.Reset()
	h.errb.Reset()
	code := Main(h.env, args)
	return h.out.String(), h.errb.String(), code
}

func (h *harness) ok(args ...string) string {
	h.t.Helper()
	out, errs, code := h.run(args...)
	if code != 0 {
		h.t.Fatalf("xl %s: exit %d: %s", strings.Join(args, " "), code, errs)
	}
	return out
}

func (h *harness) fails(code int, want string, args ...string) {
	h.t.Helper()
	_, errs, c := h.run(args...)
	if c != code || !strings.Contains(errs, want) {
		h.t.Fatalf("xl %s: exit %d, stderr %q; want exit %d and %q", strings.Join(args, " "), c, errs, code, want)
	}
}

func TestCreateListGolden(t *testing.T) {
	h := newHarness(t)
	h.f.SetState(0, func(d *xcfake.Domain) { d.CPUTime = 12_340_000_000 })
	h.ok("create", h.cfg("alpha", ""), "vcpus=1")
	if !strings.Contains(h.errb.String(), "Parsing config from "+filepath.Join(h.dir, "alpha.cfg")) ||
		!strings.Contains(h.errb.String(), "Started domain alpha (id=1)") {
		t.Errorf("create said %q", h.errb.String())
	}
	if len(h.spawns) != 1 || strings.Join(h.spawns[0], " ") != MonitorVerb+" 1" {
		t.Errorf("spawned %v", h.spawns)
	}
	h.ok("create", "-p", h.cfg("beta", `on_crash="preserve"`))
	h.f.SetState(1, func(d *xcfake.Domain) { d.CPUTime = 1_250_000_000 })
	want := "Name                                        ID   Mem VCPUs\tState\tTime(s)\n" +
		"Domain-0                                     0   256     1     -b----      12.3\n" +
		"alpha                                        1    16     1     -b----       1.2\n" +
		"beta                                         2    16     2     --p---       0.0\n"
	if got := h.ok("list"); got != want {
		t.Errorf("list:\n%s\nwant:\n%s", got, want)
	}
	if got := h.ok("list", "beta"); got != ListHeader+strings.SplitAfter(want, "\n")[3] {
		t.Errorf("list beta:\n%s", got)
	}
	h.fails(1, "Error: Domain 'gamma' does not exist.", "list", "gamma")
	h.fails(1, "Error: Domain '7' does not exist.", "list", "7")

	// list -l: the configuration as libxl's JSON names it.
	var long []struct {
		DomID  uint32 `json:"domid"`
		Config struct {
			CInfo struct{ Type, Name, UUID string } `json:"c_info"`
			BInfo struct {
				MaxVCPUs    int    `json:"max_vcpus"`
				AvailVCPUs  []int  `json:"avail_vcpus"`
				TargetMemKB uint64 `json:"target_memkb"`
			} `json:"b_info"`
			OnCrash string `json:"on_crash"`
		} `json:"config"`
	}
	out := h.ok("list", "-l")
	if err := json.Unmarshal([]byte(out), &long); err != nil {
		t.Fatalf("list -l: %v\n%s", err, out)
	}
	if len(long) != 2 || long[1].DomID != 2 || long[1].Config.CInfo.Name != "beta" || long[1].Config.CInfo.Type != "pvh" ||
		long[1].Config.BInfo.MaxVCPUs != 2 || len(long[1].Config.BInfo.AvailVCPUs) != 2 ||
		long[1].Config.BInfo.TargetMemKB != 16384 || long[1].Config.OnCrash != "preserve" || long[0].Config.BInfo.MaxVCPUs != 1 {
		t.Errorf("list -l: %+v", long)
	}
	if !strings.HasPrefix(out, "[\n    {\n        \"domid\": 1,") {
		t.Errorf("list -l is not indented as xl's:\n%s", out)
	}
	if uuid, _ := h.c0.Read("/local/domain/1/vm"); uuid != "/vm/"+long[0].Config.CInfo.UUID {
		t.Errorf("vm %q, uuid %q", uuid, long[0].Config.CInfo.UUID)
	}

	// A second domain with a taken name is refused.
	h.fails(1, `Domain with name "alpha" already exists (domain 1).`, "create", h.cfg("alpha", ""))
}

func TestPauseDestroyAndErrors(t *testing.T) {
	h := newHarness(t)
	h.ok("create", h.cfg("alpha", ""))
	h.ok("pause", "alpha")
	if !h.f.Domain(1).Paused {
		t.Fatal("not paused")
	}
	if !strings.Contains(h.ok("list", "1"), "--p---") {
		t.Error("list does not show p")
	}
	h.ok("unpause", "1")
	if h.f.Domain(1).Paused {
		t.Fatal("still paused")
	}
	h.ok("destroy", "alpha")
	if h.f.Domain(1) != nil {
		t.Fatal("not destroyed")
	}
	for _, p := range []string{"/local/domain/1", "/libxl/1"} {
		if _, err := h.c0.Read(p); err == nil {
			t.Errorf("%s left behind", p)
		}
	}
	if kids, _ := h.c0.Directory("/vm"); len(kids) != 0 {
		t.Errorf("/vm holds %v", kids)
	}
	if m, _ := filepath.Glob(filepath.Join(h.env.StateDir, "*")); len(m) != 0 {
		t.Errorf("records left: %v", m)
	}
	if got := h.ok("list"); strings.Count(got, "\n") != 2 {
		t.Errorf("a ghost in the list:\n%s", got)
	}
	h.fails(1, "Error: Domain 'alpha' does not exist.", "destroy", "alpha")
	h.fails(1, "cannot destroy privileged domain 0", "destroy", "0")
	h.fails(2, "Usage: xl destroy DOMAIN", "destroy")
	h.fails(2, "unknown option -x", "list", "-x")
	h.fails(2, `command "frobnicate" not implemented`, "frobnicate")
	h.fails(1, "alpha.cfg:7: bogus: unknown setting", "create", h.cfg("alpha", "bogus = 1\n"))
	h.fails(1, "command line:1: memory: want a number", "create", h.cfg("alpha", ""), `memory="x"`)
	h.fails(1, `domain "alpha": kernel: open`, "create", h.cfg("alpha", ""), `kernel="/nonexistent"`)
	// A build failure names the domain and the step, and leaves nothing.
	h.f.Fail = func(op string, dom uint32) error {
		if op == "max_mem" {
			return fmt.Errorf("injected")
		}
		return nil
	}
	h.fails(1, `domain 2 "alpha": build_pre: max_mem of domain 2: injected`, "create", h.cfg("alpha", ""))
	h.f.Fail = nil
	if h.f.Domain(2) != nil {
		t.Error("failed domain left")
	}
}

func TestShutdownRebootMemSetSched(t *testing.T) {
	h := newHarness(t)
	h.ok("create", h.cfg("alpha", ""))
	h.fails(1, "shutdown of domain 1 (alpha) failed: PV control interface not available", "shutdown", "alpha")
	// The guest's xenbus announces the features, as Linux does.
	u := h.store.Client(1)
	if err := u.Write("control/feature-poweroff", "1"); err != nil {
		t.Fatal(err)
	}
	if err := u.Write("control/feature-reboot", "1"); err != nil {
		t.Fatal(err)
	}
	h.ok("reboot", "alpha")
	if v, _ := h.c0.Read("/local/domain/1/control/shutdown"); v != "reboot" {
		t.Errorf("control/shutdown = %q", v)
	}
	// shutdown -w waits until the guest has gone down.
	polls := 0
	h.env.Sleep = func(time.Duration) {
		if polls++; polls == 3 {
			h.f.ShutdownDomain(1, xc.ShutdownPoweroff)
		}
	}
	out := h.ok("shutdown", "-w", "1")
	if v, _ := h.c0.Read("/local/domain/1/control/shutdown"); v != "poweroff" || polls != 3 ||
		out != "Waiting for 1 domains\nDomain 1 has been shut down, reason code 0\n" {
		t.Errorf("shutdown -w: %q after %d polls, control/shutdown %q", out, polls, v)
	}

	h.ok("create", h.cfg("beta", "maxmem = 64\n"))
	h.ok("mem-set", "beta", "32m")
	if v, _ := h.c0.Read("/local/domain/2/memory/target"); v != "32768" || h.f.Domain(2).MaxKiB != 32768+1024 {
		t.Errorf("mem-set: target %q, max %d", v, h.f.Domain(2).MaxKiB)
	}
	h.fails(1, "65537 KiB is above its maxmem of 65536 KiB", "mem-set", "beta", "65537")
	h.fails(2, "invalid size", "mem-set", "beta", "lots")
	for in, kib := range map[string]uint64{"1024": 1024, "2048b": 2, "1M": 1024, "1g": 1 << 20, "3k": 3} {
		if got, err := ParseMemKiB(in); err != nil || got != kib {
			t.Errorf("ParseMemKiB(%q) = %d, %v", in, got, err)
		}
	}

	h.ok("sched-credit", "-d", "beta", "-w", "512", "-c", "50")
	want := "Name                                ID Weight  Cap\n" +
		"beta                                 2    512   50\n"
	if got := h.ok("sched-credit", "-d", "2"); got != want {
		t.Errorf("sched-credit:\n%q\nwant\n%q", got, want)
	}
	h.fails(2, "weight \"0\"", "sched-credit", "-d", "beta", "-w", "0")
	h.fails(2, "need -d DOMAIN", "sched-credit", "-w", "5")
	if got := h.ok("sched-credit"); strings.Count(got, "\n") != 4 {
		t.Errorf("sched-credit of all:\n%s", got)
	}
}

func TestVCPUListInfoUptimeDmesg(t *testing.T) {
	h := newHarness(t)
	h.ok("create", h.cfg("alpha", ""))
	want := "Name                                ID  VCPU   CPU State   Time(s) Affinity (Hard / Soft)\n" +
		"alpha                                1     0    0   -b-       0.0  all / all\n" +
		"alpha                                1     1    -   --p       0.0  all / all\n"
	if got := h.ok("vcpu-list", "alpha"); got != want {
		t.Errorf("vcpu-list:\n%s\nwant:\n%s", got, want)
	}
	info := h.ok("info")
	for _, l := range []string{
		"host                   : dom0\n",
		"nr_cpus                : 1\n",
		"cpu_mhz                : 2000.000\n",
		"virt_caps              : hvm\n",
		"total_memory           : 1024\n",
		"free_memory            : 752\n", // 1024 - 256 (dom0) - 16 (alpha)
		"xen_version            : 4.17.0-gozen\n",
		"xend_config_format     : 4\n",
	} {
		if !strings.Contains(info, l) {
			t.Errorf("info lacks %q:\n%s", l, info)
		}
	}
	h.now = h.now.Add(90061 * time.Second) // alpha started at h.now
	want = "Name                                ID Uptime\n" +
		"Domain-0                             0 1 day,  1:01:01\n" +
		"alpha                                1 1 day,  1:01:01\n"
	if got := h.ok("uptime"); got != want {
		t.Errorf("uptime:\n%q\nwant\n%q", got, want)
	}
	if got := h.ok("uptime", "-s", "alpha"); got != " 19:31:01 up 1 day,  1:01, alpha (1)\n" {
		t.Errorf("uptime -s: %q", got)
	}
	if UptimeString(3*86400+59, false) != "3 days,  0:00:59" || UptimeString(61, true) != " 0:01" {
		t.Error("UptimeString")
	}
	h.f.Console = "(XEN) hv: hello\n"
	if got := h.ok("dmesg", "-c"); got != "(XEN) hv: hello\n" {
		t.Errorf("dmesg: %q", got)
	}
	if got := h.ok("dmesg"); got != "" {
		t.Errorf("dmesg after -c: %q", got)
	}
}

func TestConsole(t *testing.T) {
	h := newHarness(t)
	h.ok("create", h.cfg("alpha", ""))
	h.fails(1, "console of domain 1 (alpha): no console pty recorded", "console", "alpha")
	if err := h.c0.Write("/local/domain/1/console/tty", "/dev/pts/3"); err != nil {
		t.Fatal(err)
	}
	var got string
	h.env.AttachConsole = func(tty string) error { got = tty; return nil }
	h.ok("console", "alpha")
	if got != "/dev/pts/3" {
		t.Errorf("attached to %q", got)
	}
	// create -c waits for the console daemon to record beta's pty.
	got = ""
	polls := 0
	h.env.Sleep = func(time.Duration) {
		if polls++; polls == 2 {
			h.c0.Write("/local/domain/2/console/tty", "/dev/pts/4")
		}
	}
	h.ok("create", "-c", h.cfg("beta", ""))
	if got != "/dev/pts/4" || polls != 2 {
		t.Errorf("create -c attached to %q after %d polls", got, polls)
	}
	// Never recorded: an error after the wait.
	polls = 0
	h.env.Sleep = func(time.Duration) { polls++ }
	h.fails(1, "console of domain 3 (gamma): no console pty", "create", "-c", h.cfg("gamma", ""))
	if polls != ConsoleWaitPolls {
		t.Errorf("waited %d polls", polls)
	}
}

func TestDecide(t *testing.T) {
	c := &cfg.Config{OnPoweroff: cfg.Destroy, OnReboot: cfg.Restart, OnCrash: cfg.Preserve}
	for reason, want := range map[uint32]cfg.Action{
		xc.ShutdownPoweroff: cfg.Destroy, xc.ShutdownReboot: cfg.Restart, xc.ShutdownCrash: cfg.Preserve,
		xc.ShutdownSuspend: "", xc.ShutdownWatchdog: cfg.Destroy, xc.ShutdownSoftReset: cfg.Destroy,
	} {
		if got := Decide(reason, c); got != want {
			t.Errorf("reason %d: %q, want %q", reason, got, want)
		}
	}
}

func TestLifecycle(t *testing.T) {
	h := newHarness(t)
	h.ok("create", h.cfg("alpha", `on_reboot="restart"`+"\n"+`on_crash="rename-restart"`+"\n"+`on_poweroff="preserve"`))
	rec := h.env.loadRecord(1)
	if rec == nil {
		t.Fatal("no record")
	}
	// Running: nothing happens.
	if out, err := h.env.Step(1, rec); err != nil || out != (Outcome{Next: 1}) {
		t.Fatalf("running: %+v %v", out, err)
	}
	// Reboot: a new domain, same name and UUID, the old one gone.
	uuid := rec.UUID
	h.f.ShutdownDomain(1, xc.ShutdownReboot)
	out, err := h.env.Step(1, rec)
	if err != nil || out.Action != cfg.Restart || out.Next != 2 || out.Done || h.f.Domain(1) != nil {
		t.Fatalf("reboot: %+v %v", out, err)
	}
	if rec.DomID != 2 || rec.UUID != uuid || h.env.name(2) != "alpha" {
		t.Errorf("restarted as %+v, name %q", rec, h.env.name(2))
	}
	if f := h.f.Domain(2); f == nil || f.Paused {
		t.Fatal("the restarted domain is not running")
	}
	// Crash with rename-restart: the old one kept under a new name.
	h.f.ShutdownDomain(2, xc.ShutdownCrash)
	out, err = h.env.Step(2, rec)
	if err != nil || out.Next != 3 || h.f.Domain(2) == nil || h.env.name(2) != "alpha-20261204T1830Z" || h.env.name(3) != "alpha" {
		t.Fatalf("rename-restart: %+v %v; names %q %q", out, err, h.env.name(2), h.env.name(3))
	}
	if rec.UUID == uuid {
		t.Error("the new incarnation kept the preserved one's UUID")
	}
	if !strings.Contains(h.ok("list"), "alpha-20261204T1830Z                         2    16     2     ---sc-") {
		t.Errorf("list:\n%s", h.ok("list"))
	}
	// Poweroff with preserve: kept, watch over.
	h.f.ShutdownDomain(3, xc.ShutdownPoweroff)
	out, err = h.env.Step(3, rec)
	if err != nil || !out.Done || h.f.Domain(3) == nil {
		t.Fatalf("preserve: %+v %v", out, err)
	}
	// Monitor: a destroy policy ends the domain and the watch.
	h.ok("create", h.cfg("beta", ""))
	polls := 0
	h.env.Sleep = func(time.Duration) {
		if polls++; polls == 2 {
			h.f.ShutdownDomain(4, xc.ShutdownPoweroff)
		}
	}
	if code := Main(h.env, []string{MonitorVerb, "4"}); code != 0 || h.f.Domain(4) != nil {
		t.Fatalf("monitor: exit %d, domain %+v, stderr %s", code, h.f.Domain(4), h.errb.String())
	}
	if _, err := h.c0.Read("/local/domain/4/name"); err == nil {
		t.Error("beta's nodes are left")
	}
}

// xl -v create reports how long each build step took; without -v it
// does not.
func TestCreateVerboseTimings(t *testing.T) {
	h := newHarness(t)
	h.ok("create", h.cfg("quiet", ""))
	if strings.Contains(h.errb.String(), " ms") {
		t.Errorf("create without -v printed timings: %q", h.errb.String())
	}
	_, errs, c := h.run("-v", "create", h.cfg("loud", ""))
	if c != ExitOK {
		t.Fatalf("xl -v create: exit %d, %q", c, errs)
	}
	for _, step := range []string{"parsing the kernel", "populating memory", "loading the kernel", "build_post"} {
		if !strings.Contains(errs, `xl: domain "loud": `+step+": ") {
			t.Errorf("no %q timing in %q", step, errs)
		}
	}
}

// TestCreateCachesDecompressedKernel: the first create from a bzImage
// keeps what it decompressed; the next one loads that instead (the same
// bytes in the domain); a bzImage rewritten in place is decompressed
// afresh, never served the old kernel; and without a cache nothing is
// kept.
func TestCreateCachesDecompressedKernel(t *testing.T) {
	h := newHarness(t)
	h.env.KernelCache = &kcache.Cache{Dir: filepath.Join(h.dir, "kernels"), Max: 64 << 20}
	k := xltest.DefaultKernel()
	bz := h.file("vmlinuz", string(xltest.BzImage(k.ELF())))
	cfg := func(name string) string {
		return h.file(name+".cfg", fmt.Sprintf("name = %q\ntype = \"pvh\"\nkernel = %q\nmemory = 16\n", name, bz))
	}
	created := func(name string, want []byte, note string) {
		t.Helper()
		_, errs, c := h.run("-v", "create", cfg(name))
		if c != ExitOK || !strings.Contains(errs, note) {
			t.Fatalf("create %s: exit %d, stderr lacks %q:\n%s", name, c, note, errs)
		}
		id, err := h.env.find(name)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := h.f.Read(id, k.Paddr, len(want)); err != nil || !bytes.Equal(got, want) {
			t.Errorf("domain %s does not hold its kernel (%v)", name, err)
		}
	}
	created("one", k.Code, "the decompressed kernel is kept in the cache")
	ents, _ := filepath.Glob(filepath.Join(h.dir, "kernels", "*.vmlinux"))
	if len(ents) != 1 {
		t.Fatalf("cache holds %v", ents)
	}
	if b, _ := os.ReadFile(ents[0]); !bytes.Equal(b, k.ELF()) {
		t.Error("the cached kernel is not the decompressed bzImage")
	}
	created("two", k.Code, "the decompressed kernel is in the cache")

	// A new kernel written over the same file.
	k2 := xltest.DefaultKernel()
	for i := range k2.Code {
		k2.Code[i] ^= 0x5a
	}
	time.Sleep(10 * time.Millisecond) // a new modification time
	if err := os.WriteFile(bz, xltest.BzImage(k2.ELF()), 0o644); err != nil {
		t.Fatal(err)
	}
	created("three", k2.Code, "the decompressed kernel is kept in the cache")

	// A bzImage whose payload does not decode: the create fails and the
	// entry it was decoding into is gone.
	bad := xltest.BzImage(k.ELF())
	bad[len(bad)-40] ^= 0xff
	time.Sleep(10 * time.Millisecond)
	os.WriteFile(bz, bad, 0o644)
	if _, errs, c := h.run("create", cfg("five")); c == ExitOK {
		t.Errorf("a corrupt bzImage created a domain: %q", errs)
	}
	if tmp, _ := filepath.Glob(filepath.Join(h.dir, "kernels", ".new-*")); len(tmp) != 0 {
		t.Errorf("a failed create left %v", tmp)
	}

	h.env.KernelCache = nil
	os.RemoveAll(filepath.Join(h.dir, "kernels"))
	os.WriteFile(bz, xltest.BzImage(k.ELF()), 0o644)
	_, errs, c := h.run("-v", "create", cfg("four"))
	if c != ExitOK || strings.Contains(errs, "cach") {
		t.Errorf("create without a cache: exit %d, %q", c, errs)
	}
	if _, err := os.Stat(filepath.Join(h.dir, "kernels")); err == nil {
		t.Error("a cache directory appeared without a cache")
	}
}

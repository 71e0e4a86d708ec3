package xl

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"gozen/dom0/xs"
)

// fakeNet plays dom0's kernel for vif hotplug: netback's vifD.N exists
// once netback has probed the back end and while its back-end directory
// exists (removal deletes it), unless noNetback; Enslave records the
// bridge. Linux probes a back end when a write under it fires its
// "backend" watch and then finds state Initialising and the front-end
// directory present (xenbus_probe_node, backend_bus_id), and keeps it
// only if the front end has a state by then (netback's frontend_changed
// unregisters a device whose front end reads Unknown); probe is called on
// every write, as the quickest xenwatch would.
type fakeNet struct {
	c0        *xs.Client
	noNetback bool
	probed    map[string]bool   // vifD.N netback has probed
	renamed   map[string]string // netback's name -> new name
	bridge    map[string]string // interface -> bridge
	up        map[string]bool
}

func newFakeNet(c0 *xs.Client) *fakeNet {
	return &fakeNet{c0: c0, probed: map[string]bool{}, renamed: map[string]string{}, bridge: map[string]string{}, up: map[string]bool{}}
}

// probe is the kernel's reaction to a write at path.
func (f *fakeNet) probe(path, _ string) {
	var d, n int
	if _, err := fmt.Sscanf(path, "/local/domain/0/backend/vif/%d/%d/", &d, &n); err != nil {
		return
	}
	be := fmt.Sprintf("/local/domain/0/backend/vif/%d/%d", d, n)
	if st, err := f.c0.Read(be + "/state"); err != nil || st != "1" {
		return
	}
	fe, err := f.c0.Read(be + "/frontend")
	if err != nil {
		return
	}
	if _, err := f.c0.Read(fe); err != nil {
		return // backend_bus_id: -ENOENT, no device
	}
	if _, err := f.c0.Read(fe + "/state"); err != nil {
		return // the front end's state reads Unknown: netback unregisters
	}
	f.probed[fmt.Sprintf("vif%d.%d", d, n)] = true
}

// kernelName is netback's name for interface name if it exists now.
func (f *fakeNet) kernelName(name string) (string, bool) {
	k := name
	for orig, v := range f.renamed {
		if v == name {
			k = orig
		}
	}
	if _, gone := f.renamed[k]; gone && k == name {
		return "", false
	}
	var d, n int
	if _, err := fmt.Sscanf(k, "vif%d.%d", &d, &n); err != nil || fmt.Sprintf("vif%d.%d", d, n) != k || f.noNetback {
		return "", false
	}
	_, err := f.c0.Read(fmt.Sprintf("/local/domain/0/backend/vif/%d/%d/handle", d, n))
	return k, err == nil && f.probed[k]
}

func (f *fakeNet) Exists(name string) (bool, error) {
	_, ok := f.kernelName(name)
	return ok, nil
}

func (f *fakeNet) Rename(name, newName string) error {
	if ok, _ := f.Exists(name); !ok {
		return errors.New("no such device")
	}
	if f.up[name] {
		return errors.New("device busy")
	}
	f.renamed[name] = newName
	return nil
}

func (f *fakeNet) Enslave(name, bridge string) error {
	if ok, _ := f.Exists(name); !ok {
		return errors.New("no such device")
	}
	if bridge != "xenbr0" {
		return fmt.Errorf("%s: no such bridge", bridge)
	}
	f.bridge[name], f.up[name] = bridge, true
	return nil
}

func vifHarness(t *testing.T) (*harness, *fakeNet) {
	h := newHarness(t)
	n := newFakeNet(h.c0)
	h.env.Net = n
	h.bes.OnWrite = n.probe
	return h, n
}

func (h *harness) read(p string) string {
	h.t.Helper()
	v, err := h.c0.Read(p)
	if err != nil {
		h.t.Fatalf("read %s: %v", p, err)
	}
	return v
}

func (h *harness) perms(p string) string {
	h.t.Helper()
	v, err := h.c0.Perms(p)
	if err != nil {
		h.t.Fatalf("perms %s: %v", p, err)
	}
	return strings.Join(v, ",")
}

func (h *harness) gone(p string) {
	h.t.Helper()
	if _, err := h.c0.Read(p); err == nil {
		h.t.Fatalf("%s still exists", p)
	}
}

func TestCreateWithVifs(t *testing.T) {
	h, n := vifHarness(t)
	h.ok("create", h.cfg("web", `vif = [ 'mac=00:16:3E:01:02:03, bridge=xenbr0', 'vifname=web-eth1' ]`))
	be, fe := "/local/domain/0/backend/vif/1/0", "/local/domain/1/device/vif/0"
	for k, v := range map[string]string{"frontend": fe, "frontend-id": "1", "online": "1", "state": "1",
		"script": "/etc/xen/scripts/vif-bridge", "mac": "00:16:3e:01:02:03", "bridge": "xenbr0", "handle": "0",
		"type": "vif", "hotplug-status": "connected"} {
		if got := h.read(be + "/" + k); got != v {
			t.Errorf("%s/%s = %q, want %q", be, k, got, v)
		}
	}
	for k, v := range map[string]string{"backend": be, "backend-id": "0", "state": "1", "handle": "0", "mac": "00:16:3e:01:02:03"} {
		if got := h.read(fe + "/" + k); got != v {
			t.Errorf("%s/%s = %q, want %q", fe, k, got, v)
		}
	}
	if p := h.perms(be); p != "n0,r1" {
		t.Errorf("back end perms %s", p)
	}
	if p := h.perms(be + "/mac"); p != "n0,r1" {
		t.Errorf("back end node perms %s", p)
	}
	if p := h.perms(fe); p != "n1,r0" {
		t.Errorf("front end perms %s", p)
	}
	// The domU can write its front end but not its back end.
	u := h.store.Client(1)
	if err := u.Write(fe+"/state", "4"); err != nil {
		t.Errorf("domU writing its front end: %v", err)
	}
	if err := u.Write(be+"/state", "4"); err == nil {
		t.Error("domU wrote its back end")
	}
	// The second vif: a random MAC in Xen's OUI, the default bridge, the
	// interface renamed to vifname.
	mac := h.read("/local/domain/0/backend/vif/1/1/mac")
	if !regexp.MustCompile(`^00:16:3e:[0-7][0-9a-f]:[0-9a-f]{2}:[0-9a-f]{2}$`).MatchString(mac) {
		t.Errorf("default MAC %q", mac)
	}
	if h.read("/local/domain/1/device/vif/1/mac") != mac || h.read("/local/domain/0/backend/vif/1/1/vifname") != "web-eth1" {
		t.Error("second vif's front end MAC or vifname wrong")
	}
	if n.bridge["vif1.0"] != "xenbr0" || !n.up["vif1.0"] || n.bridge["web-eth1"] != "xenbr0" {
		t.Errorf("bridge ports %v up %v", n.bridge, n.up)
	}
	if d := h.f.Domain(1); d.Paused {
		t.Error("domain left paused")
	}
	h.c0.Write("/local/domain/1/device/vif/0/event-channel", "9")
	h.c0.Write("/local/domain/1/device/vif/0/tx-ring-ref", "768")
	h.c0.Write("/local/domain/1/device/vif/0/rx-ring-ref", "769")
	out := h.ok("network-list", "web")
	want := "Idx BE Mac Addr.         handle state evt-ch   tx-/rx-ring-ref BE-path                       \n" +
		"0   0  00:16:3e:01:02:03      0     4      9   768/769         /local/domain/0/backend/vif/1/0\n" +
		fmt.Sprintf("1   0  %s      1     1     -1    -1/-1          /local/domain/0/backend/vif/1/1\n", mac)
	if out != want {
		t.Errorf("network-list:\n%s\nwant:\n%s", out, want)
	}
	h.ok("destroy", "web")
	h.gone("/local/domain/0/backend/vif/1")
	h.gone("/local/domain/1")
	if ok, _ := n.Exists("vif1.0"); ok {
		t.Error("vif1.0 still exists")
	}
}

func TestCreatePausedWithVif(t *testing.T) {
	h, _ := vifHarness(t)
	h.ok("create", "-p", h.cfg("p", `vif = [ 'bridge=xenbr0' ]`))
	if !h.f.Domain(1).Paused {
		t.Error("create -p with a vif unpaused the domain")
	}
}

func TestCreateVifFailures(t *testing.T) {
	h, n := vifHarness(t)
	n.noNetback = true
	h.fails(1, "netback made no vif1.0 within 10s", "create", h.cfg("a", `vif = [ 'mac=00:16:3e:00:00:01' ]`))
	if _, err := h.f.DomainInfo(1); err == nil {
		t.Error("domain 1 left behind")
	}
	h.gone("/local/domain/0/backend/vif/1")
	h.gone("/local/domain/1")
	n.noNetback = false
	h.fails(1, "bridge nobr: nobr: no such bridge", "create", h.cfg("b", `vif = [ 'bridge=nobr' ]`))
	h.fails(1, "only dom0 serves vifs", "create", h.cfg("c", `vif = [ 'backend=3' ]`))
	h.fails(1, "type=vif", "create", h.cfg("d", `vif = [ 'type=ioemu' ]`))
	h.fails(1, "only vif-bridge", "create", h.cfg("e", `vif = [ 'script=vif-route' ]`))
	h.env.Net = nil
	h.fails(1, "no access to dom0's network interfaces", "create", h.cfg("f", `vif = [ '' ]`))
	out := h.ok("list")
	if strings.Count(out, "\n") != 2 {
		t.Errorf("domains left behind:\n%s", out)
	}
}

func TestNetworkAttachDetach(t *testing.T) {
	h, n := vifHarness(t)
	h.ok("create", h.cfg("web", ""))
	h.ok("network-attach", "web", "mac=00:16:3e:0a:0b:0c", "bridge=xenbr0")
	h.ok("network-attach", "1", "bridge=xenbr0")
	if h.read("/local/domain/0/backend/vif/1/0/mac") != "00:16:3e:0a:0b:0c" || h.read("/local/domain/0/backend/vif/1/1/handle") != "1" {
		t.Fatal("attached vifs' nodes wrong")
	}
	for _, d := range []string{"0", "1"} {
		h.connect("/local/domain/0/backend/vif/1/"+d, "/local/domain/1/device/vif/"+d)
	}
	// A netfront that answers Closing with Closed (netback then goes to
	// Closed too).
	closes := 0
	h.env.Sleep = func(time.Duration) {
		h.now = h.now.Add(time.Second)
		for _, d := range []string{"0", "1"} {
			be := "/local/domain/0/backend/vif/1/" + d
			if s, _ := h.c0.Read(be + "/state"); s == "5" {
				h.c0.Write(be+"/state", "6")
				closes++
			}
		}
	}
	h.ok("network-detach", "web", "00:16:3E:0A:0B:0C")
	if closes != 1 {
		t.Errorf("back end closed %d times", closes)
	}
	h.gone("/local/domain/0/backend/vif/1/0")
	h.gone("/local/domain/1/device/vif/0")
	if ok, _ := n.Exists("vif1.0"); ok {
		t.Error("vif1.0 still exists")
	}
	if h.read("/local/domain/0/backend/vif/1/1/handle") != "1" {
		t.Error("the other vif went too")
	}
	h.fails(1, "Unknown device 0.", "network-detach", "web", "0")
	h.fails(1, "Unknown device 00:16:3e:00:00:99.", "network-detach", "web", "00:16:3e:00:00:99")
	h.fails(1, "Unknown device bogus.", "network-detach", "web", "bogus")
	h.fails(2, "want DOMAIN and DEVID or MAC", "network-detach", "web")
	h.fails(1, "Domain 'nope' does not exist", "network-detach", "nope", "0")
	h.fails(1, "bad mac", "network-attach", "web", "mac=zz")
	// A front end that never closes: removed anyway, with a warning.
	h.env.Sleep = func(time.Duration) { h.now = h.now.Add(time.Second) }
	h.fails(1, "still in state 5", "network-detach", "web", "1")
	h.gone("/local/domain/0/backend/vif/1/1")
	out := h.ok("network-list", "web")
	if strings.Count(out, "\n") != 1 {
		t.Errorf("network-list after detaching all:\n%s", out)
	}
	h.fails(2, "want DOMAIN...", "network-list")
}

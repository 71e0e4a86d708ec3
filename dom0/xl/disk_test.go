package xl

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"gozen/dom0/xs"
)

// fakeBlock plays dom0's block devices and blkback: /dev/vdb is a block
// device (254:16), files in files are regular files; loop devices are
// handed out from loop0 and stay busy (backed) after DetachLoop while
// blkback holds them, which it does while the back end that names them
// exists (as Linux autoclears a busy loop device at its last close).
type fakeBlock struct {
	c0        *xs.Client
	files     map[string]bool
	loops     map[string]string // /dev/loopN -> backing file
	detached  map[string]bool
	attachErr error
}

func newFakeBlock(c0 *xs.Client) *fakeBlock {
	return &fakeBlock{c0: c0, files: map[string]bool{"/srv/a.img": true, "/srv/b.img": true},
		loops: map[string]string{}, detached: map[string]bool{}}
}

func (f *fakeBlock) Stat(path string) (bool, uint32, uint32, error) {
	switch {
	case path == "/dev/vdb":
		return true, 254, 16, nil
	case f.files[path]:
		return false, 0, 0, nil
	case path == "/srv":
		return false, 0, 0, errors.New("neither a block device nor a regular file")
	}
	return false, 0, 0, errors.New("no such file or directory")
}

func (f *fakeBlock) AttachLoop(file string, ro bool) (string, uint32, uint32, error) {
	if f.attachErr != nil {
		return "", 0, 0, f.attachErr
	}
	for i := 0; ; i++ {
		dev := fmt.Sprintf("/dev/loop%d", i)
		if _, busy := f.loops[dev]; !busy {
			f.loops[dev] = file
			delete(f.detached, dev)
			return dev, 7, uint32(i), nil
		}
	}
}

// held reports whether a back end still names loop device dev.
func (f *fakeBlock) held(dev string) bool {
	doms, _ := f.c0.Directory("/local/domain/0/backend/vbd")
	for _, d := range doms {
		devs, _ := f.c0.Directory("/local/domain/0/backend/vbd/" + d)
		for _, n := range devs {
			if v, _ := f.c0.Read("/local/domain/0/backend/vbd/" + d + "/" + n + "/node"); v == dev {
				return true
			}
		}
	}
	return false
}

func (f *fakeBlock) DetachLoop(dev string) error {
	if _, ok := f.loops[dev]; !ok {
		return nil
	}
	f.detached[dev] = true
	if !f.held(dev) {
		delete(f.loops, dev)
	}
	return nil
}

func (f *fakeBlock) LoopBacking(dev string) (string, error) {
	if f.detached[dev] && !f.held(dev) {
		delete(f.loops, dev)
	}
	return f.loops[dev], nil
}

func diskHarness(t *testing.T) (*harness, *fakeBlock) {
	h := newHarness(t)
	b := newFakeBlock(h.c0)
	h.env.Block = b
	return h, b
}

func TestCreateWithDisks(t *testing.T) {
	h, b := diskHarness(t)
	// Created paused until the disks are there: the domain is unpaused
	// after, and the back end's state was written after its other nodes.
	h.ok("create", h.cfg("db", `disk = [ 'format=raw, vdev=xvda, access=rw, target=/srv/a.img', '/dev/vdb,,xvdb,ro' ]`))
	be, fe := "/local/domain/0/backend/vbd/1/51712", "/local/domain/1/device/vbd/51712"
	for k, v := range map[string]string{"frontend": fe, "frontend-id": "1", "online": "1", "removable": "0",
		"bootable": "1", "state": "1", "dev": "xvda", "type": "phy", "mode": "w", "device-type": "disk",
		"params": "/srv/a.img", "physical-device": "7:0", "physical-device-path": "/dev/loop0", "node": "/dev/loop0",
		"discard-enable": "1", "hotplug-status": "connected", "script": "/etc/xen/scripts/block"} {
		if got := h.read(be + "/" + k); got != v {
			t.Errorf("%s/%s = %q, want %q", be, k, got, v)
		}
	}
	for k, v := range map[string]string{"backend": be, "backend-id": "0", "state": "1", "virtual-device": "51712", "device-type": "disk"} {
		if got := h.read(fe + "/" + k); got != v {
			t.Errorf("%s/%s = %q, want %q", fe, k, got, v)
		}
	}
	for _, p := range []string{be, be + "/params", be + "/state", be + "/physical-device"} {
		if got := h.perms(p); got != "n0,r1" {
			t.Errorf("perms %s = %s", p, got)
		}
	}
	for _, p := range []string{fe, fe + "/state", fe + "/virtual-device"} {
		if got := h.perms(p); got != "n1,r0" {
			t.Errorf("perms %s = %s", p, got)
		}
	}
	u := h.store.Client(1)
	if err := u.Write(fe+"/state", "4"); err != nil {
		t.Errorf("domU writing its front end: %v", err)
	}
	if err := u.Write(be+"/physical-device", "8:0"); err == nil {
		t.Error("domU wrote its back end's physical-device")
	}
	// The block device: no loop, its own number, read-only.
	be2 := "/local/domain/0/backend/vbd/1/51728"
	if h.read(be2+"/physical-device") != "fe:10" || h.read(be2+"/mode") != "r" || h.read(be2+"/params") != "/dev/vdb" {
		t.Errorf("xvdb back end: %s %s", h.read(be2+"/physical-device"), h.read(be2+"/mode"))
	}
	if _, err := h.c0.Read(be2 + "/node"); err == nil {
		t.Error("a block-device target got a loop node")
	}
	if b.loops["/dev/loop0"] != "/srv/a.img" || len(b.loops) != 1 {
		t.Errorf("loops %v", b.loops)
	}
	if h.f.Domain(1).Paused {
		t.Error("domain left paused")
	}
	h.c0.Write(fe+"/event-channel", "12")
	h.c0.Write(fe+"/ring-ref", "8")
	want := "Vdev  BE  handle state evt-ch ring-ref BE-path                       \n" +
		"51712 0   1      4     12     8        /local/domain/0/backend/vbd/1/51712\n" +
		"51728 0   1      1     -1     -1       /local/domain/0/backend/vbd/1/51728\n"
	if out := h.ok("block-list", "db"); out != want {
		t.Errorf("block-list:\n%s\nwant:\n%s", out, want)
	}
	// Destroy: both trees go and the loop device is freed.
	h.ok("destroy", "db")
	h.gone("/local/domain/0/backend/vbd/1")
	h.gone("/local/domain/1")
	if len(b.loops) != 0 {
		t.Errorf("loop devices left: %v", b.loops)
	}
	if h.errb.Len() != 0 {
		t.Errorf("destroy warned: %s", h.errb.String())
	}
}

func TestCreatePausedWithDisk(t *testing.T) {
	h, _ := diskHarness(t)
	h.ok("create", "-p", h.cfg("p", `disk = [ '/dev/vdb,raw,xvda' ]`))
	if !h.f.Domain(1).Paused {
		t.Error("create -p with a disk unpaused the domain")
	}
}

func TestCreateDiskFailures(t *testing.T) {
	h, b := diskHarness(t)
	h.fails(1, `disk format "qcow2": only raw disks`, "create", h.cfg("a", `disk = [ 'format=qcow2, vdev=xvda, target=/srv/a.img' ]`))
	h.fails(1, "only dom0 serves disks", "create", h.cfg("b", `disk = [ 'backend=2, vdev=xvda, target=/srv/a.img' ]`))
	h.fails(1, "only the block script", "create", h.cfg("c", `disk = [ 'script=block-iscsi, vdev=xvda, target=/srv/a.img' ]`))
	h.fails(1, "target /srv/none.img: no such file", "create", h.cfg("d", `disk = [ 'vdev=xvda, target=/srv/none.img' ]`))
	h.fails(1, "target /srv: neither a block device", "create", h.cfg("e", `disk = [ 'vdev=xvda, target=/srv' ]`))
	h.fails(1, "an empty drive", "create", h.cfg("f", `disk = [ 'vdev=hdc, devtype=cdrom' ]`))
	h.fails(1, `vdev "vda"`, "create", h.cfg("g", `disk = [ '/srv/a.img,raw,vda' ]`))
	h.fails(1, "the domain already has it", "create", h.cfg("h", `disk = [ '/srv/a.img,raw,xvda', '/srv/b.img,raw,d0' ]`))
	b.attachErr = errors.New("no free loop device")
	h.fails(1, "attaching /srv/a.img to a loop device: no free loop device", "create", h.cfg("i", `disk = [ '/srv/a.img,,xvda' ]`))
	b.attachErr = nil
	h.env.Block = nil
	h.fails(1, "no access to dom0's block devices", "create", h.cfg("j", `disk = [ '/srv/a.img,,xvda' ]`))
	// Nothing left behind: no domain, no back end, no loop device.
	if out := h.ok("list"); strings.Count(out, "\n") != 2 {
		t.Errorf("domains left behind:\n%s", out)
	}
	if ents, _ := h.c0.Directory("/local/domain/0/backend/vbd"); len(ents) != 0 {
		t.Errorf("back ends left: %v", ents)
	}
	if len(b.loops) != 0 {
		t.Errorf("loop devices left: %v", b.loops)
	}
}

func TestBlockAttachDetach(t *testing.T) {
	h, b := diskHarness(t)
	h.ok("create", h.cfg("web", ""))
	h.ok("block-attach", "web", "format=raw, vdev=xvdb, access=rw, target=/srv/b.img")
	h.ok("block-attach", "1", "/dev/vdb", "raw", "xvdc", "ro")
	if h.read("/local/domain/0/backend/vbd/1/51728/node") != "/dev/loop0" || h.read("/local/domain/0/backend/vbd/1/51744/mode") != "r" {
		t.Fatal("attached disks' nodes wrong")
	}
	h.fails(1, "the domain already has it", "block-attach", "web", "/srv/a.img,,xvdb")
	for _, d := range []string{"51728", "51744"} {
		h.connect("/local/domain/0/backend/vbd/1/"+d, "/local/domain/1/device/vbd/"+d)
	}
	// blkfront answers Closing with Closed (blkback then goes Closed).
	closes := 0
	h.env.Sleep = func(time.Duration) {
		h.now = h.now.Add(time.Second)
		for _, d := range []string{"51728", "51744"} {
			be := "/local/domain/0/backend/vbd/1/" + d
			if s, _ := h.c0.Read(be + "/state"); s == "5" {
				h.c0.Write(be+"/state", "6")
				closes++
			}
		}
	}
	h.ok("block-detach", "web", "xvdb")
	if closes != 1 {
		t.Errorf("back end closed %d times", closes)
	}
	h.gone("/local/domain/0/backend/vbd/1/51728")
	h.gone("/local/domain/1/device/vbd/51728")
	if len(b.loops) != 0 {
		t.Errorf("loop devices left: %v", b.loops)
	}
	if h.read("/local/domain/0/backend/vbd/1/51744/dev") != "xvdc" {
		t.Error("the other disk went too")
	}
	h.fails(1, "Error: Device xvdb not connected.", "block-detach", "web", "xvdb")
	h.fails(1, "Error: Device 51728 not connected.", "block-detach", "web", "51728")
	h.fails(1, "Error: Device bogus not connected.", "block-detach", "web", "bogus")
	h.fails(2, "want DOMAIN and VDEV or DEVID", "block-detach", "web")
	h.fails(2, "want DOMAIN and a disk spec", "block-attach", "web")
	h.fails(1, "Domain 'nope' does not exist", "block-detach", "nope", "xvdc")
	h.fails(1, "block-attach: unknown format", "block-attach", "web", "/srv/a.img,zip,xvdd")
	h.fails(1, "no vdev", "block-attach", "web", "target=/srv/a.img")
	// A front end that never closes: removed anyway, with the reason; by
	// its number this time.
	h.env.Sleep = func(time.Duration) { h.now = h.now.Add(time.Second) }
	h.fails(1, "still in state 5", "block-detach", "web", "51744")
	h.gone("/local/domain/0/backend/vbd/1/51744")
	if out := h.ok("block-list", "web"); strings.Count(out, "\n") != 1 {
		t.Errorf("block-list after detaching all:\n%s", out)
	}
	h.fails(2, "want DOMAIN...", "block-list")
}

// A loop device the kernel does not free (blkback never lets go) is
// reported, bounded, when the disk goes.
func TestDiskLoopNotFreed(t *testing.T) {
	h, b := diskHarness(t)
	h.ok("create", h.cfg("s", `disk = [ '/srv/a.img,,xvda' ]`))
	stuck := &stuckBlock{b}
	h.env.Block = stuck
	_, errs, code := h.run("destroy", "s")
	if code != 0 || !strings.Contains(errs, "/dev/loop0 still backed by /srv/a.img 10s after it was detached") {
		t.Errorf("destroy: exit %d, %q", code, errs)
	}
	h.gone("/local/domain/0/backend/vbd/1")
}

type stuckBlock struct{ *fakeBlock }

func (s *stuckBlock) LoopBacking(dev string) (string, error) { return s.loops[dev], nil }
func (s *stuckBlock) DetachLoop(dev string) error            { return nil }

// A target another domain has is refused unless both are read-only.
func TestDiskSharing(t *testing.T) {
	h, b := diskHarness(t)
	h.ok("create", h.cfg("a", `disk = [ '/srv/a.img,,xvda', '/dev/vdb,,xvdb,ro' ]`))
	h.fails(1, "target /srv/a.img is already in use by domain 1 (xvda, mode w)", "create", h.cfg("b", `disk = [ '/srv/a.img,,xvda,ro' ]`))
	h.fails(1, "target /dev/vdb is already in use by domain 1 (xvdb, mode r)", "create", h.cfg("c", `disk = [ '/dev/vdb,,xvda,rw' ]`))
	h.ok("create", h.cfg("d", `disk = [ '/dev/vdb,,xvda,ro' ]`))
	h.fails(1, "already in use by domain 1", "block-attach", "d", "/srv/a.img,,xvdc")
	if len(b.loops) != 1 {
		t.Errorf("loops %v", b.loops)
	}
	h.ok("destroy", "a")
	h.ok("block-attach", "d", "/srv/a.img,,xvdc")
}

package xl

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// deviceHarness has both fakes: a disk (a file, so a loop device) and a
// vif on domain 1, "dev".
func deviceHarness(t *testing.T) (*harness, *fakeBlock, *fakeNet) {
	h, b := diskHarness(t)
	n := newFakeNet(h.c0)
	h.env.Net = n
	h.bes.OnWrite = n.probe
	h.ok("create", h.cfg("dev", `disk = [ '/srv/a.img,,xvda' ]`+"\n"+`vif = [ 'mac=00:16:3e:00:00:01' ]`))
	for _, c := range devicePaths {
		h.connect(c[0], c[1])
	}
	return h, b, n
}

// connect plays the front end and back end connecting (state 4 both).
func (h *harness) connect(be, fe string) {
	h.t.Helper()
	if err := h.c0.Write(fe+"/state", "4"); err != nil {
		h.t.Fatal(err)
	}
	if err := h.c0.Write(be+"/state", "4"); err != nil {
		h.t.Fatal(err)
	}
}

// devicePaths are the back-end and front-end trees deviceHarness makes.
var devicePaths = [][2]string{
	{"/local/domain/0/backend/vbd/1/51712", "/local/domain/1/device/vbd/51712"},
	{"/local/domain/0/backend/vif/1/0", "/local/domain/1/device/vif/0"},
}

// logIndex is where entry is in the fake back ends' log (-1: absent).
func logIndex(h *harness, entry string) int { return slices.Index(h.bes.Log, entry) }

// Destroy asks each back end to close (online 0, Closing), removes the
// front end (the dying domain cannot answer), and waits for Closed before
// it removes the back-end tree and undoes the hotplug steps.
func TestDestroyWaitsForBackendsToClose(t *testing.T) {
	h, b, n := deviceHarness(t)
	start := h.now
	_, errs, code := h.run("destroy", "dev")
	if code != 0 || errs != "" {
		t.Fatalf("destroy: exit %d, %q", code, errs)
	}
	for _, c := range devicePaths {
		be, fe := c[0], c[1]
		closing, rmFE, closed, rmBE := logIndex(h, "write "+be+"/state=5"), logIndex(h, "rm "+fe), logIndex(h, "closed "+be), logIndex(h, "rm "+be)
		if logIndex(h, "write "+be+"/online=0") < 0 || closing < 0 || !(closing < rmFE && rmFE <= closed && closed < rmBE) {
			t.Errorf("%s: closing at %d, front end removed at %d, closed at %d, removed at %d; log:\n%s",
				be, closing, rmFE, closed, rmBE, strings.Join(h.bes.Log, "\n"))
		}
		h.gone(be)
		h.gone(fe)
	}
	if len(b.loops) != 0 {
		t.Errorf("loop devices left: %v", b.loops)
	}
	if ok, _ := n.Exists("vif1.0"); ok {
		t.Error("vif1.0 still exists")
	}
	if d := h.now.Sub(start); d > 3*time.Second {
		t.Errorf("destroy took %v of fake time with back ends that close at once", d)
	}
	// xl -v says how long each back end took to close.
	h2, _, _ := deviceHarness(t)
	_, errs, code = h2.run("-v", "destroy", "dev")
	if code != 0 || !strings.Contains(errs, "xl: disk 51712 of domain 1: back end closed in 0 ms\n") ||
		!strings.Contains(errs, "xl: vif 0 of domain 1: back end closed in 0 ms\n") {
		t.Errorf("xl -v destroy: exit %d, %q", code, errs)
	}
}

// Back ends that never close hold destroy up for DiskWait/VifWait at most,
// together (they are asked to close at once and waited for together, not
// one wait each); then they go anyway, with a warning naming each, and the
// hotplug steps are still undone.
func TestDestroyBackendThatNeverCloses(t *testing.T) {
	h, b, n := deviceHarness(t)
	h.bes.Stuck = true
	start := h.now
	_, errs, code := h.run("destroy", "dev")
	if code != 0 {
		t.Fatalf("destroy: exit %d, %q", code, errs)
	}
	for _, want := range []string{
		"disk 51712 of domain 1: back end still in state 5 after 10s; removed anyway",
		"vif 0 of domain 1: back end still in state 5 after 10s; removed anyway",
	} {
		if !strings.Contains(errs, want) {
			t.Errorf("destroy's warnings %q lack %q", errs, want)
		}
	}
	if d := h.now.Sub(start); d < 10*time.Second || d > 13*time.Second {
		t.Errorf("destroy waited %v of fake time for two stuck back ends, want about 10s", d)
	}
	h.gone("/local/domain/0/backend/vbd/1")
	h.gone("/local/domain/0/backend/vif/1")
	h.gone("/local/domain/1")
	if len(b.loops) != 0 {
		t.Errorf("loop devices left: %v", b.loops)
	}
	if ok, _ := n.Exists("vif1.0"); ok {
		t.Error("vif1.0 still exists")
	}
	if out := h.ok("list"); strings.Contains(out, "dev ") {
		t.Errorf("dev still listed:\n%s", out)
	}
}

// Detaching from a running domain: the front end answers Closing, the
// back end closes, and only then do the trees go; the front end's tree
// is not removed before the back end has closed.
func TestDetachWithLiveFrontends(t *testing.T) {
	h, b, n := deviceHarness(t)
	h.bes.FrontendsAnswer = true
	h.ok("block-detach", "dev", "xvda")
	h.ok("network-detach", "dev", "0")
	for _, c := range devicePaths {
		be, fe := c[0], c[1]
		feClosed, closed, rmFE := logIndex(h, "frontend closed "+fe), logIndex(h, "closed "+be), logIndex(h, "rm "+fe)
		if feClosed < 0 || !(feClosed < closed && closed < rmFE) {
			t.Errorf("%s: front end closed at %d, back end at %d, front end removed at %d; log:\n%s",
				be, feClosed, closed, rmFE, strings.Join(h.bes.Log, "\n"))
		}
		h.gone(be)
		h.gone(fe)
	}
	if len(b.loops) != 0 {
		t.Errorf("loop devices left: %v", b.loops)
	}
	if ok, _ := n.Exists("vif1.0"); ok {
		t.Error("vif1.0 still exists")
	}
}

// A back end that is not connected — never connected, or closed already
// because the domain's front end closed it at shutdown — is removed at
// once, as libxl does: Linux would not write Closed again.
func TestRemoveUnconnectedBackendAtOnce(t *testing.T) {
	for _, state := range []string{"2", "6"} {
		h, b, n := deviceHarness(t)
		h.bes.Stuck = true
		for _, c := range devicePaths {
			h.c0.Write(c[0]+"/state", state)
		}
		start := h.now
		_, errs, code := h.run("destroy", "dev")
		if code != 0 || errs != "" {
			t.Errorf("state %s: destroy: exit %d, %q", state, code, errs)
		}
		if d := h.now.Sub(start); d > 3*time.Second {
			t.Errorf("state %s: destroy waited %v of fake time", state, d)
		}
		for _, c := range devicePaths {
			if logIndex(h, "write "+c[0]+"/state=5") >= 0 {
				t.Errorf("state %s: %s asked to close", state, c[0])
			}
			h.gone(c[0])
			h.gone(c[1])
		}
		if len(b.loops) != 0 {
			t.Errorf("loop devices left: %v", b.loops)
		}
		if ok, _ := n.Exists("vif1.0"); ok {
			t.Error("vif1.0 still exists")
		}
	}
}

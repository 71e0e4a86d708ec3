package hostilefe

import (
	"encoding/binary"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// fakeDom is the domU's view of xenstore, its grants and event channels,
// with a fake dom0 behind them: back ends that follow the xenbus
// handshake and answer requests with a simplified version of blkback's
// and netback's checks (decoded from the raw ring bytes, at the C
// offsets). lenient makes them answer every request with success.
type fakeDom struct {
	t       *testing.T
	nodes   map[string]string
	pages   map[uint32][]byte // live grants
	mapped  map[uint32][]byte // grants the back end keeps mapped (persistent)
	nextRef uint32
	ports   map[uint32]string // port -> "vbd" or "vif"
	lenient bool
	halted  map[string]bool
	cons    map[string]uint32
	notes   int
}

func newFakeDom(t *testing.T) *fakeDom {
	f := &fakeDom{t: t, nodes: map[string]string{}, pages: map[uint32][]byte{}, mapped: map[uint32][]byte{},
		nextRef: 8, ports: map[uint32]string{}, halted: map[string]bool{}, cons: map[string]uint32{}}
	f.nodes["device/vbd/51712/backend"] = "/be/vbd"
	f.nodes["/be/vbd/state"] = "2"
	f.nodes["device/vif/0/backend"] = "/be/vif"
	f.nodes["/be/vif/state"] = "2"
	return f
}

func (f *fakeDom) Read(p string) (string, error) {
	if v, ok := f.nodes[p]; ok {
		return v, nil
	}
	return "", errors.New("ENOENT")
}

func (f *fakeDom) Directory(p string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	for k := range f.nodes {
		if rest, ok := strings.CutPrefix(k, p+"/"); ok {
			c := strings.Split(rest, "/")[0]
			if !seen[c] {
				seen[c] = true
				out = append(out, c)
			}
		}
	}
	return out, nil
}

func (f *fakeDom) Write(p, v string) error {
	f.nodes[p] = v
	switch p {
	case "device/vbd/51712/state":
		be := "/be/vbd/state"
		switch v {
		case "3":
			ref := f.num("device/vbd/51712/ring-ref")
			if f.pages[ref] == nil || f.nodes["device/vbd/51712/protocol"] != "x86_64-abi" {
				f.nodes[be] = "5"
			} else {
				f.mapped[ref] = f.pages[ref]
				f.nodes[be] = "4"
				f.nodes["/be/vbd/sectors"] = "16384"
				f.nodes["/be/vbd/feature-persistent"] = "1"
			}
		case "6":
			f.nodes[be] = "6"
		case "1":
			if f.nodes[be] == "6" {
				f.nodes[be] = "2"
			}
		}
	case "device/vif/0/state":
		if v == "4" && f.pages[f.num("device/vif/0/tx-ring-ref")] != nil && f.nodes["device/vif/0/request-rx-copy"] == "1" {
			f.mapped[f.num("device/vif/0/tx-ring-ref")] = f.pages[f.num("device/vif/0/tx-ring-ref")]
			f.nodes["/be/vif/state"] = "4"
		}
	}
	return nil
}

func (f *fakeDom) num(p string) uint32 {
	var n uint32
	fmt.Sscan(f.nodes[p], &n)
	return n
}

func (f *fakeDom) Share(domid uint16, n int, writable bool) ([]uint32, [][]byte, func() error, error) {
	if domid != 0 || !writable {
		f.t.Errorf("Share(%d, %d, %v)", domid, n, writable)
	}
	var refs []uint32
	var pages [][]byte
	for i := 0; i < n; i++ {
		p := make([]byte, PageSize)
		f.pages[f.nextRef] = p
		refs = append(refs, f.nextRef)
		pages = append(pages, p)
		f.nextRef++
	}
	return refs, pages, func() error {
		for _, r := range refs {
			delete(f.pages, r) // a mapped (persistent) grant stays in f.mapped
		}
		return nil
	}, nil
}

func (f *fakeDom) BindUnbound(remote uint32) (uint32, error) {
	p := uint32(len(f.ports) + 5)
	f.ports[p] = ""
	return p, nil
}

// Notify runs the back end the port belongs to (found by the front
// end's event-channel node).
func (f *fakeDom) Notify(port uint32) error {
	f.notes++
	switch {
	case f.nodes["/be/vbd/state"] == "4" && f.num("device/vbd/51712/event-channel") == port:
		f.blkback()
	case f.nodes["/be/vif/state"] == "4" && f.num("device/vif/0/event-channel") == port:
		f.netback()
	}
	return nil
}

func (f *fakeDom) granted(ref uint32) bool { return f.pages[ref] != nil || f.mapped[ref] != nil }

func (f *fakeDom) blkback() {
	le := binary.LittleEndian
	ring := f.mapped[f.num("device/vbd/51712/ring-ref")]
	prod := le.Uint32(ring[0:])
	if f.halted["vbd"] || prod-f.cons["vbd"] > 32 {
		f.halted["vbd"] = true
		return
	}
	for ; f.cons["vbd"] != prod; f.cons["vbd"]++ {
		i := f.cons["vbd"]
		req := ring[64+int(i%32)*112:][:112]
		st := int16(0)
		nseg := int(req[1])
		sector := le.Uint64(req[16:])
		switch op := req[0]; {
		case f.lenient:
		case op == 0 || op == 1:
			if nseg < 1 || nseg > 11 || sector+uint64(8*nseg) > 16384 || sector+uint64(8*nseg) < sector {
				st = -1
				break
			}
			for s := 0; s < nseg; s++ {
				seg := req[24+8*s:]
				if !f.granted(le.Uint32(seg)) || seg[4] > seg[5] || seg[5] > 7 {
					st = -1
				}
				if st == 0 {
					f.mapped[le.Uint32(seg)] = f.pages[le.Uint32(seg)] // persistent
				}
			}
		case op == 5:
			if le.Uint64(req[16:])+le.Uint64(req[24:]) > 16384 {
				st = -1
			}
		case op == 6:
			st = -1
		default:
			st = -2
		}
		rsp := ring[64+int(i%32)*112:]
		for j := range rsp[:16] {
			rsp[j] = 0
		}
		copy(rsp, req[8:16]) // id
		rsp[8] = req[0]
		le.PutUint16(rsp[10:], uint16(st))
		le.PutUint32(ring[8:], i+1)
	}
}

func (f *fakeDom) netback() {
	le := binary.LittleEndian
	ring := f.mapped[f.num("device/vif/0/tx-ring-ref")]
	prod := le.Uint32(ring[0:])
	for ; !f.halted["vif"] && f.cons["vif"] != prod; f.cons["vif"]++ {
		i := f.cons["vif"]
		req := ring[64+int(i%256)*12:][:12]
		st := int16(0)
		off, size := le.Uint16(req[4:]), le.Uint16(req[10:])
		switch {
		case f.lenient:
		case int(off)+int(size) > PageSize:
			f.halted["vif"] = true // fatal: disabled, no response
			return
		case size < 14 || !f.granted(le.Uint32(req)):
			st = -1
		}
		rsp := ring[64+int(i%256)*12:]
		copy(rsp[0:2], req[8:10])
		le.PutUint16(rsp[2:], uint16(st))
		le.PutUint32(ring[8:], i+1)
	}
}

func runFake(t *testing.T, f *fakeDom) (checks, fails int, log []string, err error) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	e := &Env{XS: f, Gnt: f, Evt: f,
		Logf:  func(format string, args ...any) { log = append(log, fmt.Sprintf(format, args...)) },
		Now:   func() time.Time { return now },
		Sleep: func(d time.Duration) { now = now.Add(d) },
		Flood: 100, Wait: time.Second,
	}
	checks, fails, err = e.Run()
	return
}

// Against back ends that check as blkback and netback do, every check
// passes: the handshakes (two refused, then connected), the requests
// with their expected statuses, the flood, the halted ring, the
// disabled vif.
func TestRunAgainstCheckingBackends(t *testing.T) {
	f := newFakeDom(t)
	checks, fails, log, err := runFake(t, f)
	if err != nil || fails != 0 || checks != 25 {
		t.Fatalf("Run: %d checks, %d failed, %v:\n%s", checks, fails, err, strings.Join(log, "\n"))
	}
	for _, want := range []string{
		`^vbd 51712: ring-ref 8 granted then revoked: back end state 5 \(gave up\)$`,
		`^vbd 51712: protocol sparc-abi: back end state 5 \(gave up\)$`,
		`^vbd 51712: operation 0x7f: status -2 \(want \[-2\]\)$`,
		`^vbd 51712: read into grant [0-9]+ after it was revoked: status 0 \(want \[0\]\)$`,
		`^vbd 51712: grant [0-9]+ revoked before use: status -1`,
		`^vbd 51712: 100 notifications on port 5 in `,
		`^vbd 51712: req_prod 1000 past the ring: no response \(ring halted\)$`,
		`^vif 0: size 8 \(less than an Ethernet header\): status -1 \(want -1\)$`,
		`^vif 0: offset 4000 \+ size 200 \(crosses the page\): no response \(vif disabled\)$`,
	} {
		found := false
		for _, l := range log {
			found = found || regexp.MustCompile(want).MatchString(l)
		}
		if !found {
			t.Errorf("no %q in:\n%s", want, strings.Join(log, "\n"))
		}
	}
	if f.notes < 200 {
		t.Errorf("%d notifications", f.notes)
	}
}

// Back ends that accept everything fail the checks that expect errors.
func TestRunAgainstLenientBackends(t *testing.T) {
	f := newFakeDom(t)
	f.lenient = true
	_, fails, log, err := runFake(t, f)
	if err != nil || fails < 10 {
		t.Fatalf("Run: %d failed, %v:\n%s", fails, err, strings.Join(log, "\n"))
	}
	if !strings.HasPrefix(log[len(log)-1], "FAIL: vif 0: offset 4000") {
		t.Errorf("last line %q", log[len(log)-1])
	}
}

// A back end that never leaves InitWait stops the run with an error.
func TestRunBackendNeverConnects(t *testing.T) {
	f := newFakeDom(t)
	f.nodes["/be/vbd/state"] = "1"
	_, _, _, err := runFake(t, f)
	if err == nil || !strings.Contains(err.Error(), "/be/vbd/state is 1, not [2]") {
		t.Errorf("err %v", err)
	}
}

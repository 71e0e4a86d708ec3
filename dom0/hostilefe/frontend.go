package hostilefe

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Store is the domU's xenstore connection (package xs's Client).
type Store interface {
	Read(path string) (string, error)
	Write(path, value string) error
	Directory(path string) ([]string, error)
}

// Grants shares pages with another domain (xendev.Gntalloc).
type Grants interface {
	Share(domid uint16, n int, writable bool) (refs []uint32, pages [][]byte, revoke func() error, err error)
}

// Events allocates and signals event channels (xendev.Evtchn).
type Events interface {
	BindUnbound(remoteDom uint32) (uint32, error)
	Notify(port uint32) error
}

// Env is what a run uses. Logf gets one line per check.
type Env struct {
	XS    Store
	Gnt   Grants
	Evt   Events
	Logf  func(format string, args ...any)
	Now   func() time.Time
	Sleep func(time.Duration)
	// Flood is how many event notifications each device gets at once.
	Flood int
	// Wait bounds each wait for a back-end state or a response.
	Wait time.Duration

	checks, fails int
}

// Xenbus states.
const (
	stInitialising = 1
	stInitWait     = 2
	stInitialised  = 3
	stConnected    = 4
	stClosing      = 5
	stClosed       = 6
)

// Run attacks every vbd and vif of the domain, then reports how many
// checks ran and how many failed. An error means the run could not go on.
func (e *Env) Run() (checks, fails int, err error) {
	vbds, _ := e.XS.Directory("device/vbd")
	vifs, _ := e.XS.Directory("device/vif")
	if len(vbds) == 0 && len(vifs) == 0 {
		return 0, 0, errors.New("no device/vbd or device/vif to attack")
	}
	for _, d := range vbds {
		if err := e.vbd(d); err != nil {
			return e.checks, e.fails, fmt.Errorf("vbd %s: %w", d, err)
		}
	}
	for _, d := range vifs {
		if err := e.vif(d); err != nil {
			return e.checks, e.fails, fmt.Errorf("vif %s: %w", d, err)
		}
	}
	return e.checks, e.fails, nil
}

func (e *Env) logf(format string, args ...any) {
	if e.Logf != nil {
		e.Logf(format, args...)
	}
}

// check records one outcome: ok, or a failure naming what was expected.
func (e *Env) check(ok bool, format string, args ...any) {
	e.checks++
	if ok {
		e.logf(format, args...)
		return
	}
	e.fails++
	e.logf("FAIL: "+format, args...)
}

// backendState waits until the back end's state is one of want and
// returns it (or the last state seen, with an error, after Wait).
func (e *Env) backendState(be string, want ...int) (int, error) {
	deadline := e.Now().Add(e.Wait)
	last := -1
	for {
		if s, err := e.XS.Read(be + "/state"); err == nil {
			if n, err := strconv.Atoi(s); err == nil {
				last = n
				for _, w := range want {
					if n == w {
						return n, nil
					}
				}
			}
		}
		if !e.Now().Before(deadline) {
			return last, fmt.Errorf("%s/state is %d, not %v, after %v", be, last, want, e.Wait)
		}
		e.Sleep(20 * time.Millisecond)
	}
}

func (e *Env) setState(fe string, s int) error { return e.XS.Write(fe+"/state", strconv.Itoa(s)) }

// reset takes a back end that gave up on this front end (Closing) back to
// InitWait: front end Closed (the back end follows, staying online), then
// Initialising ("prepare for reconnect").
func (e *Env) reset(fe, be string) error {
	if err := e.setState(fe, stClosed); err != nil {
		return err
	}
	if _, err := e.backendState(be, stClosed); err != nil {
		return err
	}
	if err := e.setState(fe, stInitialising); err != nil {
		return err
	}
	_, err := e.backendState(be, stInitWait)
	return err
}

func (e *Env) writeAll(dir string, kv ...string) error {
	for i := 0; i+1 < len(kv); i += 2 {
		if err := e.XS.Write(dir+"/"+kv[i], kv[i+1]); err != nil {
			return err
		}
	}
	return nil
}

// await waits up to d for the ring's next response.
func (e *Env) await(r *frontRing, d time.Duration) ([]byte, bool) {
	deadline := e.Now().Add(d)
	for {
		if b, ok := r.response(); ok {
			return b, true
		}
		if !e.Now().Before(deadline) {
			return nil, false
		}
		e.Sleep(time.Millisecond)
	}
}

// flood sends n notifications on port and says how long they took.
func (e *Env) flood(what string, port uint32) error {
	start := e.Now()
	for i := 0; i < e.Flood; i++ {
		if err := e.Evt.Notify(port); err != nil {
			return fmt.Errorf("notification %d of the flood: %w", i, err)
		}
	}
	e.logf("%s: %d notifications on port %d in %v", what, e.Flood, port, e.Now().Sub(start).Round(time.Millisecond))
	return nil
}

func statusIn(s int16, want []int16) bool {
	for _, w := range want {
		if s == w {
			return true
		}
	}
	return false
}

// vbd attacks blkback through disk dev.
func (e *Env) vbd(dev string) error {
	fe := "device/vbd/" + dev
	be, err := e.XS.Read(fe + "/backend")
	if err != nil {
		return err
	}
	what := "vbd " + dev
	if _, err := e.backendState(be, stInitWait); err != nil {
		return err
	}
	port, err := e.Evt.BindUnbound(0)
	if err != nil {
		return err
	}
	// 1. A ring granted, then revoked before the back end maps it.
	refs, _, revoke, err := e.Gnt.Share(0, 1, true)
	if err != nil {
		return err
	}
	if err := revoke(); err != nil {
		return err
	}
	if err := e.writeAll(fe, "ring-ref", fmt.Sprint(refs[0]), "event-channel", fmt.Sprint(port), "protocol", "x86_64-abi"); err != nil {
		return err
	}
	if err := e.setState(fe, stInitialised); err != nil {
		return err
	}
	s, err := e.backendState(be, stClosing, stClosed, stConnected)
	e.check(err == nil && s != stConnected, "%s: ring-ref %d granted then revoked: back end state %d (gave up)", what, refs[0], s)
	if err := e.reset(fe, be); err != nil {
		return err
	}
	// 2. An unknown protocol.
	refs, pages, _, err := e.Gnt.Share(0, 1, true)
	if err != nil {
		return err
	}
	ring := newFrontRing(pages[0], blkEntry)
	if err := e.writeAll(fe, "ring-ref", fmt.Sprint(refs[0]), "protocol", "sparc-abi"); err != nil {
		return err
	}
	if err := e.setState(fe, stInitialised); err != nil {
		return err
	}
	s, err = e.backendState(be, stClosing, stClosed, stConnected)
	e.check(err == nil && s != stConnected, "%s: protocol sparc-abi: back end state %d (gave up)", what, s)
	if err := e.reset(fe, be); err != nil {
		return err
	}
	// 3. Connect for real, with persistent grants.
	if err := e.writeAll(fe, "protocol", "x86_64-abi", "feature-persistent", "1"); err != nil {
		return err
	}
	if err := e.setState(fe, stInitialised); err != nil {
		return err
	}
	if _, err := e.backendState(be, stConnected); err != nil {
		return err
	}
	if err := e.setState(fe, stConnected); err != nil {
		return err
	}
	sectors, err := e.XS.Read(be + "/sectors")
	if err != nil {
		return err
	}
	nsect, err := strconv.ParseUint(sectors, 10, 64)
	if err != nil || nsect < blkSectorsPage {
		return fmt.Errorf("back end's sectors %q", sectors)
	}
	persistent, _ := e.XS.Read(be + "/feature-persistent")
	e.logf("%s: connected: ring-ref %d, port %d, %d sectors, back end feature-persistent=%q", what, refs[0], port, nsect, persistent)
	data, _, _, err := e.Gnt.Share(0, blkMaxSegs+1, true)
	if err != nil {
		return err
	}
	seg := func(i int) blkSeg { return blkSeg{Gref: data[i], First: 0, Last: blkSectorsPage - 1} }
	segs := make([]blkSeg, blkMaxSegs)
	for i := range segs {
		segs[i] = seg(i)
	}
	var id uint64
	send := func(req []byte, name string, want ...int16) error {
		ring.push(req)
		if err := e.Evt.Notify(port); err != nil {
			return err
		}
		b, ok := e.await(ring, e.Wait)
		if !ok {
			e.check(false, "%s: %s: no response within %v (want status %v)", what, name, e.Wait, want)
			return nil
		}
		_, _, st := blkRsp(b)
		e.check(statusIn(st, want), "%s: %s: status %d (want %v)", what, name, st, want)
		return nil
	}
	rw := func(op, nr uint8, sector uint64, ss ...blkSeg) []byte {
		id++
		return blkReq{Op: op, NrSegs: nr, ID: id, Sector: sector, Segs: ss}.encode()
	}
	ok, errS, notSupp := int16(blkRspOkay), int16(blkRspError), int16(blkRspNotSupp)
	steps := []struct {
		name string
		req  []byte
		want int16
	}{
		{"read of sector 0 (a good request)", rw(blkOpRead, 1, 0, seg(0)), ok},
		{"read of 11 pages (a good request)", rw(blkOpRead, blkMaxSegs, 8, segs...), ok},
		{"operation 0x7f", rw(0x7f, 1, 0, seg(0)), notSupp},
		{"12 segments (at most 11)", rw(blkOpRead, blkMaxSegs+1, 0, segs...), errS},
		{"read of 0 segments", rw(blkOpRead, 0, 0), errS},
		{"grant ref 0x7ffffff (never granted)", rw(blkOpRead, 1, 0, blkSeg{Gref: 0x7ffffff, Last: 7}), errS},
		{"sector past the disk's end", rw(blkOpRead, 1, nsect, seg(0)), errS},
		{"sector range wrapping 2^64", rw(blkOpRead, 1, math.MaxUint64-3, seg(0)), errS},
		{"first_sect 5 > last_sect 2", rw(blkOpRead, 1, 0, blkSeg{Gref: data[0], First: 5, Last: 2}), errS},
		{"last_sect 8 (past the page)", rw(blkOpWrite, 1, 0, blkSeg{Gref: data[0], First: 0, Last: 8}), errS},
		{"indirect with 65535 segments", blkIndirect(100, 65535, data[1]), errS},
		{"discard past the disk's end", blkDiscard(101, nsect, 8), errS},
	}
	for _, s := range steps {
		if err := send(s.req, s.name, s.want); err != nil {
			return err
		}
	}
	// 4. A page the back end reads into, revoked (its grant ended) after
	// the I/O and used again; a grant revoked before its first use.
	prefs, _, prevoke, err := e.Gnt.Share(0, 1, true)
	if err != nil {
		return err
	}
	pseg := blkSeg{Gref: prefs[0], Last: blkSectorsPage - 1}
	if err := send(rw(blkOpRead, 1, 0, pseg), fmt.Sprintf("read into grant %d", prefs[0]), ok); err != nil {
		return err
	}
	if err := prevoke(); err != nil {
		return err
	}
	// With persistent grants blkback keeps the page mapped (Linux defers
	// ending the grant until it unmaps): the same read still works.
	again := []int16{errS}
	if persistent == "1" {
		again = []int16{ok}
	}
	if err := send(rw(blkOpRead, 1, 0, pseg), fmt.Sprintf("read into grant %d after it was revoked", prefs[0]), again...); err != nil {
		return err
	}
	rrefs, _, rrevoke, err := e.Gnt.Share(0, 1, true)
	if err != nil {
		return err
	}
	if err := rrevoke(); err != nil {
		return err
	}
	if err := send(rw(blkOpRead, 1, 0, blkSeg{Gref: rrefs[0], Last: 7}), fmt.Sprintf("grant %d revoked before use", rrefs[0]), errS); err != nil {
		return err
	}
	// 5. A flood of notifications, then a good request is still served.
	if err := e.flood(what, port); err != nil {
		return err
	}
	if err := send(rw(blkOpRead, 1, 0, seg(0)), "read after the flood", ok); err != nil {
		return err
	}
	// 6. The producer index pushed 1000 past the ring: blkback stops
	// serving this ring ("Frontend provided bogus ring requests").
	ring.setReqProd(ring.reqProdPvt + 1000)
	if err := e.Evt.Notify(port); err != nil {
		return err
	}
	b, got := e.await(ring, 2*time.Second)
	e.check(!got, "%s: req_prod 1000 past the ring: %s", what, map[bool]string{true: fmt.Sprintf("unexpected response % x", b), false: "no response (ring halted)"}[got])
	return nil
}

// vif attacks netback through vif dev.
func (e *Env) vif(dev string) error {
	fe := "device/vif/" + dev
	be, err := e.XS.Read(fe + "/backend")
	if err != nil {
		return err
	}
	what := "vif " + dev
	if _, err := e.backendState(be, stInitWait); err != nil {
		return err
	}
	port, err := e.Evt.BindUnbound(0)
	if err != nil {
		return err
	}
	rrefs, rpages, _, err := e.Gnt.Share(0, 2, true)
	if err != nil {
		return err
	}
	tx := newFrontRing(rpages[0], txEntry)
	newFrontRing(rpages[1], rxEntry)
	if err := e.writeAll(fe, "tx-ring-ref", fmt.Sprint(rrefs[0]), "rx-ring-ref", fmt.Sprint(rrefs[1]),
		"event-channel", fmt.Sprint(port), "request-rx-copy", "1", "feature-rx-notify", "1"); err != nil {
		return err
	}
	if err := e.setState(fe, stConnected); err != nil {
		return err
	}
	if _, err := e.backendState(be, stConnected); err != nil {
		return err
	}
	e.logf("%s: connected: tx-ring-ref %d, rx-ring-ref %d, port %d", what, rrefs[0], rrefs[1], port)
	drefs, dpages, _, err := e.Gnt.Share(0, 1, true)
	if err != nil {
		return err
	}
	// A broadcast frame of a local experimental EtherType.
	f := dpages[0]
	for i := 0; i < 6; i++ {
		f[i] = 0xff
	}
	copy(f[6:], []byte{0x00, 0x16, 0x3e, 0x7f, 0x7f, 0x7f})
	f[12], f[13] = 0x88, 0xb5
	copy(f[14:], "GOZEN-HOSTILE-FRAME")
	var id uint16
	send := func(q txReq, name string, want int16) error {
		id++
		q.ID = id
		tx.push(q.encode())
		if err := e.Evt.Notify(port); err != nil {
			return err
		}
		b, ok := e.await(tx, e.Wait)
		if !ok {
			e.check(false, "%s: %s: no response within %v (want status %d)", what, name, e.Wait, want)
			return nil
		}
		_, st := txRsp(b)
		e.check(st == want, "%s: %s: status %d (want %d)", what, name, st, want)
		return nil
	}
	vrefs, _, vrevoke, err := e.Gnt.Share(0, 1, true)
	if err != nil {
		return err
	}
	if err := vrevoke(); err != nil {
		return err
	}
	steps := []struct {
		name string
		q    txReq
		want int16
	}{
		{"a 60-byte frame (a good request)", txReq{Gref: drefs[0], Size: 60}, txRspOkay},
		{"size 8 (less than an Ethernet header)", txReq{Gref: drefs[0], Size: 8}, txRspError},
		{"grant ref 0x7ffffff (never granted)", txReq{Gref: 0x7ffffff, Size: 60}, txRspError},
		{fmt.Sprintf("grant %d revoked before use", vrefs[0]), txReq{Gref: vrefs[0], Size: 60}, txRspError},
	}
	for _, s := range steps {
		if err := send(s.q, s.name, s.want); err != nil {
			return err
		}
	}
	if err := e.flood(what, port); err != nil {
		return err
	}
	if err := send(txReq{Gref: drefs[0], Size: 60}, "a frame after the flood", txRspOkay); err != nil {
		return err
	}
	// A frame crossing its page: netback disables this vif ("fatal
	// error; disabling device") and answers nothing more.
	id++
	tx.push(txReq{Gref: drefs[0], Offset: 4000, Size: 200, ID: id}.encode())
	if err := e.Evt.Notify(port); err != nil {
		return err
	}
	b, got := e.await(tx, 2*time.Second)
	e.check(!got, "%s: offset 4000 + size 200 (crosses the page): %s", what, map[bool]string{true: fmt.Sprintf("unexpected response % x", b), false: "no response (vif disabled)"}[got])
	return nil
}

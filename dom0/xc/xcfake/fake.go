// Package xcfake is an in-memory xc.Interface for host tests: domains with
// pages, HVM parameters, event channels, a grant table, vCPU contexts and
// scheduler settings, and the mistakes the real hypervisor refuses
// (mapping an unpopulated frame, populating past max_mem, operating on a
// dying domain) refused the same way, with the same errno.
package xcfake

import (
	"fmt"
	"slices"
	"sync"
	"syscall"

	"gozen/dom0/xc"
)

// Domain is a fake domain's state, exported for tests to inspect.
type Domain struct {
	ID       uint32
	Config   xc.CreateConfig
	Pages    map[uint64]*[xc.PageSize]byte
	Params   map[uint32]uint64
	Ports    map[uint32]uint32 // unbound port -> remote domain
	Grant    *[xc.PageSize]byte
	Contexts map[int]xc.VCPUContext
	Sched    xc.Sched
	MaxKiB   uint64
	VCPUs    int
	Paused   bool
	Running  bool // unpaused at least once with a vCPU context
	Shutdown bool
	Reason   uint32
	Dying    bool
	CPUTime  uint64
	nextPort uint32
}

// Fake implements xc.Interface. It is safe for concurrent use.
type Fake struct {
	mu      sync.Mutex
	doms    map[uint32]*Domain
	nextID  uint32
	maps    map[*byte]mapping
	Phys    xc.PhysInfo
	Console string
	// Fail, if set, is called before each operation with its name and
	// domain; a non-nil result is returned instead (failure injection).
	Fail func(op string, dom uint32) error
	// Populates records every Populate call; MappedFrames counts the
	// frames MapForeign mapped, MapCalls its calls (for tests of how a
	// builder uses them).
	Populates    []PopulateCall
	MappedFrames int
	MapCalls     int
	// NoWriteGuest makes WriteGuest ENOSYS (Xen without CONFIG_GDBSX);
	// WriteCalls and WrittenBytes count the calls that succeeded.
	NoWriteGuest bool
	WriteCalls   int
	WrittenBytes int
}

// PopulateCall is one Populate: its domain, extent order and extents.
type PopulateCall struct {
	Dom     uint32
	Order   uint
	Extents int
}

type mapping struct {
	dom  *Domain
	gfns []uint64 // nil for a grant-table mapping
	buf  []byte
}

// New returns a fake with a dom0 of dom0MiB and a host of totalMiB.
func New(totalMiB, dom0MiB uint64) *Fake {
	f := &Fake{doms: map[uint32]*Domain{}, nextID: 1, maps: map[*byte]mapping{}}
	f.Phys = xc.PhysInfo{NrCPUs: 1, NrNodes: 1, CoresPerSocket: 1, ThreadsPerCore: 1, Sockets: 1,
		CPUkHz: 2_000_000, TotalPages: totalMiB << 8, Capabilities: xc.PhysCapHVM}
	d0 := newDomain(0, xc.CreateConfig{MaxVCPUs: 1})
	d0.MaxKiB, d0.VCPUs, d0.Running, d0.Paused = dom0MiB<<10, 1, true, false
	for g := uint64(0); g < dom0MiB<<8; g++ {
		d0.Pages[g] = nil // counted, never mapped by the tests
	}
	f.doms[0] = d0
	return f
}

func newDomain(id uint32, c xc.CreateConfig) *Domain {
	return &Domain{ID: id, Config: c, Pages: map[uint64]*[xc.PageSize]byte{}, Params: map[uint32]uint64{},
		Ports: map[uint32]uint32{}, Grant: new([xc.PageSize]byte), Contexts: map[int]xc.VCPUContext{},
		Sched: xc.Sched{Weight: 256}, Paused: true, nextPort: 1}
}

// Domain returns the fake's domain id (nil if none), for inspection.
func (f *Fake) Domain(id uint32) *Domain {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.doms[id]
}

// Mappings is the number of foreign mappings not yet unmapped.
func (f *Fake) Mappings() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.maps)
}

// Read copies n bytes of domain id's memory at guest-physical gpa (zeros
// for unpopulated frames are an error).
func (f *Fake) Read(id uint32, gpa uint64, n int) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	d := f.doms[id]
	if d == nil {
		return nil, syscall.ESRCH
	}
	out := make([]byte, 0, n)
	for len(out) < n {
		p := d.Pages[gpa/xc.PageSize]
		if p == nil {
			return nil, fmt.Errorf("gfn %#x is not populated", gpa/xc.PageSize)
		}
		off := gpa % xc.PageSize
		k := min(uint64(n-len(out)), xc.PageSize-off)
		out = append(out, p[off:off+k]...)
		gpa += k
	}
	return out, nil
}

// SetState lets a test change a domain as its guest would: run, block,
// shut down (reason), use CPU time.
func (f *Fake) SetState(id uint32, fn func(d *Domain)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if d := f.doms[id]; d != nil {
		fn(d)
	}
}

func (f *Fake) get(op string, id uint32) (*Domain, error) {
	if f.Fail != nil {
		if err := f.Fail(op, id); err != nil {
			return nil, &xc.Error{Op: op, Dom: id, Err: err}
		}
	}
	d := f.doms[id]
	if d == nil {
		return nil, &xc.Error{Op: op, Dom: id, Err: syscall.ESRCH}
	}
	return d, nil
}

func (f *Fake) live(op string, id uint32) (*Domain, error) {
	d, err := f.get(op, id)
	if err == nil && d.Dying {
		return nil, &xc.Error{Op: op, Dom: id, Err: syscall.EINVAL}
	}
	return d, err
}

func (f *Fake) CreateDomain(c xc.CreateConfig) (uint32, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.Fail != nil {
		if err := f.Fail("createdomain", 0); err != nil {
			return 0, &xc.Error{Op: "createdomain", Err: err}
		}
	}
	if c.Flags&(xc.CDFHVM|xc.CDFHAP) != xc.CDFHVM|xc.CDFHAP || c.MaxVCPUs < 1 || c.EmulationFlags != xc.EmuLAPIC {
		return 0, &xc.Error{Op: "createdomain", Err: syscall.EINVAL}
	}
	id := f.nextID
	for f.doms[id] != nil {
		id++
	}
	f.nextID = id + 1
	f.doms[id] = newDomain(id, c)
	return id, nil
}

func (f *Fake) DestroyDomain(id uint32) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	d, err := f.get("destroydomain", id)
	if err != nil {
		return err
	}
	if id == 0 {
		return &xc.Error{Op: "destroydomain", Dom: id, Err: syscall.EINVAL}
	}
	for _, m := range f.maps {
		if m.dom == d {
			// Xen keeps a mapped domain as a dying zombie; the fake does
			// the same until the last Unmap.
			d.Dying = true
			return nil
		}
	}
	delete(f.doms, id)
	return nil
}

func (f *Fake) Pause(id uint32) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	d, err := f.live("pausedomain", id)
	if err == nil {
		d.Paused = true
	}
	return err
}

func (f *Fake) Unpause(id uint32) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	d, err := f.live("unpausedomain", id)
	if err != nil {
		return err
	}
	if _, ok := d.Contexts[0]; !ok && !d.Running {
		// Xen would run vCPU 0 from a zeroed state: a triple fault. The
		// fake refuses, so a builder that forgot the context fails here.
		return &xc.Error{Op: "unpausedomain", Dom: id, Err: syscall.EINVAL}
	}
	d.Paused, d.Running = false, true
	return nil
}

func (f *Fake) ShutdownDomain(id uint32, reason uint32) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	d, err := f.live("shutdown", id)
	if err == nil {
		d.Shutdown, d.Reason = true, reason
	}
	return err
}

func (f *Fake) info(d *Domain) xc.DomainInfo {
	fl := uint32(xc.DomInfHVM | xc.DomInfHAP)
	switch {
	case d.Dying:
		fl |= xc.DomInfDying
	case d.Shutdown:
		fl |= xc.DomInfShutdown | d.Reason<<xc.DomInfShutdownShift
	case d.Paused:
		fl |= xc.DomInfPaused
	case d.Running:
		fl |= xc.DomInfBlocked // the fake's guests idle
	}
	n := d.VCPUs
	if n == 0 {
		n = d.Config.MaxVCPUs
	}
	return xc.DomainInfo{ID: d.ID, Flags: fl, TotPages: uint64(len(d.Pages)), MaxPages: d.MaxKiB / 4,
		CPUTimeNS: d.CPUTime, OnlineVCPUs: n, MaxVCPUID: n - 1, Handle: d.Config.UUID}
}

func (f *Fake) DomainInfo(id uint32) (xc.DomainInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	d, err := f.get("getdomaininfo", id)
	if err != nil {
		return xc.DomainInfo{}, err
	}
	return f.info(d), nil
}

func (f *Fake) ListDomains() ([]xc.DomainInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ids := make([]uint32, 0, len(f.doms))
	for id := range f.doms {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	out := make([]xc.DomainInfo, 0, len(ids))
	for _, id := range ids {
		out = append(out, f.info(f.doms[id]))
	}
	return out, nil
}

func (f *Fake) SetHandle(id uint32, uuid [16]byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	d, err := f.live("setdomainhandle", id)
	if err == nil {
		d.Config.UUID = uuid
	}
	return err
}

func (f *Fake) SetMaxMem(id uint32, kib uint64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	d, err := f.live("max_mem", id)
	if err == nil {
		d.MaxKiB = kib
	}
	return err
}

func (f *Fake) SetMaxVCPUs(id uint32, n int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	d, err := f.live("max_vcpus", id)
	if err != nil {
		return err
	}
	if n < 1 || n > d.Config.MaxVCPUs {
		return &xc.Error{Op: "max_vcpus", Dom: id, Err: syscall.EINVAL}
	}
	d.VCPUs = n
	return nil
}

func (f *Fake) used() uint64 {
	var n uint64
	for _, d := range f.doms {
		n += uint64(len(d.Pages))
	}
	return n
}

func (f *Fake) Populate(id uint32, order uint, gfns []uint64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	d, err := f.live("populate_physmap", id)
	if err != nil {
		return err
	}
	if order > 9 {
		return &xc.Error{Op: "populate_physmap", Dom: id, Err: syscall.EINVAL}
	}
	n := uint64(1) << order
	fresh := uint64(0)
	for _, g := range gfns {
		if g%n != 0 {
			return &xc.Error{Op: fmt.Sprintf("populate_physmap of unaligned gfn %#x", g), Dom: id, Err: syscall.EINVAL}
		}
		for i := uint64(0); i < n; i++ {
			if _, ok := d.Pages[g+i]; !ok {
				fresh++
			}
		}
	}
	if uint64(len(d.Pages))+fresh > d.MaxKiB/4 || f.used()+fresh > f.Phys.TotalPages {
		return &xc.Error{Op: "populate_physmap", Dom: id, Err: syscall.ENOMEM}
	}
	for _, g := range gfns {
		for i := uint64(0); i < n; i++ {
			if _, ok := d.Pages[g+i]; !ok {
				d.Pages[g+i] = new([xc.PageSize]byte)
			}
		}
	}
	f.Populates = append(f.Populates, PopulateCall{Dom: id, Order: order, Extents: len(gfns)})
	return nil
}

// MapForeign returns a buffer holding copies of the frames; Unmap writes
// it back. (A real mapping aliases the frames; the builder only writes
// through the buffer and unmaps, which this models faithfully.)
func (f *Fake) MapForeign(id uint32, gfns []uint64) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	d, err := f.live("mmapbatch", id)
	if err != nil {
		return nil, err
	}
	if len(gfns) == 0 {
		return nil, &xc.Error{Op: "mmapbatch", Dom: id, Err: syscall.EINVAL}
	}
	buf := make([]byte, len(gfns)*xc.PageSize)
	for i, g := range gfns {
		p := d.Pages[g]
		if p == nil {
			return nil, &xc.Error{Op: fmt.Sprintf("mmapbatch of gfn %#x", g), Dom: id, Err: syscall.EFAULT}
		}
		copy(buf[i*xc.PageSize:], p[:])
	}
	f.maps[&buf[0]] = mapping{dom: d, gfns: slices.Clone(gfns), buf: buf}
	f.MappedFrames += len(gfns)
	f.MapCalls++
	return buf, nil
}

// WriteGuest copies data into the frames of a domain that has never run
// (gdbsx_guestmemio: EOPNOTSUPP once it has, as GoZen answers); a frame
// that is not populated stops it with EFAULT, the frames before it
// written.
func (f *Fake) WriteGuest(id uint32, gpa uint64, data []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	d, err := f.live("gdbsx_guestmemio", id)
	if err != nil {
		return err
	}
	switch {
	case f.NoWriteGuest:
		return &xc.Error{Op: "gdbsx_guestmemio", Dom: id, Err: syscall.ENOSYS}
	case id == 0:
		return &xc.Error{Op: "gdbsx_guestmemio", Dom: id, Err: syscall.EINVAL}
	case d.Running:
		return &xc.Error{Op: "gdbsx_guestmemio", Dom: id, Err: syscall.EOPNOTSUPP}
	}
	n := len(data)
	for len(data) > 0 {
		off := int(gpa % xc.PageSize)
		p := d.Pages[gpa/xc.PageSize]
		if p == nil {
			return &xc.Error{Op: fmt.Sprintf("gdbsx_guestmemio at %#x", gpa), Dom: id, Err: syscall.EFAULT}
		}
		k := copy(p[off:], data)
		data, gpa = data[k:], gpa+uint64(k)
	}
	f.WriteCalls++
	f.WrittenBytes += n
	return nil
}

func (f *Fake) MapGrantTable(id uint32, frame int) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	d, err := f.live("acquire_resource", id)
	if err != nil {
		return nil, err
	}
	if frame != 0 {
		return nil, &xc.Error{Op: "acquire_resource", Dom: id, Err: syscall.EINVAL}
	}
	buf := make([]byte, xc.PageSize)
	copy(buf, d.Grant[:])
	f.maps[&buf[0]] = mapping{dom: d, buf: buf}
	return buf, nil
}

func (f *Fake) Unmap(b []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(b) == 0 {
		return syscall.EINVAL
	}
	m, ok := f.maps[&b[0]]
	if !ok || len(b) != len(m.buf) {
		return syscall.EINVAL
	}
	delete(f.maps, &b[0])
	if m.gfns == nil {
		copy(m.dom.Grant[:], b)
	} else {
		for i, g := range m.gfns {
			if p := m.dom.Pages[g]; p != nil {
				copy(p[:], b[i*xc.PageSize:])
			}
		}
	}
	if m.dom.Dying {
		for _, o := range f.maps {
			if o.dom == m.dom {
				return nil
			}
		}
		delete(f.doms, m.dom.ID)
	}
	return nil
}

func (f *Fake) SetParam(id uint32, param uint32, v uint64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	d, err := f.live("set_param", id)
	if err == nil {
		if param >= 64 { // HVM_NR_PARAMS is 39 in 4.17; be generous
			return &xc.Error{Op: "set_param", Dom: id, Err: syscall.EINVAL}
		}
		d.Params[param] = v
	}
	return err
}

func (f *Fake) GetParam(id uint32, param uint32) (uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	d, err := f.get("get_param", id)
	if err != nil {
		return 0, err
	}
	return d.Params[param], nil
}

func (f *Fake) AllocUnbound(id, remote uint32) (uint32, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	d, err := f.live("alloc_unbound", id)
	if err != nil {
		return 0, err
	}
	p := d.nextPort
	d.nextPort++
	d.Ports[p] = remote
	return p, nil
}

func (f *Fake) SetVCPUContext(id uint32, vcpu int, ctx xc.VCPUContext) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	d, err := f.live("sethvmcontext", id)
	if err != nil {
		return err
	}
	if vcpu < 0 || vcpu >= d.Config.MaxVCPUs || !d.Paused {
		return &xc.Error{Op: "sethvmcontext", Dom: id, Err: syscall.EINVAL}
	}
	d.Contexts[vcpu] = ctx
	return nil
}

func (f *Fake) SchedParams(id uint32) (xc.Sched, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	d, err := f.get("scheduler_op", id)
	if err != nil {
		return xc.Sched{}, err
	}
	return d.Sched, nil
}

func (f *Fake) SetSchedParams(id uint32, s xc.Sched) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	d, err := f.live("scheduler_op", id)
	if err != nil {
		return err
	}
	if s.Weight < 1 || s.Weight > 65535 || s.Cap < 0 || s.Cap > 100*f.Phys.NrCPUs {
		return &xc.Error{Op: "scheduler_op", Dom: id, Err: syscall.EINVAL}
	}
	d.Sched = s
	return nil
}

func (f *Fake) PhysInfo() (xc.PhysInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.Phys
	p.FreePages = p.TotalPages - f.used()
	return p, nil
}

func (f *Fake) ReadConsole(clear bool) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.Console
	if clear {
		f.Console = ""
	}
	return s, nil
}

var _ xc.Interface = (*Fake)(nil)

func (f *Fake) VCPUs(id uint32) ([]xc.VCPUInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	d, err := f.get("getvcpuinfo", id)
	if err != nil {
		return nil, err
	}
	n := d.VCPUs
	if n == 0 {
		n = d.Config.MaxVCPUs
	}
	out := make([]xc.VCPUInfo, n)
	for i := range out {
		_, started := d.Contexts[i]
		on := i == 0 && (started || id == 0) && !d.Shutdown
		out[i] = xc.VCPUInfo{ID: i, Online: on, Blocked: on && !d.Paused, CPUTimeNS: d.CPUTime / uint64(n)}
	}
	return out, nil
}

// Ver is what Version reports.
var Ver = xc.Version{Major: 4, Minor: 17, Extra: ".0-gozen", Caps: "hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64"}

func (f *Fake) Version() (xc.Version, error) { return Ver, nil }

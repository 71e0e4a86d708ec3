package privcmd

import (
	"golang.org/x/sys/unix"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"
)

// The layouts of Linux's include/uapi/xen/{privcmd,evtchn,gntdev}.h on
// 64-bit Linux, and the ioctl numbers _IOC(_IOC_NONE, ...) gives them.
func TestLayouts(t *testing.T) {
	var mb MmapBatchV2
	var mr MmapResource
	var gm GntdevMapGrantRef
	var gu GntdevUnmapGrantRef
	var gn GntdevUnmapNotify
	for _, c := range []struct {
		name      string
		got, want uintptr
	}{
		{"sizeof privcmd_hypercall", unsafe.Sizeof(Hypercall{}), 48},
		{"privcmd_hypercall.arg", unsafe.Offsetof(Hypercall{}.Arg), 8},
		{"sizeof privcmd_mmapbatch_v2", unsafe.Sizeof(mb), 32},
		{"mmapbatch_v2.dom", unsafe.Offsetof(mb.Dom), 4},
		{"mmapbatch_v2.addr", unsafe.Offsetof(mb.Addr), 8},
		{"mmapbatch_v2.arr", unsafe.Offsetof(mb.Arr), 16},
		{"mmapbatch_v2.err", unsafe.Offsetof(mb.Err), 24},
		{"sizeof privcmd_mmap_resource", unsafe.Sizeof(mr), 32},
		{"mmap_resource.type", unsafe.Offsetof(mr.Type), 4},
		{"mmap_resource.id", unsafe.Offsetof(mr.ID), 8},
		{"mmap_resource.idx", unsafe.Offsetof(mr.Idx), 12},
		{"mmap_resource.num", unsafe.Offsetof(mr.Num), 16},
		{"mmap_resource.addr", unsafe.Offsetof(mr.Addr), 24},
		{"sizeof ioctl_evtchn_bind_interdomain", unsafe.Sizeof(EvtchnBindInterdomain{}), 8},
		{"sizeof ioctl_evtchn_restrict_domid", unsafe.Sizeof(EvtchnRestrictDomid{}), 2},
		{"sizeof ioctl_gntdev_grant_ref", unsafe.Sizeof(GntdevGrantRef{}), 8},
		{"sizeof ioctl_gntdev_map_grant_ref (no refs)", unsafe.Sizeof(gm), 16},
		{"map_grant_ref.index", unsafe.Offsetof(gm.Index), 8},
		{"sizeof ioctl_gntdev_unmap_grant_ref", unsafe.Sizeof(gu), 16},
		{"unmap_grant_ref.count", unsafe.Offsetof(gu.Count), 8},
		{"sizeof ioctl_gntdev_unmap_notify", unsafe.Sizeof(gn), 16},
		{"unmap_notify.event_channel_port", unsafe.Offsetof(gn.EventChannelPort), 12},

		{"IOCTL_PRIVCMD_HYPERCALL", IoctlHypercall, 0x00305000},
		{"IOCTL_PRIVCMD_MMAPBATCH_V2", IoctlMmapBatchV2, 0x00205004},
		{"IOCTL_PRIVCMD_RESTRICT", IoctlRestrict, 0x00025006},
		{"IOCTL_PRIVCMD_MMAP_RESOURCE", IoctlMmapResource, 0x00205007},
		{"IOCTL_EVTCHN_BIND_VIRQ", IoctlEvtchnBindVIRQ, 0x00044500},
		{"IOCTL_EVTCHN_BIND_INTERDOMAIN", IoctlEvtchnBindInterdomain, 0x00084501},
		{"IOCTL_EVTCHN_BIND_UNBOUND_PORT", IoctlEvtchnBindUnboundPort, 0x00044502},
		{"IOCTL_EVTCHN_UNBIND", IoctlEvtchnUnbind, 0x00044503},
		{"IOCTL_EVTCHN_NOTIFY", IoctlEvtchnNotify, 0x00044504},
		{"IOCTL_EVTCHN_RESET", IoctlEvtchnReset, 0x00004505},
		{"IOCTL_EVTCHN_RESTRICT_DOMID", IoctlEvtchnRestrictDomid, 0x00024506},
		{"IOCTL_GNTDEV_MAP_GRANT_REF", IoctlGntdevMapGrantRef, 0x00184700},
		{"IOCTL_GNTDEV_UNMAP_GRANT_REF", IoctlGntdevUnmapGrantRef, 0x00104701},
		{"IOCTL_GNTDEV_SET_MAX_GRANTS", IoctlGntdevSetMaxGrants, 0x00044703},
		{"IOCTL_GNTDEV_SET_UNMAP_NOTIFY", IoctlGntdevSetUnmapNotify, 0x00104707},
	} {
		if c.got != c.want {
			t.Errorf("%s = %#x, want %#x", c.name, c.got, c.want)
		}
	}
}

func TestOpenMissingDevice(t *testing.T) {
	if _, err := os.Stat(PrivcmdPath); err == nil {
		t.Skip("this machine has " + PrivcmdPath)
	}
	_, err := Open()
	if err == nil || !strings.Contains(err.Error(), "xen-privcmd module") {
		t.Fatalf("err = %v", err)
	}
}

// TestPopulate: Populate takes any slice (unaligned Go memory, a file
// mapping, empty) and puts its pages in the page tables: /proc/self/pagemap
// shows the pages of a file mapping not present before and present after.
func TestPopulate(t *testing.T) {
	if err := Populate(make([]byte, 10000)[3:9000]); err != nil {
		t.Errorf("Go memory: %v", err)
	}
	if err := Populate(nil); err != nil {
		t.Errorf("empty: %v", err)
	}
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, make([]byte, 5*pageSize), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := unix.Mmap(int(f.Fd()), 0, 5*pageSize, unix.PROT_READ, unix.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(b)
	pm, err := os.Open("/proc/self/pagemap")
	if err != nil {
		t.Skip(err)
	}
	defer pm.Close()
	present := func(i int) bool {
		var e [8]byte
		va := uintptr(unsafe.Pointer(&b[i*pageSize]))
		if _, err := pm.ReadAt(e[:], int64(va/pageSize)*8); err != nil {
			t.Fatal(err)
		}
		return e[7]&0x80 != 0 // bit 63: present
	}
	if present(1) || present(2) {
		t.Skip("pages of an untouched mapping already present")
	}
	if err := Populate(b[pageSize+1 : 3*pageSize]); err != nil {
		t.Skipf("MADV_POPULATE_READ unsupported here: %v", err)
	}
	if !present(1) || !present(2) {
		t.Errorf("pages 1-2 not present after Populate")
	}
}

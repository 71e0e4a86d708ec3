package xendev

import (
	"testing"
	"unsafe"
)

// The layouts and ioctl numbers are Linux's (include/uapi/xen/evtchn.h,
// gntdev.h); the numbers are what _IOC(_IOC_NONE, ...) gives on x86-64.
func TestLayouts(t *testing.T) {
	for _, c := range []struct {
		name      string
		got, want uintptr
	}{
		{"ioctl_evtchn_bind_virq", unsafe.Sizeof(evtchnBindVirq{}), 4},
		{"ioctl_evtchn_bind_interdomain", unsafe.Sizeof(evtchnBindInterdomain{}), 8},
		{"ioctl_evtchn_bind_unbound_port", unsafe.Sizeof(evtchnBindUnboundPort{}), 4},
		{"ioctl_evtchn_notify", unsafe.Sizeof(evtchnPort{}), 4},
		{"ioctl_gntdev_grant_ref", unsafe.Sizeof(gntdevGrantRef{}), 8},
		{"ioctl_gntdev_map_grant_ref", unsafe.Sizeof(gntdevMap{}), 24},
		{"ioctl_gntdev_map_grant_ref.index", unsafe.Offsetof(gntdevMap{}.Index), 8},
		{"ioctl_gntdev_map_grant_ref.refs", unsafe.Offsetof(gntdevMap{}.Refs), 16},
		{"ioctl_gntdev_unmap_grant_ref", unsafe.Sizeof(gntdevUnmap{}), 16},
		{"ioctl_gntdev_unmap_grant_ref.count", unsafe.Offsetof(gntdevUnmap{}.Count), 8},
		{"ioctl_gntalloc_alloc_gref", unsafe.Sizeof(gntallocAlloc{}), 24},
		{"ioctl_gntalloc_alloc_gref.index", unsafe.Offsetof(gntallocAlloc{}.Index), 8},
		{"ioctl_gntalloc_alloc_gref.gref_ids", unsafe.Offsetof(gntallocAlloc{}.Refs), 16},
		{"ioctl_gntalloc_alloc_gref with 64 refs: index", unsafe.Offsetof(gntallocAllocN{}.Index), 8},
		{"ioctl_gntalloc_alloc_gref with 64 refs: gref_ids", unsafe.Offsetof(gntallocAllocN{}.Refs), 16},
		{"ioctl_gntalloc_dealloc_gref", unsafe.Sizeof(gntallocDealloc{}), 16},
		{"IOCTL_EVTCHN_BIND_VIRQ", ioctlEvtchnBindVirq, 0x00044500},
		{"IOCTL_EVTCHN_BIND_INTERDOMAIN", ioctlEvtchnBindInterdomain, 0x00084501},
		{"IOCTL_EVTCHN_BIND_UNBOUND_PORT", ioctlEvtchnBindUnboundPort, 0x00044502},
		{"IOCTL_EVTCHN_UNBIND", ioctlEvtchnUnbind, 0x00044503},
		{"IOCTL_EVTCHN_NOTIFY", ioctlEvtchnNotify, 0x00044504},
		{"IOCTL_GNTDEV_MAP_GRANT_REF", ioctlGntdevMapGrantRef, 0x00184700},
		{"IOCTL_GNTDEV_UNMAP_GRANT_REF", ioctlGntdevUnmapGrantRef, 0x00104701},
		{"IOCTL_GNTALLOC_ALLOC_GREF", ioctlGntallocAllocGref, 0x00184705},
		{"IOCTL_GNTALLOC_DEALLOC_GREF", ioctlGntallocDeallocGref, 0x00104706},
	} {
		if c.got != c.want {
			t.Errorf("%s: %#x, want %#x", c.name, c.got, c.want)
		}
	}
}

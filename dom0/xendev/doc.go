// Package xendev is dom0's access to the Xen devices Linux offers
// userspace (dom0-toolstack.md §C.1): /dev/xen/evtchn (event channels),
// /dev/xen/gntdev (mapping another domain's granted pages) and the
// xenstore files of xenfs (/proc/xen/xsd_kva, /proc/xen/xsd_port). The
// ioctl argument layouts and numbers are Linux's uapi (include/uapi/xen/
// evtchn.h and gntdev.h); each carries a size test. The daemons use these
// through small interfaces of their own, so their logic is tested on the
// host with in-memory stand-ins.
package xendev

// ioc is Linux's _IOC(_IOC_NONE, typ, nr, size): every Xen device ioctl
// uses _IOC_NONE (direction bits 0) with the argument's size in bits 16-29.
func ioc(typ byte, nr uint8, size uintptr) uintptr {
	return size<<16 | uintptr(typ)<<8 | uintptr(nr)
}

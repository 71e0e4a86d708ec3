package xendev

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// The xenfs files through which dom0's kernel hands its local xenstore
// ring to a userspace xenstored (XS_LOCAL: drivers/xen/xenfs/xenstored.c).
const (
	XsdKvaPath  = "/proc/xen/xsd_kva"
	XsdPortPath = "/proc/xen/xsd_port"
)

// LocalStore returns dom0's own xenstore ring page, mapped from
// /proc/xen/xsd_kva, and the kernel's end of its event channel from
// /proc/xen/xsd_port. A xenstored binds that port with
// BindInterdomain(0, port).
func LocalStore() (page []byte, port uint32, err error) {
	b, err := os.ReadFile(XsdPortPath)
	if err != nil {
		return nil, 0, err
	}
	p, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 32)
	if err != nil || p == 0 {
		return nil, 0, fmt.Errorf("%s: %q is not a port", XsdPortPath, b)
	}
	f, err := os.OpenFile(XsdKvaPath, os.O_RDWR, 0)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	page, err = unix.Mmap(int(f.Fd()), 0, PageSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, 0, fmt.Errorf("mmap %s: %w", XsdKvaPath, err)
	}
	return page, uint32(p), nil
}

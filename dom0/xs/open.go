package xs

import (
	"fmt"
	"io"
	"net"
	"os"

	"gozen/abi/xen"
)

// SocketEnv names the environment variable that points clients at a
// xenstored socket, as Xen's libxenstore reads XENSTORED_PATH.
const SocketEnv = "XENSTORED_PATH"

// SocketPath is dom0's xenstored socket (dom0/cmd/xenstored), where Xen's
// xenstored listens.
var SocketPath = "/var/run/xenstored/socket"

// Dial opens a stream to xenstore for a dom0 or domU tool: the unix
// socket $XENSTORED_PATH if that is set (dom0's xenstored,
// dom0/cmd/xenstored), else DevicePath, which the kernel forwards to the
// domain's ring (served by hv, or in dom0 by xenstored through the
// kernel's XS_LOCAL ring).
func Dial() (io.ReadWriteCloser, error) {
	if p := os.Getenv(SocketEnv); p != "" {
		return net.Dial("unix", p)
	}
	return os.OpenFile(DevicePath, os.O_RDWR, 0)
}

// DialToolstack is Dial for the toolstack in dom0 (xl): unless
// $XENSTORED_PATH says otherwise, xenstored's socket at SocketPath when a
// xenstored listens there, as libxenstore's xs_open tries the socket
// first (a round trip costs two context switches, not a trip through the
// kernel's xenbus ring), else DevicePath.
func DialToolstack() (io.ReadWriteCloser, error) {
	if os.Getenv(SocketEnv) == "" {
		if c, err := net.Dial("unix", SocketPath); err == nil {
			return c, nil
		}
	}
	return Dial()
}

// IsIntroduced reports whether xenstored serves domain domid
// (XS_IS_DOMAIN_INTRODUCED).
func (c *Client) IsIntroduced(domid uint32) (bool, error) {
	s := fmt.Sprint(domid)
	b, err := c.call(xen.XSIsDomainIntroduced, s, nul(s))
	if err != nil {
		return false, err
	}
	return string(b) == "T\x00", nil
}

// Package netdev configures dom0's network devices through rtnetlink
// (NETLINK_ROUTE), as iproute2's `ip link`/`ip addr`/`ip route` and
// bridge-utils do: bridges, bridge ports, link state, names, IPv4
// addresses and the default route. It is what dom0init uses to build
// xenbr0 and what xl's vif hotplug uses to put netback's vifD.N on a
// bridge (Xen's vif-bridge script). Only golang.org/x/sys/unix.
package netdev

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

var ne = binary.NativeEndian

// Link is one network interface as RTM_GETLINK reports it.
type Link struct {
	Index  int
	Name   string
	Type   uint16 // ARPHRD_*: 1 for Ethernet, 772 for loopback
	Flags  uint32 // IFF_*
	Master int    // the bridge's index, 0 when none
	Kind   string // IFLA_INFO_KIND: "bridge", "" for a plain device
	MAC    net.HardwareAddr
}

// Up reports whether the link is administratively up.
func (l Link) Up() bool { return l.Flags&unix.IFF_UP != 0 }

var seq atomic.Uint32

// request sends one rtnetlink request and returns the replies up to
// NLMSG_DONE (for dumps) or the acknowledgement.
func request(typ uint16, flags uint16, body []byte) ([][]byte, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("netlink socket: %w", err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, fmt.Errorf("netlink bind: %w", err)
	}
	s := seq.Add(1)
	msg := make([]byte, unix.NLMSG_HDRLEN+len(body))
	ne.PutUint32(msg[0:], uint32(len(msg)))
	ne.PutUint16(msg[4:], typ)
	ne.PutUint16(msg[6:], flags|unix.NLM_F_REQUEST|unix.NLM_F_ACK)
	ne.PutUint32(msg[8:], s)
	copy(msg[unix.NLMSG_HDRLEN:], body)
	if err := unix.Sendto(fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, fmt.Errorf("netlink send: %w", err)
	}
	var out [][]byte
	buf := make([]byte, 64<<10)
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			return nil, fmt.Errorf("netlink receive: %w", err)
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			return nil, fmt.Errorf("netlink reply: %w", err)
		}
		for _, m := range msgs {
			if m.Header.Seq != s {
				continue
			}
			switch m.Header.Type {
			case unix.NLMSG_DONE:
				return out, nil
			case unix.NLMSG_ERROR:
				if len(m.Data) < 4 {
					return nil, errors.New("netlink: short error message")
				}
				if e := int32(ne.Uint32(m.Data)); e != 0 {
					return nil, syscall.Errno(-e)
				}
				return out, nil
			default:
				out = append(out, append([]byte(nil), m.Data...)) // buf is reused
			}
		}
	}
}

// attr appends an rtattr (padded to 4 bytes).
func attr(b []byte, typ uint16, data []byte) []byte {
	l := unix.SizeofRtAttr + len(data)
	h := make([]byte, unix.SizeofRtAttr)
	ne.PutUint16(h[0:], uint16(l))
	ne.PutUint16(h[2:], typ)
	b = append(b, h...)
	b = append(b, data...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func u32(v uint32) []byte { b := make([]byte, 4); ne.PutUint32(b, v); return b }

func cstr(s string) []byte { return append([]byte(s), 0) }

// ifinfo is a struct ifinfomsg.
func ifinfo(index int, flags, change uint32) []byte {
	b := make([]byte, unix.SizeofIfInfomsg)
	b[0] = unix.AF_UNSPEC
	ne.PutUint32(b[4:], uint32(int32(index)))
	ne.PutUint32(b[8:], flags)
	ne.PutUint32(b[12:], change)
	return b
}

// attrs splits a run of rtattrs.
func attrs(b []byte) map[uint16][]byte {
	m := map[uint16][]byte{}
	for len(b) >= unix.SizeofRtAttr {
		l := int(ne.Uint16(b))
		if l < unix.SizeofRtAttr || l > len(b) {
			break
		}
		m[ne.Uint16(b[2:])&^unix.NLA_F_NESTED] = b[unix.SizeofRtAttr:l]
		al := (l + 3) &^ 3
		if al > len(b) {
			break
		}
		b = b[al:]
	}
	return m
}

func cstring(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

func parseLink(b []byte) (Link, bool) {
	if len(b) < unix.SizeofIfInfomsg {
		return Link{}, false
	}
	l := Link{Type: ne.Uint16(b[2:]), Index: int(int32(ne.Uint32(b[4:]))), Flags: ne.Uint32(b[8:])}
	a := attrs(b[unix.SizeofIfInfomsg:])
	l.Name = cstring(a[unix.IFLA_IFNAME])
	if v := a[unix.IFLA_MASTER]; len(v) == 4 {
		l.Master = int(ne.Uint32(v))
	}
	if v := a[unix.IFLA_ADDRESS]; len(v) > 0 {
		l.MAC = net.HardwareAddr(append([]byte(nil), v...))
	}
	if li, ok := a[unix.IFLA_LINKINFO]; ok {
		l.Kind = cstring(attrs(li)[unix.IFLA_INFO_KIND])
	}
	return l, true
}

// Links lists every interface.
func Links() ([]Link, error) {
	replies, err := request(unix.RTM_GETLINK, unix.NLM_F_DUMP, ifinfo(0, 0, 0))
	if err != nil {
		return nil, err
	}
	var out []Link
	for _, r := range replies {
		if l, ok := parseLink(r); ok {
			out = append(out, l)
		}
	}
	return out, nil
}

// ErrNoLink is returned for an interface that does not exist.
var ErrNoLink = errors.New("no such network interface")

// LinkByName returns the interface called name (ErrNoLink if none).
func LinkByName(name string) (Link, error) {
	if name == "" || len(name) >= unix.IFNAMSIZ {
		return Link{}, fmt.Errorf("bad interface name %q", name)
	}
	body := attr(ifinfo(0, 0, 0), unix.IFLA_IFNAME, cstr(name))
	replies, err := request(unix.RTM_GETLINK, 0, body)
	if errors.Is(err, unix.ENODEV) {
		return Link{}, fmt.Errorf("%s: %w", name, ErrNoLink)
	}
	if err != nil {
		return Link{}, fmt.Errorf("%s: %w", name, err)
	}
	for _, r := range replies {
		if l, ok := parseLink(r); ok {
			return l, nil
		}
	}
	return Link{}, fmt.Errorf("%s: %w", name, ErrNoLink)
}

// Exists reports whether interface name exists.
func Exists(name string) (bool, error) {
	_, err := LinkByName(name)
	if errors.Is(err, ErrNoLink) {
		return false, nil
	}
	return err == nil, err
}

func setLink(name string, body func(index int) []byte) error {
	l, err := LinkByName(name)
	if err != nil {
		return err
	}
	if _, err := request(unix.RTM_NEWLINK, 0, body(l.Index)); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// AddBridge creates bridge name (ip link add NAME type bridge); one that
// exists already is not an error.
func AddBridge(name string) error {
	if len(name) == 0 || len(name) >= unix.IFNAMSIZ {
		return fmt.Errorf("bad bridge name %q", name)
	}
	info := attr(nil, unix.IFLA_INFO_KIND, []byte("bridge"))
	body := attr(ifinfo(0, 0, 0), unix.IFLA_IFNAME, cstr(name))
	body = attr(body, unix.IFLA_LINKINFO|unix.NLA_F_NESTED, info)
	_, err := request(unix.RTM_NEWLINK, unix.NLM_F_CREATE|unix.NLM_F_EXCL, body)
	if errors.Is(err, unix.EEXIST) {
		l, lerr := LinkByName(name)
		if lerr == nil && l.Kind == "bridge" {
			return nil
		}
		return fmt.Errorf("bridge %s: an interface of that name exists and is not a bridge", name)
	}
	if err != nil {
		return fmt.Errorf("bridge %s: %w", name, err)
	}
	return nil
}

// DelLink deletes interface name (ip link del NAME).
func DelLink(name string) error {
	l, err := LinkByName(name)
	if err != nil {
		return err
	}
	if _, err := request(unix.RTM_DELLINK, 0, ifinfo(l.Index, 0, 0)); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// SetUp brings interface name up (ip link set NAME up), or down.
func SetUp(name string, up bool) error {
	var f uint32
	if up {
		f = unix.IFF_UP
	}
	return setLink(name, func(i int) []byte { return ifinfo(i, f, unix.IFF_UP) })
}

// SetMaster makes interface name a port of bridge (ip link set NAME
// master BRIDGE); bridge "" takes it off its bridge (nomaster).
func SetMaster(name, bridge string) error {
	idx := 0
	if bridge != "" {
		b, err := LinkByName(bridge)
		if err != nil {
			return err
		}
		if b.Kind != "bridge" {
			return fmt.Errorf("%s is not a bridge", bridge)
		}
		idx = b.Index
	}
	return setLink(name, func(i int) []byte {
		return attr(ifinfo(i, 0, 0), unix.IFLA_MASTER, u32(uint32(idx)))
	})
}

// Rename renames interface name to newName (the link must be down).
func Rename(name, newName string) error {
	if newName == "" || len(newName) >= unix.IFNAMSIZ {
		return fmt.Errorf("bad interface name %q", newName)
	}
	return setLink(name, func(i int) []byte {
		return attr(ifinfo(i, 0, 0), unix.IFLA_IFNAME, cstr(newName))
	})
}

// AddAddr gives interface name the IPv4 address ip/prefix (ip addr
// replace), with the broadcast address of that subnet.
func AddAddr(name string, ip net.IP, prefix int) error {
	ip4 := ip.To4()
	if ip4 == nil || prefix < 0 || prefix > 32 {
		return fmt.Errorf("%s: %v/%d is not an IPv4 address and prefix", name, ip, prefix)
	}
	l, err := LinkByName(name)
	if err != nil {
		return err
	}
	b := make([]byte, unix.SizeofIfAddrmsg)
	b[0] = unix.AF_INET
	b[1] = byte(prefix)
	b[3] = unix.RT_SCOPE_UNIVERSE
	ne.PutUint32(b[4:], uint32(l.Index))
	b = attr(b, unix.IFA_LOCAL, ip4)
	b = attr(b, unix.IFA_ADDRESS, ip4)
	mask := net.CIDRMask(prefix, 32)
	bc := make(net.IP, 4)
	for i := range bc {
		bc[i] = ip4[i] | ^mask[i]
	}
	b = attr(b, unix.IFA_BROADCAST, bc)
	if _, err := request(unix.RTM_NEWADDR, unix.NLM_F_CREATE|unix.NLM_F_REPLACE, b); err != nil {
		return fmt.Errorf("%s: address %v/%d: %w", name, ip4, prefix, err)
	}
	return nil
}

// Addrs lists interface name's IPv4 addresses as "A.B.C.D/N".
func Addrs(name string) ([]string, error) {
	l, err := LinkByName(name)
	if err != nil {
		return nil, err
	}
	b := make([]byte, unix.SizeofIfAddrmsg)
	b[0] = unix.AF_INET
	replies, err := request(unix.RTM_GETADDR, unix.NLM_F_DUMP, b)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, r := range replies {
		if len(r) < unix.SizeofIfAddrmsg || int(ne.Uint32(r[4:])) != l.Index {
			continue
		}
		a := attrs(r[unix.SizeofIfAddrmsg:])
		ip := a[unix.IFA_LOCAL]
		if ip == nil {
			ip = a[unix.IFA_ADDRESS]
		}
		if len(ip) == 4 {
			out = append(out, fmt.Sprintf("%v/%d", net.IP(ip), r[1]))
		}
	}
	return out, nil
}

// AddDefaultRoute sets the IPv4 default route through gw on interface
// name (ip route replace default via GW dev NAME).
func AddDefaultRoute(name string, gw net.IP) error {
	gw4 := gw.To4()
	if gw4 == nil {
		return fmt.Errorf("%s: gateway %v is not IPv4", name, gw)
	}
	l, err := LinkByName(name)
	if err != nil {
		return err
	}
	b := make([]byte, unix.SizeofRtMsg)
	b[0] = unix.AF_INET
	b[4] = unix.RT_TABLE_MAIN
	b[5] = unix.RTPROT_BOOT
	b[6] = unix.RT_SCOPE_UNIVERSE
	b[7] = unix.RTN_UNICAST
	b = attr(b, unix.RTA_GATEWAY, gw4)
	b = attr(b, unix.RTA_OIF, u32(uint32(l.Index)))
	if _, err := request(unix.RTM_NEWROUTE, unix.NLM_F_CREATE|unix.NLM_F_REPLACE, b); err != nil {
		return fmt.Errorf("%s: default route via %v: %w", name, gw4, err)
	}
	return nil
}

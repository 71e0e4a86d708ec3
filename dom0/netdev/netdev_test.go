package netdev

import (
	"errors"
	"net"
	"runtime"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

// inNetns moves the test's thread into a new network namespace (the
// thread is never unlocked, so Go discards it when the test ends).
func inNetns(t *testing.T) {
	t.Helper()
	runtime.LockOSThread()
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		t.Skipf("no network namespace (needs CAP_SYS_ADMIN): %v", err)
	}
}

// addVeth makes a veth pair (test support: dom0 has real NICs).
func addVeth(t *testing.T, a, b string) {
	t.Helper()
	peer := attr(ifinfo(0, 0, 0), unix.IFLA_IFNAME, cstr(b))
	data := attr(nil, 1|unix.NLA_F_NESTED, peer) // VETH_INFO_PEER
	info := attr(nil, unix.IFLA_INFO_KIND, []byte("veth"))
	info = attr(info, unix.IFLA_INFO_DATA|unix.NLA_F_NESTED, data)
	body := attr(ifinfo(0, 0, 0), unix.IFLA_IFNAME, cstr(a))
	body = attr(body, unix.IFLA_LINKINFO|unix.NLA_F_NESTED, info)
	if _, err := request(unix.RTM_NEWLINK, unix.NLM_F_CREATE|unix.NLM_F_EXCL, body); err != nil {
		t.Skipf("no veth in this kernel: %v", err)
	}
}

func mustLink(t *testing.T, name string) Link {
	t.Helper()
	l, err := LinkByName(name)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestBridgeLifecycle(t *testing.T) {
	inNetns(t)
	if _, err := LinkByName("xenbr0"); !errors.Is(err, ErrNoLink) {
		t.Fatalf("LinkByName of a missing link: %v, want ErrNoLink", err)
	}
	if err := AddBridge("xenbr0"); err != nil {
		t.Skipf("no bridge support: %v", err)
	}
	if err := AddBridge("xenbr0"); err != nil {
		t.Fatalf("AddBridge of an existing bridge: %v", err)
	}
	br := mustLink(t, "xenbr0")
	if br.Kind != "bridge" || br.Up() {
		t.Fatalf("new bridge %+v: want kind bridge, down", br)
	}
	addVeth(t, "nic0", "vif1.0")
	if err := AddBridge("nic0"); err == nil {
		t.Fatal("AddBridge over a veth: no error")
	}
	if err := SetMaster("vif1.0", "nic0"); err == nil {
		t.Fatal("SetMaster to a non-bridge: no error")
	}
	if err := SetMaster("nic0", "xenbr0"); err != nil {
		t.Fatal(err)
	}
	if l := mustLink(t, "nic0"); l.Master != br.Index {
		t.Fatalf("nic0's master %d, want xenbr0 (%d)", l.Master, br.Index)
	}
	for _, n := range []string{"xenbr0", "nic0"} {
		if err := SetUp(n, true); err != nil {
			t.Fatal(err)
		}
		if !mustLink(t, n).Up() {
			t.Fatalf("%s not up", n)
		}
	}
	if err := AddAddr("xenbr0", net.IPv4(10, 0, 2, 15), 24); err != nil {
		t.Fatal(err)
	}
	if err := AddAddr("xenbr0", net.IPv4(10, 0, 2, 15), 24); err != nil {
		t.Fatalf("AddAddr again (replace): %v", err)
	}
	if a, err := Addrs("xenbr0"); err != nil || !slices.Equal(a, []string{"10.0.2.15/24"}) {
		t.Fatalf("Addrs = %v, %v", a, err)
	}
	if err := AddAddr("xenbr0", net.ParseIP("fe80::1"), 64); err == nil {
		t.Fatal("AddAddr of an IPv6 address: no error")
	}
	if err := AddDefaultRoute("xenbr0", net.IPv4(10, 0, 2, 2)); err != nil {
		t.Fatal(err)
	}
	// netback's vif: renamed while down, then on the bridge and up.
	if err := Rename("vif1.0", "vif-web"); err != nil {
		t.Fatal(err)
	}
	if ok, err := Exists("vif-web"); !ok || err != nil {
		t.Fatalf("renamed link: Exists = %v, %v", ok, err)
	}
	if ok, _ := Exists("vif1.0"); ok {
		t.Fatal("old name still exists")
	}
	if err := SetMaster("vif-web", "xenbr0"); err != nil {
		t.Fatal(err)
	}
	if err := SetUp("vif-web", true); err != nil {
		t.Fatal(err)
	}
	links, err := Links()
	if err != nil {
		t.Fatal(err)
	}
	var ports []string
	for _, l := range links {
		if l.Master == br.Index {
			ports = append(ports, l.Name)
		}
	}
	slices.Sort(ports)
	if !slices.Equal(ports, []string{"nic0", "vif-web"}) {
		t.Fatalf("xenbr0's ports %v", ports)
	}
	if err := SetMaster("nic0", ""); err != nil {
		t.Fatal(err)
	}
	if l := mustLink(t, "nic0"); l.Master != 0 {
		t.Fatalf("nomaster left master %d", l.Master)
	}
	if err := DelLink("nic0"); err != nil { // takes its peer with it
		t.Fatal(err)
	}
	for _, n := range []string{"nic0", "vif-web"} {
		if ok, err := Exists(n); ok || err != nil {
			t.Fatalf("%s after delete: Exists = %v, %v", n, ok, err)
		}
	}
	if err := SetUp("nic0", true); !errors.Is(err, ErrNoLink) {
		t.Fatalf("SetUp of a deleted link: %v", err)
	}
	if _, err := LinkByName("a-name-far-too-long-for-linux"); err == nil {
		t.Fatal("over-long name: no error")
	}
}

func TestAttrsTolerateGarbage(t *testing.T) {
	for _, b := range [][]byte{nil, {1}, {2, 0, 1, 0}, {0xff, 0xff, 1, 0, 9}, {8, 0, 3, 0, 'a', 'b', 0, 0, 3}} {
		attrs(b)
		parseLink(b)
	}
	if _, ok := parseLink(make([]byte, 4)); ok {
		t.Fatal("parseLink of a short message succeeded")
	}
}

package main

import (
	"net"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"gozen/dom0/netdev"
)

// dom0's network, as a Xen host's /etc/network/interfaces sets it up:
// bridge xenbr0 with the first physical Ethernet NIC as its uplink, dom0's
// address on the bridge. The address is static, QEMU user networking's
// (10.0.2.15/24, gateway 10.0.2.2): the same one its DHCP server hands out
// first, without a DHCP client in dom0init (`dhclient xenbr0` still
// works). domUs' vifs join the bridge when xl creates them.
const (
	bridgeName = "xenbr0"
	dom0Prefix = 24
)

var (
	dom0Addr = net.IPv4(10, 0, 2, 15)
	dom0GW   = net.IPv4(10, 0, 2, 2)
)

// setupNetwork builds xenbr0 if the bridge module is there. Problems are
// reported and leave dom0 without that part of its network, never stop
// dom0init.
func setupNetwork() {
	if _, err := os.Stat("/sys/module/bridge"); err != nil {
		say("network: no bridge module: no %s", bridgeName)
		return
	}
	if err := netdev.AddBridge(bridgeName); err != nil {
		say("network: %v", err)
		return
	}
	nic := physicalNIC()
	if nic != "" {
		if err := netdev.SetMaster(nic, bridgeName); err != nil {
			say("network: %s on %s: %v", nic, bridgeName, err)
			nic = ""
		} else if err := netdev.SetUp(nic, true); err != nil {
			say("network: %v", err)
		}
	}
	if err := netdev.SetUp(bridgeName, true); err != nil {
		say("network: %v", err)
		return
	}
	if err := netdev.AddAddr(bridgeName, dom0Addr, dom0Prefix); err != nil {
		say("network: %v", err)
		return
	}
	if nic == "" {
		say("network: %s up, %v/%d, no uplink (no physical NIC)", bridgeName, dom0Addr, dom0Prefix)
		return
	}
	if err := netdev.AddDefaultRoute(bridgeName, dom0GW); err != nil {
		say("network: %v", err)
	}
	say("network: %s up, %v/%d, uplink %s, default via %v", bridgeName, dom0Addr, dom0Prefix, nic, dom0GW)
}

// physicalNIC is the first Ethernet interface backed by a device (a PCI
// NIC, not a bridge, vif or loopback), by name.
func physicalNIC() string {
	links, err := netdev.Links()
	if err != nil {
		say("network: %v", err)
		return ""
	}
	best := ""
	for _, l := range links {
		if l.Type != unix.ARPHRD_ETHER || l.Kind != "" || l.Master != 0 {
			continue
		}
		if _, err := os.Stat(filepath.Join("/sys/class/net", l.Name, "device")); err != nil {
			continue
		}
		if best == "" || l.Name < best {
			best = l.Name
		}
	}
	return best
}

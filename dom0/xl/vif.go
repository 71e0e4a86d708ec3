package xl

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"gozen/dom0/xl/cfg"
)

// Netdev is what vif hotplug does to dom0's network interfaces, the work
// of Xen's vif-bridge script (package netdev implements it in dom0; host
// tests use a fake).
type Netdev interface {
	// Exists reports whether interface name exists.
	Exists(name string) (bool, error)
	// Rename renames a (down) interface.
	Rename(name, newName string) error
	// Enslave puts interface name on bridge and brings it up.
	Enslave(name, bridge string) error
}

// Vif defaults, as libxl's.
const (
	DefaultBridge    = "xenbr0"
	DefaultVifScript = "/etc/xen/scripts/vif-bridge"
)

// VifWait bounds how long hotplug waits for netback's interface to appear
// (or, on removal, to go), and network-detach for the back end to close.
var VifWait = 10 * time.Second

// randomMAC is a MAC in Xen's OUI 00:16:3e, as libxl picks one.
func randomMAC() (string, error) {
	var b [3]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return net.HardwareAddr{0x00, 0x16, 0x3e, b[0] & 0x7f, b[1], b[2]}.String(), nil
}

// addVif writes vif v's back-end and front-end trees for domain id as
// libxl's device_nic_add does, then runs the hotplug step. It returns the
// device ID used.
func (e *Env) addVif(id uint32, v cfg.Vif) (int, error) {
	if v.Backend != "" && v.Backend != "0" && v.Backend != "Domain-0" {
		return 0, fmt.Errorf("vif backend %q: only dom0 serves vifs", v.Backend)
	}
	if v.Type != "" && v.Type != "vif" {
		return 0, fmt.Errorf("vif type %q: a PVH domain has only PV vifs (type=vif)", v.Type)
	}
	if v.Script != "" && v.Script != DefaultVifScript && !strings.HasSuffix(v.Script, "/vif-bridge") && v.Script != "vif-bridge" {
		return 0, fmt.Errorf("vif script %q: only vif-bridge's steps are done (in xl)", v.Script)
	}
	if e.Net == nil {
		return 0, errors.New("vif: no access to dom0's network interfaces")
	}
	devid := 0
	if ids := e.devIDs(vifClass, id); len(ids) > 0 {
		devid = ids[len(ids)-1] + 1
	}
	if v.MAC == "" {
		m, err := randomMAC()
		if err != nil {
			return 0, err
		}
		v.MAC = m
	}
	if v.Bridge == "" {
		v.Bridge = DefaultBridge
	}
	if v.Script == "" {
		v.Script = DefaultVifScript
	}
	n, dev := strconv.Itoa(int(id)), strconv.Itoa(devid)
	be := vifClass.backendDir(0, id) + "/" + dev
	fe := vifClass.frontendDir(id) + "/" + dev
	beNodes := [][2]string{
		{"frontend", fe}, {"frontend-id", n}, {"online", "1"},
		{"script", v.Script}, {"mac", v.MAC}, {"bridge", v.Bridge}, {"handle", dev}, {"type", "vif"},
		// Empty: netback waits for it to read "connected" before it
		// connects (libxl does the same since 2022).
		{"hotplug-status", ""},
	}
	if v.IP != "" {
		beNodes = append(beNodes, [2]string{"ip", v.IP})
	}
	if v.VifName != "" {
		beNodes = append(beNodes, [2]string{"vifname", v.VifName})
	}
	if v.Rate != "" {
		beNodes = append(beNodes, [2]string{"rate", v.Rate})
	}
	if v.MTU != "" {
		beNodes = append(beNodes, [2]string{"mtu", v.MTU})
	}
	feNodes := [][2]string{
		{"backend", be}, {"backend-id", "0"}, {"handle", dev}, {"mac", v.MAC},
	}
	if v.MTU != "" {
		feNodes = append(feNodes, [2]string{"mtu", v.MTU})
	}
	fail := func(err error) (int, error) {
		e.XS.Rm(be)
		e.XS.Rm(fe)
		return 0, fmt.Errorf("vif %d of domain %d: %v", devid, id, err)
	}
	// The back end is dom0's, readable by the domain; the front end the
	// domain's, readable by dom0 (libxl__device_generic_add).
	if err := e.writeDevDir(be, beNodes, "n0", "r"+n); err != nil {
		return fail(err)
	}
	if err := e.writeDevDir(fe, feNodes, "n"+n, "r0"); err != nil {
		return fail(err)
	}
	// The states last, once both trees exist, the back end's very last
	// (libxl writes both trees in one transaction): Linux probes a back
	// end only when a write under it finds state Initialising and the
	// front end's directory present (backend_bus_id), and the front end's
	// writes do not fire dom0's "backend" watch, so a back end made
	// Initialising before its front end existed could be missed for
	// good; and a back end probed before the front end has a state reads
	// it as Unknown and unregisters itself (netback's frontend_changed).
	if err := e.writeStates(be, fe, n); err != nil {
		return fail(err)
	}
	if err := e.vifHotplug(id, devid, v); err != nil {
		return fail(err)
	}
	return devid, nil
}

// writeStates makes a device's front end fe (domain n's), then its back
// end be, Initialising, each with its tree's permissions.
func (e *Env) writeStates(be, fe, n string) error {
	for _, s := range []struct {
		p     string
		perms []string
	}{{fe + "/state", []string{"n" + n, "r0"}}, {be + "/state", []string{"n0", "r" + n}}} {
		if err := e.XS.Write(s.p, strconv.Itoa(xenbusInitialising)); err != nil {
			return err
		}
		if err := e.XS.SetPerms(s.p, s.perms...); err != nil {
			return err
		}
	}
	return nil
}

// writeDevDir writes a device directory: the directory with perms, then
// its nodes with the same perms.
func (e *Env) writeDevDir(dir string, nodes [][2]string, perms ...string) error {
	if err := e.XS.Mkdir(dir); err != nil {
		return err
	}
	if err := e.XS.SetPerms(dir, perms...); err != nil {
		return err
	}
	for _, kv := range nodes {
		p := dir + "/" + kv[0]
		if err := e.XS.Write(p, kv[1]); err != nil {
			return err
		}
		if err := e.XS.SetPerms(p, perms...); err != nil {
			return err
		}
	}
	return nil
}

// vifHotplug is vif-bridge's "online" step: wait for netback's
// vifDOMID.DEVID, rename it to vifname= if given, put it on the bridge,
// bring it up, and tell netback with hotplug-status = connected.
func (e *Env) vifHotplug(id uint32, devid int, v cfg.Vif) error {
	name := fmt.Sprintf("vif%d.%d", id, devid)
	if err := e.waitLink(name, true); err != nil {
		return err
	}
	if v.VifName != "" && v.VifName != name {
		if err := e.Net.Rename(name, v.VifName); err != nil {
			return fmt.Errorf("renaming %s to %s: %v", name, v.VifName, err)
		}
		name = v.VifName
	}
	if err := e.Net.Enslave(name, v.Bridge); err != nil {
		return fmt.Errorf("%s on bridge %s: %v", name, v.Bridge, err)
	}
	return e.XS.Write(vifClass.backendDir(0, id)+"/"+strconv.Itoa(devid)+"/hotplug-status", "connected")
}

// waitLink waits until interface name exists (present) or is gone.
func (e *Env) waitLink(name string, present bool) error {
	deadline := e.now().Add(VifWait)
	for {
		ok, err := e.Net.Exists(name)
		if err != nil {
			return err
		}
		if ok == present {
			return nil
		}
		if !e.now().Before(deadline) {
			if present {
				return fmt.Errorf("netback made no %s within %v (is xen-netback loaded?)", name, VifWait)
			}
			return fmt.Errorf("%s still exists %v after its back end was removed", name, VifWait)
		}
		e.sleep()
	}
}

// removeVif removes vif devid of domain id (removeDevice: the back end
// is asked to close, and given VifWait to; force, for destroy, removes
// the front end at once); netback then deletes its interface (which
// leaves the bridge with it), and removeVif waits for that.
func (e *Env) removeVif(id uint32, devid int, force bool) error {
	be := vifClass.backendDir(0, id) + "/" + strconv.Itoa(devid)
	name, _ := e.XS.Read(be + "/vifname")
	if name == "" {
		name = fmt.Sprintf("vif%d.%d", id, devid)
	}
	return e.removeDevice(vifClass, id, devid, force, func() error {
		if e.Net == nil {
			return nil
		}
		return e.waitLink(name, false)
	})
}

// removeVifs removes all of domain id's vifs (destroy) and its back-end
// directory.
func (e *Env) removeVifs(id uint32) error {
	return e.removeDevices(vifClass, id, func(d int) error { return e.removeVif(id, d, true) })
}

// addVifs adds the configuration's vifs to a new (paused) domain.
func (e *Env) addVifs(id uint32, c *cfg.Config) error {
	for _, v := range c.Vifs {
		if _, err := e.addVif(id, v); err != nil {
			return err
		}
	}
	return nil
}

// networkAttach is xl network-attach DOMAIN [KEY=VALUE...]: the spec's
// parts may be given as separate arguments, as xl takes them.
func (e *Env) networkAttach(args []string) error {
	if len(args) < 1 {
		return usage("network-attach", "xl network-attach: want DOMAIN and a vif spec")
	}
	id, err := e.find(args[0])
	if err != nil {
		return err
	}
	v, err := cfg.ParseVif(strings.Join(args[1:], ","))
	if err != nil {
		return fmt.Errorf("network-attach: %v", err)
	}
	if _, err := e.addVif(id, v); err != nil {
		return fmt.Errorf("libxl_device_nic_add failed: %v", err)
	}
	return nil
}

// networkDetach is xl network-detach DOMAIN DEVID|MAC.
func (e *Env) networkDetach(args []string) error {
	if len(args) != 2 {
		return usage("network-detach", "xl network-detach: want DOMAIN and DEVID or MAC")
	}
	id, err := e.find(args[0])
	if err != nil {
		return err
	}
	want := -1
	if !strings.Contains(args[1], ":") {
		n, err := strconv.Atoi(args[1])
		if err == nil && n >= 0 {
			for _, d := range e.devIDs(vifClass, id) {
				if d == n {
					want = d
				}
			}
		}
	} else if hw, err := net.ParseMAC(args[1]); err == nil {
		for _, d := range e.devIDs(vifClass, id) {
			m, _ := e.XS.Read(fmt.Sprintf("%s/%d/mac", vifClass.backendDir(0, id), d))
			if m2, err := net.ParseMAC(m); err == nil && m2.String() == hw.String() {
				want = d
			}
		}
	}
	if want < 0 {
		return fmt.Errorf("Unknown device %s.", args[1])
	}
	return e.removeVif(id, want, false)
}

// networkList is xl network-list DOMAIN...: one line per vif, in xl's
// format (state, event channel and rings are the front end's; -1 for a
// value the front end has not written yet).
func (e *Env) networkList(args []string) error {
	if len(args) == 0 {
		return usage("network-list", "xl network-list: want DOMAIN...")
	}
	fmt.Fprintf(e.Stdout, "%-3s %-2s %-17s %-6s %-5s %-6s %5s/%-5s %-30s\n",
		"Idx", "BE", "Mac Addr.", "handle", "state", "evt-ch", "tx-", "rx-ring-ref", "BE-path")
	for _, a := range args {
		id, err := e.find(a)
		if err != nil {
			return err
		}
		for _, d := range e.devIDs(vifClass, id) {
			be := fmt.Sprintf("%s/%d", vifClass.backendDir(0, id), d)
			fe, _ := e.XS.Read(be + "/frontend")
			mac, _ := e.XS.Read(be + "/mac")
			fmt.Fprintf(e.Stdout, "%-3d %-2d %-17s %6d %5d %6d %5d/%-11d %-30s\n",
				d, 0, mac, d, e.num(fe+"/state"), e.num(fe+"/event-channel"),
				e.num(fe+"/tx-ring-ref"), e.num(fe+"/rx-ring-ref"), be)
		}
	}
	return nil
}

package xl

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gozen/dom0/xl/cfg"
)

// Blockdev is what disk hotplug does to dom0's block devices, the work of
// Xen's block script (dom0/cmd/xl implements it with package dom0/loop;
// host tests use a fake).
type Blockdev interface {
	// Stat says whether path is a block device (with its device number)
	// or a regular file (block false); anything else is an error.
	Stat(path string) (block bool, major, minor uint32, err error)
	// AttachLoop backs a free loop device with file (read-only if ro).
	AttachLoop(file string, ro bool) (dev string, major, minor uint32, err error)
	// DetachLoop frees loop device dev (at its last close if it is busy).
	DetachLoop(dev string) error
	// LoopBacking is the file loop device dev is attached to ("" if free).
	LoopBacking(dev string) (string, error)
}

// DefaultBlockScript is libxl's script= for disks; its steps are done here.
const DefaultBlockScript = "/etc/xen/scripts/block"

// DiskWait bounds how long block-detach waits for the back end to close
// and teardown for the kernel to free a file target's loop device.
var DiskWait = 10 * time.Second

// checkDisk refuses what the toolstack cannot serve: only dom0's blkback,
// raw images and the block script's steps.
func checkDisk(d cfg.Disk) error {
	if d.Backend != "" && d.Backend != "0" && d.Backend != "Domain-0" {
		return fmt.Errorf("disk backend %q: only dom0 serves disks", d.Backend)
	}
	if d.Format != "raw" {
		return fmt.Errorf("disk format %q: only raw disks are served (blkback reads the file or device as it is; qcow2, vhd and qed need a qemu back end, which GoZen has not)", d.Format)
	}
	if d.Script != "" && d.Script != DefaultBlockScript && d.Script != "block" && !strings.HasSuffix(d.Script, "/block") {
		return fmt.Errorf("disk script %q: only the block script's steps are done (in xl)", d.Script)
	}
	if d.Target == "" {
		return errors.New("disk: an empty drive (no target) is not supported")
	}
	return nil
}

// addDisk writes disk d's back-end and front-end trees for domain id as
// libxl's device_disk_add does and runs the block script's "add" step: a
// file target is attached to a loop device, and physical-device names the
// device blkback opens (major:minor in hex). It returns the device ID.
func (e *Env) addDisk(id uint32, d cfg.Disk) (int, error) {
	if err := checkDisk(d); err != nil {
		return 0, err
	}
	devid, err := cfg.VdevNumber(d.Vdev)
	if err != nil {
		return 0, err
	}
	if e.Block == nil {
		return 0, errors.New("disk: no access to dom0's block devices")
	}
	for _, have := range e.devIDs(vbdClass, id) {
		if have == devid {
			return 0, fmt.Errorf("disk %s (device %d) of domain %d: the domain already has it", d.Vdev, devid, id)
		}
	}
	if err := e.checkSharing(d); err != nil {
		return 0, fmt.Errorf("disk %s of domain %d: %v", d.Vdev, id, err)
	}
	n, dev := strconv.Itoa(int(id)), strconv.Itoa(devid)
	be := vbdClass.backendDir(0, id) + "/" + dev
	fe := vbdClass.frontendDir(id) + "/" + dev
	mode := "w"
	if d.Access == "ro" {
		mode = "r"
	}
	// Before any node is written: the target must be a block device or a
	// file, and a file gets its loop device.
	block, major, minor, err := e.Block.Stat(d.Target)
	if err != nil {
		return 0, fmt.Errorf("disk %s of domain %d: target %s: %v", d.Vdev, id, d.Target, err)
	}
	node := d.Target
	loopDev := ""
	if !block {
		loopDev, major, minor, err = e.Block.AttachLoop(d.Target, mode == "r")
		if err != nil {
			return 0, fmt.Errorf("disk %s of domain %d: attaching %s to a loop device: %v", d.Vdev, id, d.Target, err)
		}
		node = loopDev
	}
	beNodes := [][2]string{
		{"frontend", fe}, {"frontend-id", n}, {"online", "1"}, {"removable", "0"}, {"bootable", "1"},
		{"dev", d.Vdev}, {"type", "phy"}, {"mode", mode}, {"device-type", d.DevType},
		{"params", d.Target}, {"script", DefaultBlockScript}, {"discard-enable", "1"},
		// What the block script writes: the device blkback opens.
		{"physical-device-path", node},
	}
	if loopDev != "" {
		beNodes = append(beNodes, [2]string{"node", loopDev})
	}
	feNodes := [][2]string{
		{"backend", be}, {"backend-id", "0"}, {"virtual-device", dev}, {"device-type", d.DevType},
	}
	fail := func(err error) (int, error) {
		e.XS.Rm(be)
		e.XS.Rm(fe)
		if loopDev != "" {
			e.Block.DetachLoop(loopDev)
		}
		return 0, fmt.Errorf("disk %s of domain %d: %v", d.Vdev, id, err)
	}
	if err := e.writeDevDir(be, beNodes, "n0", "r"+n); err != nil {
		return fail(err)
	}
	if err := e.writeDevDir(fe, feNodes, "n"+n, "r0"); err != nil {
		return fail(err)
	}
	// The states last, the back end's after the front end's (as for a
	// vif, writeStates): blkback probes once its back end is
	// Initialising, reads the front end's state (missing: Unknown, and it
	// unregisters itself), then watches physical-device, which comes
	// after it, as from the hotplug script.
	if err := e.writeStates(be, fe, n); err != nil {
		return fail(err)
	}
	if err := e.XS.Write(be+"/physical-device", fmt.Sprintf("%x:%x", major, minor)); err != nil {
		return fail(err)
	}
	if err := e.XS.SetPerms(be+"/physical-device", "n0", "r"+n); err != nil {
		return fail(err)
	}
	if err := e.XS.Write(be+"/hotplug-status", "connected"); err != nil {
		return fail(err)
	}
	return devid, nil
}

// checkSharing refuses a target another disk already has, unless both are
// read-only, as the block script's check_sharing does (two writers, or a
// writer and a reader, of one file system corrupt it).
func (e *Env) checkSharing(d cfg.Disk) error {
	doms, _ := e.XS.Directory("/local/domain/0/backend/vbd")
	for _, dom := range doms {
		devs, _ := e.XS.Directory("/local/domain/0/backend/vbd/" + dom)
		for _, dev := range devs {
			be := "/local/domain/0/backend/vbd/" + dom + "/" + dev
			params, err := e.XS.Read(be + "/params")
			if err != nil || params != d.Target {
				continue
			}
			mode, _ := e.XS.Read(be + "/mode")
			if mode == "r" && d.Access == "ro" {
				continue
			}
			vdev, _ := e.XS.Read(be + "/dev")
			return fmt.Errorf("target %s is already in use by domain %s (%s, mode %s): only read-only disks can share a target", d.Target, dom, vdev, mode)
		}
	}
	return nil
}

// removeDisk removes disk devid of domain id (removeDevice: the back end
// is asked to close, and given DiskWait to; force, for destroy, removes
// the front end at once); then a loop device the disk had is detached,
// and removeDisk waits up to DiskWait for the kernel to free it.
func (e *Env) removeDisk(id uint32, devid int, force bool) error {
	be := vbdClass.backendDir(0, id) + "/" + strconv.Itoa(devid)
	loopDev, _ := e.XS.Read(be + "/node")
	return e.removeDevice(vbdClass, id, devid, force, func() error {
		if loopDev == "" || e.Block == nil {
			return nil
		}
		return e.detachLoop(loopDev)
	})
}

// detachLoop detaches loop device dev and waits until the kernel has
// freed it (blkback closes it when it has handled the back end's
// removal).
func (e *Env) detachLoop(dev string) error {
	if err := e.Block.DetachLoop(dev); err != nil {
		return err
	}
	deadline := e.now().Add(DiskWait)
	for {
		f, err := e.Block.LoopBacking(dev)
		if err != nil || f == "" {
			return nil
		}
		if !e.now().Before(deadline) {
			return fmt.Errorf("%s still backed by %s %v after it was detached (blkback still holds it?)", dev, f, DiskWait)
		}
		e.sleep()
	}
}

// removeDisks removes all of domain id's disks (destroy) and its
// back-end directory.
func (e *Env) removeDisks(id uint32) error {
	return e.removeDevices(vbdClass, id, func(d int) error { return e.removeDisk(id, d, true) })
}

// addDisks adds the configuration's disks to a new (paused) domain.
func (e *Env) addDisks(id uint32, c *cfg.Config) error {
	for _, d := range c.Disks {
		if _, err := e.addDisk(id, d); err != nil {
			return err
		}
	}
	return nil
}

// blockAttach is xl block-attach DOMAIN DISKSPEC...: the spec's parts may
// be given as separate arguments, as xl takes them.
func (e *Env) blockAttach(args []string) error {
	if len(args) < 2 {
		return usage("block-attach", "xl block-attach: want DOMAIN and a disk spec")
	}
	id, err := e.find(args[0])
	if err != nil {
		return err
	}
	d, err := cfg.ParseDisk(strings.Join(args[1:], ","))
	if err != nil {
		return fmt.Errorf("block-attach: %v", err)
	}
	if _, err := e.addDisk(id, d); err != nil {
		return fmt.Errorf("libxl_device_disk_add failed: %v", err)
	}
	return nil
}

// blockDetach is xl block-detach DOMAIN VDEV|DEVID.
func (e *Env) blockDetach(args []string) error {
	if len(args) != 2 {
		return usage("block-detach", "xl block-detach: want DOMAIN and VDEV or DEVID")
	}
	id, err := e.find(args[0])
	if err != nil {
		return err
	}
	want, err := strconv.Atoi(args[1])
	if err != nil || want < 0 {
		if want, err = cfg.VdevNumber(args[1]); err != nil {
			want = -1
		}
	}
	found := false
	for _, d := range e.devIDs(vbdClass, id) {
		found = found || d == want
	}
	if !found {
		return fmt.Errorf("Error: Device %s not connected.", args[1])
	}
	return e.removeDisk(id, want, false)
}

// blockList is xl block-list DOMAIN...: one line per disk in xl's format
// (handle is the front end's domain; state, event channel and ring are
// the front end's, -1 for a value it has not written yet).
func (e *Env) blockList(args []string) error {
	if len(args) == 0 {
		return usage("block-list", "xl block-list: want DOMAIN...")
	}
	fmt.Fprintf(e.Stdout, "%-5s %-3s %-6s %-5s %-6s %-8s %-30s\n",
		"Vdev", "BE", "handle", "state", "evt-ch", "ring-ref", "BE-path")
	for _, a := range args {
		id, err := e.find(a)
		if err != nil {
			return err
		}
		for _, d := range e.devIDs(vbdClass, id) {
			be := fmt.Sprintf("%s/%d", vbdClass.backendDir(0, id), d)
			fe, _ := e.XS.Read(be + "/frontend")
			fmt.Fprintf(e.Stdout, "%-5d %-3d %-6d %-5d %-6d %-8d %-30s\n",
				d, 0, id, e.num(fe+"/state"), e.num(fe+"/event-channel"), e.num(fe+"/ring-ref"), be)
		}
	}
	return nil
}

// Package loop attaches files to Linux loop devices and detaches them, as
// losetup does, through /dev/loop-control (LOOP_CTL_GET_FREE) and
// LOOP_CONFIGURE. The toolstack uses it for disk targets that are files
// (Xen's block hotplug script runs losetup for the same).
package loop

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Control is the loop control device.
const Control = "/dev/loop-control"

// Device is an attached loop device.
type Device struct {
	Path         string // /dev/loopN
	Major, Minor uint32
}

// Attach backs a free loop device with file (read-only if readOnly) and
// returns it. The kernel holds its own reference to the file, so nothing
// stays open here. A device another process grabs between
// LOOP_CTL_GET_FREE and LOOP_CONFIGURE (EBUSY) makes Attach try the next
// free one.
func Attach(file string, readOnly bool) (Device, error) {
	mode := os.O_RDWR
	if readOnly {
		mode = os.O_RDONLY
	}
	f, err := os.OpenFile(file, mode, 0)
	if err != nil {
		return Device{}, err
	}
	defer f.Close()
	ctl, err := os.OpenFile(Control, os.O_RDWR, 0)
	if err != nil {
		return Device{}, err
	}
	defer ctl.Close()
	for try := 0; try < 16; try++ {
		n, err := unix.IoctlRetInt(int(ctl.Fd()), unix.LOOP_CTL_GET_FREE)
		if err != nil {
			return Device{}, fmt.Errorf("%s: LOOP_CTL_GET_FREE: %w", Control, err)
		}
		path := fmt.Sprintf("/dev/loop%d", n)
		dev, err := openNode(path, mode)
		if err != nil {
			return Device{}, err
		}
		cfg := unix.LoopConfig{Fd: uint32(f.Fd())}
		if readOnly {
			cfg.Info.Flags |= unix.LO_FLAGS_READ_ONLY
		}
		copy(cfg.Info.File_name[:len(cfg.Info.File_name)-1], file)
		err = unix.IoctlLoopConfigure(int(dev.Fd()), &cfg)
		var st unix.Stat_t
		if err == nil {
			err = unix.Fstat(int(dev.Fd()), &st)
		}
		dev.Close()
		if errors.Is(err, unix.EBUSY) {
			continue
		}
		if err != nil {
			return Device{}, fmt.Errorf("%s: LOOP_CONFIGURE with %s: %w", path, file, err)
		}
		return Device{Path: path, Major: unix.Major(st.Rdev), Minor: unix.Minor(st.Rdev)}, nil
	}
	return Device{}, fmt.Errorf("%s: no free loop device after 16 tries (all busy)", file)
}

// openNode opens a loop device node, waiting briefly for devtmpfs to
// create one LOOP_CTL_GET_FREE has just added.
func openNode(path string, mode int) (*os.File, error) {
	for i := 0; ; i++ {
		f, err := os.OpenFile(path, mode, 0)
		if err == nil || !errors.Is(err, os.ErrNotExist) || i == 50 {
			return f, err
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// IsLoop reports whether path names a loop device node (/dev/loopN).
func IsLoop(path string) bool {
	rest, ok := strings.CutPrefix(path, "/dev/loop")
	if !ok || rest == "" {
		return false
	}
	for _, c := range rest {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// Detach frees loop device path (LOOP_CLR_FD). A device still open
// elsewhere (blkback still holding it) is detached by the kernel when its
// last user closes it (Linux sets LO_FLAGS_AUTOCLEAR then). A device that
// is already free is not an error.
func Detach(path string) error {
	if !IsLoop(path) {
		return fmt.Errorf("%s is not a loop device", path)
	}
	f, err := os.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.IoctlSetInt(int(f.Fd()), unix.LOOP_CLR_FD, 0); err != nil && !errors.Is(err, unix.ENXIO) {
		return fmt.Errorf("%s: LOOP_CLR_FD: %w", path, err)
	}
	return nil
}

// BackingFile is the file loop device path is attached to ("" if none).
func BackingFile(path string) (string, error) {
	f, err := os.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return "", err
	}
	defer f.Close()
	info, err := unix.IoctlLoopGetStatus64(int(f.Fd()))
	if errors.Is(err, unix.ENXIO) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return unix.ByteSliceToString(info.File_name[:]), nil
}

package cfg

import (
	"fmt"
	"strconv"
	"strings"
)

// Device numbers of the Linux disk majors the PV block protocol names
// (xen/include/public/io/blkif.h, "Virtual device numbering"; libxl's
// libxl__device_disk_dev_number).
const (
	xvdMajor   = 202
	xvdExtBit  = 1 << 28 // the extended scheme: (1<<28) | disk<<8 | partition
	scsiMajor  = 8
	maxExtDisk = 1 << 20
)

var ideMajors = [2]int{3, 22} // hda, hdb; hdc, hdd

// VdevNumber is the device number (the front end's virtual-device, the
// device ID of its xenstore directories) of a vdev: xvdX[N] is 202<<8 |
// disk<<4 | N for the first 16 disks and partitions (xvda = 51712), and
// (1<<28) | disk<<8 | N beyond; hdX[N] and sdX[N] get the IDE and SCSI
// majors' numbers; dDpP names disk D partition P (the extended scheme
// when it does not fit the xvd one). Disk letters run a..z, aa..., as
// Linux names them.
func VdevNumber(vdev string) (int, error) {
	bad := func(why string) (int, error) { return 0, fmt.Errorf("vdev %q: %s", vdev, why) }
	if vdev == "" {
		return bad("empty")
	}
	if strings.HasPrefix(vdev, "d") && len(vdev) > 1 && vdev[1] >= '0' && vdev[1] <= '9' {
		ds, ps, hasP := strings.Cut(vdev[1:], "p")
		disk, err1 := decimal(ds)
		part := 0
		var err2 error
		if hasP {
			part, err2 = decimal(ps)
		}
		if err1 != nil || err2 != nil {
			return bad("want dDISKpPARTITION with decimal numbers")
		}
		return xvdNumber(vdev, disk, part)
	}
	var prefix string
	for _, p := range []string{"xvd", "hd", "sd"} {
		if strings.HasPrefix(vdev, p) {
			prefix = p
			break
		}
	}
	if prefix == "" {
		return bad("want xvdX, hdX, sdX (X a disk letter, then an optional partition number) or dDpP")
	}
	rest := vdev[len(prefix):]
	i := 0
	disk := 0
	for i < len(rest) && rest[i] >= 'a' && rest[i] <= 'z' {
		if disk > maxExtDisk {
			return bad("disk index too large")
		}
		disk = disk*26 + int(rest[i]-'a') + 1
		i++
	}
	if i == 0 {
		return bad("no disk letter after " + prefix)
	}
	disk-- // a=0, z=25, aa=26
	part := 0
	if i < len(rest) {
		p, err := decimal(rest[i:])
		if err != nil || p == 0 {
			return bad("the partition must be a number from 1")
		}
		part = p
	}
	switch prefix {
	case "hd":
		if disk >= 4 || part >= 64 {
			return bad("IDE names reach hdd and partition 63")
		}
		return ideMajors[disk/2]<<8 | (disk&1)<<6 | part, nil
	case "sd":
		if disk >= 16 || part >= 16 {
			return bad("SCSI names reach sdp and partition 15")
		}
		return scsiMajor<<8 | disk<<4 | part, nil
	}
	return xvdNumber(vdev, disk, part)
}

func xvdNumber(vdev string, disk, part int) (int, error) {
	switch {
	case disk < 16 && part < 16:
		return xvdMajor<<8 | disk<<4 | part, nil
	case disk < maxExtDisk && part < 256:
		return xvdExtBit | disk<<8 | part, nil
	}
	return 0, fmt.Errorf("vdev %q: disk or partition out of range", vdev)
}

// decimal reads a plain decimal number (no sign, no leading zeros).
func decimal(s string) (int, error) {
	if s == "" || (len(s) > 1 && s[0] == '0') || len(s) > 9 {
		return 0, fmt.Errorf("bad number %q", s)
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("bad number %q", s)
		}
	}
	return strconv.Atoi(s)
}

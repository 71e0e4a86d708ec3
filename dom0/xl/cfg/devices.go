package cfg

import (
	"errors"
	"fmt"
	"net"
	"strings"
)

// Disk is one entry of disk=[...] (xl-disk-configuration(5)), for the PV
// block back end.
type Disk struct {
	Target  string // the backing file or device
	Format  string // raw (default), qcow, qcow2, vhd, qed
	Vdev    string // the guest's name for it: xvda, hda, ...
	Access  string // "rw" (default) or "ro"
	DevType string // "disk" (default) or "cdrom"
	Backend string // the back-end domain (default 0)
	Script  string // hotplug script
}

// ParseDisk reads a DISKSPEC: comma-separated key=value pairs, the flag
// "cdrom", and positional parameters taken as target, format, vdev,
// access in that order (an empty one keeps its default); target= takes the
// rest of the string, commas and all. The deprecated form
// "[FORMAT:]TARGET,VDEV[:cdrom],ACCESS" (e.g. "phy:/dev/sdb,xvda,w") is
// understood too.
func ParseDisk(spec string) (Disk, error) {
	d := Disk{}
	set := map[string]bool{}
	assign := func(key, val string) error {
		if set[key] {
			return fmt.Errorf("%s given twice", key)
		}
		set[key] = true
		switch key {
		case "target":
			d.Target = val
		case "format":
			d.Format = val
		case "vdev":
			d.Vdev = val
		case "access":
			d.Access = val
		case "devtype":
			d.DevType = val
		case "backend":
			d.Backend = val
		case "script":
			d.Script = val
		default:
			return fmt.Errorf("unknown disk parameter %q", key)
		}
		return nil
	}
	// Tokens in order; target= takes the rest of the string.
	type token struct {
		key, val string
		named    bool
	}
	var toks []token
	rest := spec
	nPos := 0
	for rest != "" {
		var tok string
		tok, rest, _ = strings.Cut(rest, ",")
		tok = strings.TrimSpace(tok)
		if k, v, ok := strings.Cut(tok, "="); ok {
			k = strings.TrimSpace(k)
			if k == "target" && rest != "" {
				v += "," + rest
				rest = ""
			}
			toks = append(toks, token{k, strings.TrimSpace(v), true})
			continue
		}
		if tok == "cdrom" {
			toks = append(toks, token{"devtype", "cdrom", true})
			continue
		}
		toks = append(toks, token{val: tok})
		nPos++
	}
	named := func(k string) bool {
		for _, t := range toks {
			if t.named && t.key == k {
				return true
			}
		}
		return false
	}
	// The deprecated form: three positionals, the second naming a vdev
	// (xl's legacy parser): [PREFIX:]TARGET,VDEV[:cdrom],ACCESS.
	if nPos == 3 && !named("format") && !named("vdev") && !named("target") {
		var pos []int
		for i, t := range toks {
			if !t.named {
				pos = append(pos, i)
			}
		}
		if looksLikeVdev(toks[pos[1]].val) {
			target := toks[pos[0]].val
			if p, t, ok := strings.Cut(target, ":"); ok && legacyPrefix(p) {
				if f := legacyFormat(p); f != "" {
					toks = append(toks, token{"format", f, true})
				}
				target = t
			}
			vdev := toks[pos[1]].val
			if v, ty, ok := strings.Cut(vdev, ":"); ok {
				vdev = v
				toks = append(toks, token{"devtype", ty, true})
			}
			toks[pos[0]] = token{"target", target, true}
			toks[pos[1]] = token{"vdev", vdev, true}
			toks[pos[2]] = token{"access", toks[pos[2]].val, true}
		}
	}
	// Named parameters first claim their places; positionals then fill
	// the unclaimed ones in order.
	for _, t := range toks {
		if t.named {
			if err := assign(t.key, t.val); err != nil {
				return d, err
			}
		}
	}
	order := []string{"target", "format", "vdev", "access"}
	for _, t := range toks {
		if t.named {
			continue
		}
		for len(order) > 0 && set[order[0]] {
			order = order[1:]
		}
		if len(order) == 0 {
			return d, fmt.Errorf("too many positional parameters (%q): target, format, vdev, access at most", t.val)
		}
		if t.val == "" {
			set[order[0]] = true // given empty: the default
			continue
		}
		if err := assign(order[0], t.val); err != nil {
			return d, err
		}
	}
	if d.Target == "" && d.DevType != "cdrom" {
		return d, errors.New("no target (the backing file or device)")
	}
	if d.Vdev == "" {
		return d, errors.New("no vdev (the guest's name for the disk, such as xvda)")
	}
	if _, err := VdevNumber(d.Vdev); err != nil {
		return d, err
	}
	switch d.Format {
	case "":
		d.Format = "raw"
	case "raw", "qcow", "qcow2", "vhd", "qed":
	default:
		return d, fmt.Errorf("unknown format %q", d.Format)
	}
	if d.Access == "" && d.DevType == "cdrom" {
		d.Access = "ro"
	}
	switch d.Access {
	case "", "w", "rw":
		d.Access = "rw"
	case "r", "ro":
		d.Access = "ro"
	default:
		return d, fmt.Errorf("unknown access %q (want rw or ro)", d.Access)
	}
	switch d.DevType {
	case "":
		d.DevType = "disk"
	case "disk", "cdrom":
	default:
		return d, fmt.Errorf("unknown devtype %q (want disk or cdrom)", d.DevType)
	}
	return d, nil
}

func looksLikeVdev(s string) bool {
	s, _, _ = strings.Cut(s, ":")
	for _, p := range []string{"xvd", "hd", "sd"} {
		if strings.HasPrefix(s, p) && len(s) > len(p) {
			return true
		}
	}
	return false
}

func legacyPrefix(p string) bool {
	switch p {
	case "phy", "file", "tap", "aio", "raw", "qcow", "qcow2", "vhd", "qed":
		return true
	}
	return false
}

// legacyFormat is the format a deprecated prefix names ("" for raw-ish
// ones that leave the default).
func legacyFormat(p string) string {
	switch p {
	case "qcow", "qcow2", "vhd", "qed", "raw":
		return p
	}
	return ""
}

// Vif is one entry of vif=[...] (xl-network-configuration(5)), for the PV
// network back end.
type Vif struct {
	MAC     string // "00:16:3e:xx:xx:xx"; "" for a random one in Xen's OUI
	Bridge  string
	IP      string
	Script  string
	Backend string
	VifName string
	Model   string
	Type    string
	Rate    string
	MTU     string
}

// ParseVif reads a vif spec: comma-separated key=value pairs.
func ParseVif(spec string) (Vif, error) {
	var n Vif
	seen := map[string]bool{}
	for _, tok := range strings.Split(spec, ",") {
		tok = strings.TrimSpace(tok)
		if tok == "" {
			continue
		}
		k, v, ok := strings.Cut(tok, "=")
		if !ok {
			return n, fmt.Errorf("%q is not key=value", tok)
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if seen[k] {
			return n, fmt.Errorf("%s given twice", k)
		}
		seen[k] = true
		switch k {
		case "mac":
			hw, err := net.ParseMAC(v)
			if err != nil || len(hw) != 6 {
				return n, fmt.Errorf("bad mac %q", v)
			}
			n.MAC = hw.String()
		case "bridge":
			n.Bridge = v
		case "ip":
			n.IP = v
		case "script":
			n.Script = v
		case "backend":
			n.Backend = v
		case "vifname":
			n.VifName = v
		case "model":
			n.Model = v
		case "type":
			n.Type = v
		case "rate":
			n.Rate = v
		case "mtu":
			n.MTU = v
		default:
			return n, fmt.Errorf("unknown vif parameter %q", k)
		}
	}
	return n, nil
}

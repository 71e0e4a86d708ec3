package xenstore

import (
	"strconv"
	"strings"

	"gozen/abi/xen"
)

// Special watch paths (docs/misc/xenstore.txt "WATCH"): they name no node,
// and xenstored fires them itself.
const (
	IntroduceDomain = "@introduceDomain"
	ReleaseDomain   = "@releaseDomain"
)

// homePath is a domain's home, the base of its relative paths
// (GET_DOMAIN_PATH's answer).
func homePath(domid uint32) string {
	return "/local/domain/" + strconv.FormatUint(uint64(domid), 10)
}

// validChars reports whether p uses only the characters xenstore.txt allows
// in a path: ASCII letters and digits and "-/_@".
func validChars(p string) bool {
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-' || c == '/' || c == '_' || c == '@':
		default:
			return false
		}
	}
	return true
}

// validAbs reports whether p is a well-formed absolute node path: it starts
// with '/', has no "//", no trailing '/' (except the root itself), only
// allowed characters and at most XENSTORE_ABS_PATH_MAX bytes
// (is_valid_nodename in xenstored).
func validAbs(p string) bool {
	if len(p) == 0 || p[0] != '/' || len(p) > xen.XenstoreAbsPathMax {
		return false
	}
	if p == "/" {
		return true
	}
	if p[len(p)-1] == '/' || strings.Contains(p, "//") {
		return false
	}
	return validChars(p)
}

// canonical turns a path a connection sent into an absolute node path, or
// fails with EINVAL. A relative path is taken under the connection's home
// and may be at most XENSTORE_REL_PATH_MAX bytes, as xenstore.txt asks of
// clients. Special '@' paths are not nodes and are refused here; the
// operations that accept them (WATCH, GET/SET_PERMS) check for them first.
func canonical(domid uint32, p string) (string, xen.Errno) {
	if p == "" || p[0] == '@' {
		return "", xen.EINVAL
	}
	if p[0] != '/' {
		if len(p) > xen.XenstoreRelPathMax {
			return "", xen.EINVAL
		}
		p = homePath(domid) + "/" + p
	}
	if !validAbs(p) {
		return "", xen.EINVAL
	}
	return p, 0
}

// validSpecial reports whether p is an acceptable '@' watch path: xenstored
// takes any '@' name (only the two it invents ever fire) within the
// relative-path limit.
func validSpecial(p string) bool {
	return len(p) > 1 && p[0] == '@' && len(p) <= xen.XenstoreRelPathMax && validChars(p) &&
		!strings.Contains(p, "/")
}

// parentOf returns the parent of an absolute path other than "/".
func parentOf(p string) string {
	i := strings.LastIndexByte(p, '/')
	if i <= 0 {
		return "/"
	}
	return p[:i]
}

// baseOf returns the last component of an absolute path other than "/".
func baseOf(p string) string {
	return p[strings.LastIndexByte(p, '/')+1:]
}

// childPath joins a directory and a child name.
func childPath(dir, name string) string {
	if dir == "/" {
		return "/" + name
	}
	return dir + "/" + name
}

// isChild reports whether child is parent or lies below it, in
// xenstore.txt's sense ("<child> is a child of <parent> if they are
// identical, or if <parent> is /, or if <parent>/ is a prefix of <child>").
func isChild(child, parent string) bool {
	if child == parent || parent == "/" {
		return true
	}
	return len(child) > len(parent) && child[len(parent)] == '/' && child[:len(parent)] == parent
}

// parseDomid parses a decimal domain id as the domain-management requests
// carry it. xenstored uses atoi and lets garbage through; GoZen refuses
// anything but plain decimal digits below 2^16 (EINVAL).
func parseDomid(s string) (uint32, xen.Errno) {
	v, err := strconv.ParseUint(s, 10, 16)
	if err != nil || s == "" || s[0] == '+' {
		return 0, xen.EINVAL
	}
	return uint32(v), 0
}

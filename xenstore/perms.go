package xenstore

import (
	"strconv"

	"gozen/abi/xen"
)

// Access bits of a permission entry (XS_PERM_* in xenstored).
const (
	PermNone  = 0
	PermRead  = 1
	PermWrite = 2
	PermBoth  = PermRead | PermWrite
	permOwner = 4 // held only by the owner (and privileged connections)
)

// Perm is one entry of a node's permission list. The first entry of a list
// names the node's owner, and its Access is what every domain without an
// entry of its own gets; the later entries are an ACL.
type Perm struct {
	Domid  uint32
	Access uint8 // PermNone, PermRead, PermWrite or PermBoth
}

// permLetters maps Access to the wire letter: n(one), r(ead), w(rite),
// b(oth).
var permLetters = [4]byte{'n', 'r', 'w', 'b'}

// String returns the wire form of p, such as "r3".
func (p Perm) String() string {
	return string(permLetters[p.Access&3]) + strconv.FormatUint(uint64(p.Domid), 10)
}

// parsePerm decodes one "<letter><domid>" string.
func parsePerm(s string) (Perm, xen.Errno) {
	if len(s) < 2 {
		return Perm{}, xen.EINVAL
	}
	var a uint8
	switch s[0] {
	case 'n':
		a = PermNone
	case 'r':
		a = PermRead
	case 'w':
		a = PermWrite
	case 'b':
		a = PermBoth
	default:
		return Perm{}, xen.EINVAL
	}
	d, e := parseDomid(s[1:])
	if e != 0 {
		return Perm{}, e
	}
	return Perm{Domid: d, Access: a}, 0
}

// encodePerms appends the GET_PERMS payload of ps: each entry
// NUL-terminated.
func encodePerms(b []byte, ps []Perm) []byte {
	for _, p := range ps {
		b = append(b, p.String()...)
		b = append(b, 0)
	}
	return b
}

// access is perm_for_conn in xenstored: what a connection of domain domid
// (privileged or not, acting for target if it has one) may do to a node
// with permission list ps. Privileged connections and the owner get
// everything; otherwise the first ACL entry naming the domain (or its
// target) decides, and failing that the owner entry's default.
func access(ps []Perm, domid uint32, priv bool, target uint32, hasTarget bool) uint8 {
	if priv || len(ps) == 0 {
		return PermBoth | permOwner
	}
	if ps[0].Domid == domid || (hasTarget && ps[0].Domid == target) {
		return PermBoth | permOwner
	}
	for _, p := range ps[1:] {
		if p.Domid == domid || (hasTarget && p.Domid == target) {
			return p.Access
		}
	}
	return ps[0].Access
}

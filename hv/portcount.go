package hv

import (
	"fmt"
	"slices"
	"strings"
)

// domainIO is a domain's port I/O state: the PIT channel-2 model and the
// exit counts by port.
type domainIO struct {
	pit   pit2
	ports portCounts
}

// portCounts counts port I/O exits by port in a small fixed open-addressed
// table, so counting on the exit path never allocates. Ports that find the
// table full are counted together in other.
type portCounts struct {
	key   [portSlots]uint32 // port+1; 0 marks a free slot
	n     [portSlots]uint64
	other uint64
	total uint64
}

const portSlots = 64 // a power of two

func (c *portCounts) add(port uint16) {
	c.total++
	k := uint32(port) + 1
	i := (uint32(port) * 0x9E3779B1) >> 26 // Fibonacci hashing to 6 bits
	for j := uint32(0); j < portSlots; j++ {
		s := (i + j) & (portSlots - 1)
		switch c.key[s] {
		case k:
			c.n[s]++
			return
		case 0:
			c.key[s] = k
			c.n[s] = 1
			return
		}
	}
	c.other++
}

// summary lists the total and the top n ports by count, busiest first,
// e.g. "1234 port I/O exits: 0x42 1000, 0x70 200, 3 on other ports".
func (c *portCounts) summary(n int) string {
	type pc struct {
		port uint16
		n    uint64
	}
	var all []pc
	for s, k := range c.key {
		if k != 0 {
			all = append(all, pc{uint16(k - 1), c.n[s]})
		}
	}
	slices.SortFunc(all, func(a, b pc) int {
		if a.n != b.n {
			if a.n > b.n {
				return -1
			}
			return 1
		}
		return int(a.port) - int(b.port)
	})
	var parts []string
	rest := c.other
	for i, p := range all {
		if i < n {
			parts = append(parts, fmt.Sprintf("%#x %d", p.port, p.n))
		} else {
			rest += p.n
		}
	}
	if rest > 0 {
		parts = append(parts, fmt.Sprintf("%d on other ports", rest))
	}
	s := fmt.Sprintf("%d port I/O exits", c.total)
	if len(parts) > 0 {
		s += ": " + strings.Join(parts, ", ")
	}
	return s
}

// logPortExits logs d's port I/O exits by port (when the domain ends).
func (h *Hypervisor) logPortExits(d *Domain) {
	h.logf("domain %d %q: %s", d.id, d.name, d.io.ports.summary(8))
}

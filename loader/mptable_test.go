package loader

import (
	"encoding/binary"
	"testing"
)

func sum(b []byte) (s byte) {
	for _, x := range b {
		s += x
	}
	return
}

func TestMPTable(t *testing.T) {
	for _, n := range []int{1, 4} {
		b := MPTable(n)
		if string(b[0:4]) != "_MP_" || sum(b[:16]) != 0 || b[8] != 1 || b[9] != 4 {
			t.Fatalf("floating pointer wrong: % x", b[:16])
		}
		if addr := binary.LittleEndian.Uint32(b[4:]); addr != MPTableBase+16 {
			t.Errorf("config table at %#x", addr)
		}
		c := b[16:]
		l := int(binary.LittleEndian.Uint16(c[4:]))
		if string(c[0:4]) != "PCMP" || l != len(c) || sum(c[:l]) != 0 {
			t.Fatalf("header wrong (len %d of %d)", l, len(c))
		}
		if cnt := binary.LittleEndian.Uint16(c[34:]); int(cnt) != n+1 {
			t.Errorf("entry count %d", cnt)
		}
		if binary.LittleEndian.Uint32(c[36:]) != 0xFEE00000 {
			t.Error("local APIC address")
		}
		e := c[44:]
		for i := 0; i < n; i++ {
			if e[0] != 0 || e[1] != byte(i) || e[3]&1 == 0 || (e[3]&2 != 0) != (i == 0) {
				t.Errorf("processor entry %d: % x", i, e[:20])
			}
			e = e[20:]
		}
		if e[0] != 1 || string(e[2:8]) != "ISA   " {
			t.Errorf("bus entry % x", e[:8])
		}
	}
}

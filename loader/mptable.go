package loader

import "encoding/binary"

// MPTableBase is where GoZen puts a domain's MP table: the BIOS area
// [0xF0000, 0x100000) that Linux scans for the "_MP_" floating pointer
// (reserved in GuestMemoryMap).
const MPTableBase = 0xF0000

// MPTable builds an Intel MultiProcessor Specification 1.4 table for a
// domain with nCPUs vCPUs (local APIC IDs 0..n-1, CPU 0 the bootstrap
// processor) and no I/O APIC, to be placed at MPTableBase: a 16-byte
// floating pointer followed by the configuration table (header, processor
// entries, one ISA bus entry). Linux needs it to run its local APIC (and so
// the Xen clockevent) when there are no ACPI tables.
func MPTable(nCPUs int) []byte {
	if nCPUs < 1 {
		nCPUs = 1
	}
	const (
		fpSize   = 16
		hdrSize  = 44
		cpuEntry = 20
		busEntry = 8
	)
	cfgLen := hdrSize + nCPUs*cpuEntry + busEntry
	b := make([]byte, fpSize+cfgLen)
	le := binary.LittleEndian
	// Floating pointer structure.
	copy(b[0:], "_MP_")
	le.PutUint32(b[4:], MPTableBase+fpSize) // configuration table address
	b[8] = 1                                // length in 16-byte units
	b[9] = 4                                // spec revision 1.4
	// b[11..15]: feature bytes 0: a configuration table is present.
	b[10] = checksum(b[:fpSize])
	// Configuration table header.
	c := b[fpSize:]
	copy(c[0:], "PCMP")
	le.PutUint16(c[4:], uint16(cfgLen))
	c[6] = 4
	copy(c[8:], "GOZEN   ")
	copy(c[16:], "PVH DOMAIN  ")
	le.PutUint16(c[34:], uint16(nCPUs+1)) // entry count
	le.PutUint32(c[36:], 0xFEE00000)      // local APIC address
	e := c[hdrSize:]
	for i := 0; i < nCPUs; i++ {
		e[0] = 0       // processor
		e[1] = byte(i) // local APIC ID
		e[2] = 0x14    // local APIC version
		e[3] = 1       // enabled
		if i == 0 {
			e[3] |= 2 // bootstrap processor
		}
		le.PutUint32(e[4:], 0x00000F00) // CPU signature: family 15
		le.PutUint32(e[8:], 1<<0|1<<9)  // features: FPU, APIC
		e = e[cpuEntry:]
	}
	e[0] = 1 // bus
	e[1] = 0
	copy(e[2:8], "ISA   ")
	c[7] = checksum(c[:cfgLen])
	return b
}

// checksum returns the byte that makes b sum to zero.
func checksum(b []byte) byte {
	var s byte
	for _, x := range b {
		s += x
	}
	return -s
}

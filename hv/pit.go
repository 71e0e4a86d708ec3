package hv

import "math/bits"

// Channel 2 of the 8254 PIT and the port-0x61 gate that drives it, the one
// legacy device a PVH domU still touches on every boot.
//
// Why: Linux 6.1 calibrates the CPU frequency early (tsc_early_init ->
// determine_cpu_tsc_frequencies -> x86_platform.calibrate_cpu). Xen sets
// only calibrate_tsc (from the pvclock), not calibrate_cpu, so on an AMD
// CPU (no CPUID 0x16 or MSR path) native_calibrate_cpu_early always runs
// quick_pit_calibrate, before ACPI has said there is no PIT. With nothing
// behind port 0x42 it reads 0xff and spins in pit_expect_msb 50,000 times
// waiting for the count to move: 100,000 port exits, about 2 s under TCG.
// (Xen gives a PVH domU no PIT either and pays the same loop; on hardware
// it costs it about 0.1 s.) A counter that counts makes the loop end: Linux
// watches the count fall and, when a read takes too long to time the PIT to
// 500 ppm (as under TCG), gives up after a few dozen reads; with faster exits
// it calibrates for at most 50 ms. The TSC frequency comes from the pvclock
// (xen_tsc_khz) either way.
//
// Modelled: the control word for channel 2 (mode, access mode, counter
// latch and read-back latch commands), the count (loaded through port 0x42,
// counting down at 1.193182 MHz from the moment its last byte is written,
// derived from the TSC), and port 0x61 bits 0 (gate), 1 (speaker), 4
// (refresh, toggling on every read) and 5 (OUT2). Not modelled: channels 0
// and 1 (their ports read as all-ones), the gate pausing or retriggering
// the count, BCD counting, the status byte of read-back, and mode 3
// counting by twos.
const (
	pitCh2Port     = 0x42
	pitControlPort = 0x43
	pitGatePort    = 0x61
	pitHz          = 1_193_182
)

type pit2 struct {
	reload  uint32 // count loaded; 0 means 65536
	start   uint64 // TSC when counting began
	running bool   // a count has been loaded since the last control word
	mode    uint8  // 0..5
	access  uint8  // 1 LSB only, 2 MSB only, 3 LSB then MSB
	lsbNext bool   // access 3: the next write is the LSB
	readHi  bool   // access 3: the next read returns the MSB
	latched bool
	latch   uint16
	partial uint8 // the LSB written, waiting for the MSB
	port61  uint8 // bits 0 and 1 as last written
	refresh uint8 // bit 4 of port 0x61, toggled per read
}

// isPITPort reports whether port belongs to the channel-2 model.
func isPITPort(port uint16) bool {
	return port == pitCh2Port || port == pitControlPort || port == pitGatePort
}

// ticks converts TSC ticks to PIT ticks.
func (p *pit2) ticks(tsc, tscHz uint64) uint64 {
	hi, lo := bits.Mul64(tsc-p.start, pitHz)
	if hi >= tscHz {
		return ^uint64(0)
	}
	q, _ := bits.Div64(hi, lo, tscHz)
	return q
}

// period is the counter's cycle length in PIT ticks.
func (p *pit2) period() uint64 {
	if p.reload == 0 {
		return 1 << 16
	}
	return uint64(p.reload)
}

// count is the current value of the counter.
func (p *pit2) count(tsc, tscHz uint64) uint16 {
	if !p.running {
		return uint16(p.reload)
	}
	t := p.ticks(tsc, tscHz)
	if p.mode == 2 || p.mode == 3 {
		// Periodic modes reload when the count reaches 1 (2) or 0 (3).
		return uint16(p.period() - t%p.period())
	}
	// One-shot modes keep counting down through 0 and wrap.
	return uint16(p.period() - t%(1<<16))
}

// out is the channel's OUT2 pin.
func (p *pit2) out(tsc, tscHz uint64) bool {
	if !p.running {
		return p.mode != 0 // mode 0 starts low; the others start high
	}
	t := p.ticks(tsc, tscHz)
	switch p.mode {
	case 0:
		return t >= p.period()
	case 3:
		return t%p.period() < (p.period()+1)/2
	}
	return true
}

func (p *pit2) in(port uint16, tsc, tscHz uint64) uint8 {
	switch port {
	case pitGatePort:
		p.refresh ^= 1 << 4
		v := p.port61&3 | p.refresh
		if p.out(tsc, tscHz) {
			v |= 1 << 5
		}
		return v
	case pitCh2Port:
		v := p.latch
		if !p.latched {
			v = p.count(tsc, tscHz)
		}
		var b uint8
		switch {
		case p.access == 2:
			b = uint8(v >> 8)
			p.latched = false
		case p.access == 3 && !p.readHi:
			b = uint8(v)
			p.readHi = true
		case p.access == 3:
			b = uint8(v >> 8)
			p.readHi = false
			p.latched = false
		default:
			b = uint8(v)
			p.latched = false
		}
		return b
	}
	return 0xff // the control word register cannot be read
}

func (p *pit2) outb(port uint16, v uint8, tsc, tscHz uint64) {
	switch port {
	case pitGatePort:
		p.port61 = v & 3
	case pitControlPort:
		switch {
		case v>>6 == 3: // read-back
			if v&(1<<5) == 0 && v&(1<<3) != 0 { // latch count of channel 2
				p.latchNow(tsc, tscHz)
			}
		case v>>6 != 2: // channels 0 and 1: not modelled
		case (v>>4)&3 == 0: // counter latch command
			p.latchNow(tsc, tscHz)
		default:
			p.access = (v >> 4) & 3
			p.mode = (v >> 1) & 7
			if p.mode > 5 {
				p.mode -= 4 // modes 6 and 7 are aliases of 2 and 3
			}
			p.running, p.latched, p.readHi, p.lsbNext = false, false, false, true
		}
	case pitCh2Port:
		switch {
		case p.access == 1:
			p.load(uint32(v), tsc)
		case p.access == 2:
			p.load(uint32(v)<<8, tsc)
		case p.access == 3 && p.lsbNext:
			p.partial = v
			p.lsbNext = false
		case p.access == 3:
			p.load(uint32(v)<<8|uint32(p.partial), tsc)
			p.lsbNext = true
		}
	}
}

func (p *pit2) latchNow(tsc, tscHz uint64) {
	if !p.latched { // a second latch command before the read is ignored
		p.latch = p.count(tsc, tscHz)
		p.latched = true
	}
}

func (p *pit2) load(n uint32, tsc uint64) {
	p.reload = n
	p.start = tsc
	p.running = true
}

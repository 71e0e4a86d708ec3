package rt

import (
	"math/bits"
	"unsafe"

	"gozen/arch/amd64"
	"gozen/dev/rtc"
)

// Time. The TSC is calibrated once against the PIT; monotonic time is TSC
// ticks scaled to nanoseconds, and wall-clock time adds the CMOS RTC reading
// taken at boot. The local APIC timer, calibrated against the TSC, is the one
// interrupt source: it is programmed one-shot for the earliest of the next
// sleeper deadline, the end of the running thread's time slice, and any
// deadline hv asked for through ArmTimer.
var (
	tscHz      uint64
	tscMult    uint64 // ns = (ticks * tscMult) >> 32
	tscBase    uint64
	wallBaseNs int64 // Unix time in ns at tscBase
	lapicHz    uint64
	hvDeadline int64 // from ArmTimer; 0 = none
	armedAt    int64 // deadline the APIC timer is set for; 0 = stopped
)

const (
	pitHz          = 1193182
	calibrateMs    = 10
	timeSliceNs    = 10_000_000
	lapicRegSVR    = 0xF0
	lapicRegEOI    = 0xB0
	lapicRegTPR    = 0x80
	lapicRegLVTT   = 0x320
	lapicRegTICR   = 0x380
	lapicRegTCCR   = 0x390
	lapicRegTDCR   = 0x3E0
	lapicRegLINT0  = 0x350
	lapicRegLINT1  = 0x360
	lapicRegLVTErr = 0x370
	lvtMasked      = 1 << 16
)

func lapicRead(reg uintptr) uint32 {
	return *(*uint32)(unsafe.Pointer(uintptr(lapicBase) + reg))
}

func lapicWrite(reg uintptr, v uint32) {
	*(*uint32)(unsafe.Pointer(uintptr(lapicBase) + reg)) = v
}

// pitWait busy-waits about ms milliseconds using PIT channel 2 (the speaker
// channel, gated through port 0x61) and returns the TSC ticks that passed.
func pitCalibrate(ms uint32) uint64 {
	count := uint32(pitHz) * ms / 1000
	g := amd64.Inb(0x61)
	amd64.Outb(0x61, (g&^0x02)|0x01) // gate on, speaker off
	amd64.Outb(0x43, 0xB0)           // channel 2, lobyte/hibyte, mode 0
	amd64.Outb(0x42, uint8(count))
	amd64.Outb(0x42, uint8(count>>8))
	// Restart the count by toggling the gate.
	g = amd64.Inb(0x61)
	amd64.Outb(0x61, g&^0x01)
	amd64.Outb(0x61, g|0x01)
	t0 := amd64.Rdtsc()
	for i := 0; i < 100_000_000; i++ {
		if amd64.Inb(0x61)&0x20 != 0 {
			break
		}
	}
	return amd64.Rdtsc() - t0
}

func timeInit() {
	ticks := pitCalibrate(calibrateMs)
	tscHz = ticks * (1000 / calibrateMs)
	if tscHz < 1_000_000 {
		kprint("hv: warning: TSC calibration failed; assuming 1 GHz\n")
		tscHz = 1_000_000_000
	}
	hi, lo := bits.Mul64(1_000_000_000, 1<<32)
	tscMult, _ = bits.Div64(hi, lo, tscHz)
	tscBase = amd64.Rdtsc()
	if secs, ok := rtc.Read(amd64.PortIO{}); ok {
		wallBaseNs = secs * 1_000_000_000
	}
	lapicInit()
}

// Nanotime returns monotonic nanoseconds since boot.
//
//go:nosplit
func Nanotime() int64 {
	d := amd64.Rdtsc() - tscBase
	hi, lo := bits.Mul64(d, tscMult)
	return int64(hi<<32 | lo>>32)
}

// TSCHz reports the calibrated TSC frequency.
func TSCHz() uint64 { return tscHz }

// LAPICHz reports the calibrated local APIC timer frequency (after its divider).
func LAPICHz() uint64 { return lapicHz }

func lapicInit() {
	// Remap and mask the legacy PICs so they cannot raise exception vectors.
	for _, p := range [...][2]uint16{{0x20, 0x11}, {0xA0, 0x11}, {0x21, 0x20}, {0xA1, 0x28}, {0x21, 4}, {0xA1, 2}, {0x21, 1}, {0xA1, 1}, {0x21, 0xff}, {0xA1, 0xff}} {
		amd64.Outb(p[0], uint8(p[1]))
	}
	amd64.Wrmsr(amd64.MSRAPICBase, amd64.Rdmsr(amd64.MSRAPICBase)|1<<11)
	lapicWrite(lapicRegSVR, 0x100|vectorSpurious)
	lapicWrite(lapicRegTPR, 0)
	lapicWrite(lapicRegLVTErr, lvtMasked)
	lapicWrite(lapicRegTDCR, 0x3) // divide by 16
	lapicWrite(lapicRegLVTT, lvtMasked|vectorTimer)
	// Three 2 ms measurements against the TSC, the median kept: under
	// QEMU TCG on a loaded host the vCPU thread can be descheduled inside
	// one, which skews it (a calibration twice too fast made every sleep
	// twice too long).
	var hz [3]uint64
	for i := range hz {
		hz[i] = lapicMeasure()
	}
	if hz[0] > hz[1] {
		hz[0], hz[1] = hz[1], hz[0]
	}
	if hz[1] > hz[2] {
		hz[1], hz[2] = hz[2], hz[1]
	}
	if hz[0] > hz[1] {
		hz[0], hz[1] = hz[1], hz[0]
	}
	lapicHz = hz[1]
	if lapicHz == 0 {
		kprint("hv: warning: APIC timer calibration failed; assuming 100 MHz\n")
		lapicHz = 100_000_000
	}
	lapicWrite(lapicRegLVTT, vectorTimer) // one-shot, unmasked
}

// lapicMeasure counts the APIC timer down for about 2 ms of TSC time and
// returns its rate. Each end reads the TSC on both sides of the count and
// takes the midpoint, so a delay between the two reads does not count.
func lapicMeasure() uint64 {
	lapicWrite(lapicRegTICR, 0xffffffff)
	a0 := amd64.Rdtsc()
	c0 := lapicRead(lapicRegTCCR)
	b0 := amd64.Rdtsc()
	for amd64.Rdtsc()-a0 < tscHz/1000*2 {
	}
	a1 := amd64.Rdtsc()
	c1 := lapicRead(lapicRegTCCR)
	b1 := amd64.Rdtsc()
	lapicWrite(lapicRegTICR, 0)
	dt := (a1+b1)/2 - (a0+b0)/2
	if dt == 0 || c1 > c0 {
		return 0
	}
	hi, lo := bits.Mul64(uint64(c0-c1), tscHz)
	if hi >= dt {
		return 0
	}
	q, _ := bits.Div64(hi, lo, dt)
	return q
}

func lapicEOI() { lapicWrite(lapicRegEOI, 0) }

// armTimer programs the APIC timer to fire at deadline (monotonic ns), or
// stops it when deadline is 0.
func armTimer(deadline int64, now int64) {
	if deadline == 0 {
		if armedAt != 0 {
			lapicWrite(lapicRegTICR, 0)
			armedAt = 0
		}
		return
	}
	if deadline == armedAt {
		return
	}
	d := deadline - now
	if d < 1000 {
		d = 1000
	}
	hi, lo := bits.Mul64(uint64(d), lapicHz)
	var count uint64
	if hi >= 1_000_000_000 {
		count = 0xffffffff
	} else {
		count, _ = bits.Div64(hi, lo, 1_000_000_000)
	}
	if count == 0 {
		count = 1
	}
	if count > 0xffffffff {
		count = 0xffffffff
	}
	lapicWrite(lapicRegTICR, uint32(count))
	armedAt = deadline
}

// ArmTimer asks for a timer interrupt no later than deadline (Nanotime
// units). hv uses it so that a thread running a guest is interrupted when a
// guest timer falls due; the interrupt preempts whatever runs. A later call
// replaces the deadline; 0 cancels it.
func ArmTimer(deadline int64) {
	amd64.DisableInterrupts()
	hvDeadline = deadline
	programTimer(Nanotime())
	amd64.EnableInterrupts()
}

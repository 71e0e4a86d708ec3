// Package rtc reads the PC's CMOS real-time clock (MC146818-compatible).
// It is used once at boot to set the wall clock.
package rtc

// Ports is the I/O-port access the driver needs.
type Ports interface {
	In8(port uint16) uint8
	Out8(port uint16, v uint8)
}

const (
	portIndex = 0x70
	portData  = 0x71
	nmiOff    = 0x80
)

func reg(p Ports, r uint8) uint8 {
	p.Out8(portIndex, nmiOff|r)
	return p.In8(portData)
}

// Time is one RTC reading.
type Time struct {
	Sec, Min, Hour, Day, Month, Year, Century uint8
	StatusB                                   uint8
}

func readRaw(p Ports) Time {
	return Time{
		Sec: reg(p, 0x00), Min: reg(p, 0x02), Hour: reg(p, 0x04),
		Day: reg(p, 0x07), Month: reg(p, 0x08), Year: reg(p, 0x09),
		Century: reg(p, 0x32), StatusB: reg(p, 0x0B),
	}
}

// Read returns the current time as Unix seconds. It waits for the clock not
// to be mid-update and reads twice until two readings agree. ok is false if
// the values make no sense.
func Read(p Ports) (int64, bool) {
	var a, b Time
	for tries := 0; tries < 10; tries++ {
		for i := 0; i < 100000 && reg(p, 0x0A)&0x80 != 0; i++ {
		}
		a = readRaw(p)
		b = readRaw(p)
		if a == b {
			break
		}
	}
	return Unix(a)
}

func bcd(v uint8) uint8 { return (v>>4)*10 + v&0xf }

// Unix converts a raw reading (BCD or binary, 12 or 24 hour, per status
// register B) to Unix seconds.
func Unix(t Time) (int64, bool) {
	binary := t.StatusB&0x04 != 0
	h24 := t.StatusB&0x02 != 0
	pm := t.Hour&0x80 != 0
	t.Hour &^= 0x80
	if !binary {
		t.Sec, t.Min, t.Hour = bcd(t.Sec), bcd(t.Min), bcd(t.Hour)
		t.Day, t.Month, t.Year, t.Century = bcd(t.Day), bcd(t.Month), bcd(t.Year), bcd(t.Century)
	}
	if !h24 {
		if t.Hour == 12 {
			t.Hour = 0
		}
		if pm {
			t.Hour += 12
		}
	}
	year := int64(t.Year)
	if t.Century >= 19 && t.Century <= 99 {
		year += int64(t.Century) * 100
	} else {
		year += 2000
	}
	if t.Sec > 59 || t.Min > 59 || t.Hour > 23 || t.Day < 1 || t.Day > 31 || t.Month < 1 || t.Month > 12 {
		return 0, false
	}
	return daysFromCivil(year, int64(t.Month), int64(t.Day))*86400 +
		int64(t.Hour)*3600 + int64(t.Min)*60 + int64(t.Sec), true
}

// daysFromCivil returns days since 1970-01-01 for a proleptic Gregorian date.
func daysFromCivil(y, m, d int64) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

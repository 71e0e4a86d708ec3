package rtc

import (
	"testing"
	"time"
)

func TestUnixBCD24h(t *testing.T) {
	// 2026-11-25 19:02:07 in BCD, 24-hour mode.
	got, ok := Unix(Time{Sec: 0x07, Min: 0x02, Hour: 0x19, Day: 0x25, Month: 0x11, Year: 0x26, Century: 0x20, StatusB: 0x02})
	want := time.Date(2026, 11, 25, 19, 2, 7, 0, time.UTC).Unix()
	if !ok || got != want {
		t.Errorf("got %d %v, want %d", got, ok, want)
	}
}

func TestUnixBinary12h(t *testing.T) {
	// 12:30 AM is 00:30; PM flag on 1 o'clock is 13:00.
	am, _ := Unix(Time{Sec: 0, Min: 30, Hour: 12, Day: 1, Month: 1, Year: 0, StatusB: 0x04})
	if want := time.Date(2000, 1, 1, 0, 30, 0, 0, time.UTC).Unix(); am != want {
		t.Errorf("12 AM: got %d want %d", am, want)
	}
	pm, _ := Unix(Time{Sec: 0, Min: 0, Hour: 0x80 | 1, Day: 29, Month: 2, Year: 24, StatusB: 0x04})
	if want := time.Date(2024, 2, 29, 13, 0, 0, 0, time.UTC).Unix(); pm != want {
		t.Errorf("1 PM: got %d want %d", pm, want)
	}
}

func TestUnixRejectsGarbage(t *testing.T) {
	if _, ok := Unix(Time{Sec: 0x99, Month: 1, Day: 1}); ok {
		t.Error("accepted 99 seconds")
	}
	if _, ok := Unix(Time{Month: 0, Day: 1, StatusB: 4}); ok {
		t.Error("accepted month 0")
	}
}

func TestDaysFromCivil(t *testing.T) {
	for _, d := range []time.Time{
		time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1999, 12, 31, 0, 0, 0, 0, time.UTC),
		time.Date(2100, 3, 1, 0, 0, 0, 0, time.UTC),
	} {
		if got := daysFromCivil(int64(d.Year()), int64(d.Month()), int64(d.Day())); got*86400 != d.Unix() {
			t.Errorf("%v: %d", d, got)
		}
	}
}

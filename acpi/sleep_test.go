package acpi

import "testing"

func TestSleepType(t *testing.T) {
	for _, c := range []struct {
		name string
		aml  []byte
		a, b uint8
		ok   bool
	}{
		// QEMU's DSDT: Name (_S5, Package (0x04) { Zero, Zero, Zero, Zero }).
		{"qemu", []byte{0x10, 0x08, 0x5F, 0x53, 0x33, 0x5F, 0x12, 0x06, 0x04, 0x01, 0x01, 0, 0,
			0x08, 0x5F, 0x53, 0x35, 0x5F, 0x12, 0x06, 0x04, 0x00, 0x00, 0x00, 0x00}, 0, 0, true},
		// A root prefix and byte constants (a typical PC: S5 is 7 or 5).
		{"root", []byte{0x08, '\\', '_', 'S', '5', '_', 0x12, 0x08, 0x04, 0x0A, 0x07, 0x0A, 0x05, 0, 0}, 7, 5, true},
		// "_S5_" as data inside another object, then the real one.
		{"decoy", []byte{0x0D, '_', 'S', '5', '_', 0x00, 0x08, '_', 'S', '5', '_', 0x12, 0x05, 0x02, 0x01, 0x0A, 0x02}, 1, 2, true},
		// A two-byte PkgLength.
		{"pkglen2", []byte{0x08, '_', 'S', '5', '_', 0x12, 0x40, 0x01, 0x02, 0x0A, 0x03, 0x00}, 3, 0, true},
		{"missing", []byte{0x08, '_', 'S', '3', '_', 0x12, 0x06, 0x04, 0x01, 0x01, 0, 0}, 0, 0, false},
		{"truncated", []byte{0x08, '_', 'S', '5', '_', 0x12, 0x06, 0x04, 0x0A}, 0, 0, false},
		{"method", []byte{0x14, 0x08, '_', 'S', '5', '_', 0x00, 0xA4, 0x00}, 0, 0, false},
		{"too big", []byte{0x08, '_', 'S', '5', '_', 0x12, 0x06, 0x04, 0x0A, 0x09, 0x00}, 0, 0, false},
	} {
		a, b, ok := SleepType(c.aml, "_S5_")
		if a != c.a || b != c.b || ok != c.ok {
			t.Errorf("%s: got %d, %d, %v; want %d, %d, %v", c.name, a, b, ok, c.a, c.b, c.ok)
		}
	}
}

func FuzzSleepType(f *testing.F) {
	f.Add([]byte{0x08, '\\', '_', 'S', '5', '_', 0x12, 0x08, 0x04, 0x0A, 0x07, 0x0A, 0x05, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		a, bb, ok := SleepType(b, "_S5_")
		if ok && (a > 7 || bb > 7) {
			t.Fatalf("SLP_TYP %d/%d out of range", a, bb)
		}
	})
}

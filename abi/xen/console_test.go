package xen

import (
	"testing"
	"unsafe"
)

// CONSOLEIO_* from xen/include/public/xen.h; the console ring from
// xen/include/public/io/console.h.

func TestConsoleConstants(t *testing.T) {
	checkConsts(t, []constCase{
		{"CONSOLEIO_write", ConsoleIOWrite, 0},
		{"CONSOLEIO_read", ConsoleIORead, 1},
		{"sizeof(((struct xencons_interface *)0)->in)", XenconsInSize, 1024},
		{"sizeof(((struct xencons_interface *)0)->out)", XenconsOutSize, 2048},
		{"sizeof(struct xencons_interface)", XenconsInterfaceSize, 3092},
		{"offsetof(struct xencons_interface, in)", XenconsInOffset, 0},
		{"offsetof(struct xencons_interface, out)", XenconsOutOffset, 1024},
		{"offsetof(struct xencons_interface, in_cons)", XenconsInConsOffset, 3072},
		{"offsetof(struct xencons_interface, in_prod)", XenconsInProdOffset, 3076},
		{"offsetof(struct xencons_interface, out_cons)", XenconsOutConsOffset, 3080},
		{"offsetof(struct xencons_interface, out_prod)", XenconsOutProdOffset, 3084},
		{"offsetof(struct xencons_interface, connection)", XenconsConnectionOffset, 3088},
		{"XENCONSOLE_CONNECTED", XenconsoleConnected, 0},
		{"XENCONSOLE_DISCONNECTED", XenconsoleDisconnected, 1},
	})
}

func TestXenconsMask(t *testing.T) {
	for _, c := range []struct{ idx, in, out uint32 }{
		{0, 0, 0}, {1023, 1023, 1023}, {1024, 0, 1024}, {2047, 1023, 2047},
		{2048, 0, 0}, {0xffffffff, 1023, 2047},
	} {
		if got := MaskXenconsIn(c.idx); got != c.in {
			t.Errorf("MaskXenconsIn(%#x) = %d, want %d", c.idx, got, c.in)
		}
		if got := MaskXenconsOut(c.idx); got != c.out {
			t.Errorf("MaskXenconsOut(%#x) = %d, want %d", c.idx, got, c.out)
		}
	}
}

func TestXenconsInterfaceEncoding(t *testing.T) {
	var c XenconsInterface
	c.In[0], c.In[1023] = 'i', 'I'
	c.Out[0], c.Out[2047] = 'o', 'O'
	c.InCons, c.InProd, c.OutCons, c.OutProd = 0x01020304, 0x11121314, 0x21222324, 0x31323334
	c.Connection = XenconsoleDisconnected

	want := make([]byte, XenconsInterfaceSize)
	want[0], want[1023] = 'i', 'I'
	want[1024], want[3071] = 'o', 'O'
	copy(want[3072:], []byte{4, 3, 2, 1, 0x14, 0x13, 0x12, 0x11, 0x24, 0x23, 0x22, 0x21, 0x34, 0x33, 0x32, 0x31, 1})
	checkEncoding(t, &c, &XenconsInterface{}, want)
}

// struct xencons_interface, from xen/include/public/io/console.h.
func TestXenconsInterfaceLayout(t *testing.T) {
	var v XenconsInterface
	checkLayout(t, "xencons_interface", unsafe.Sizeof(v), 3092, []fieldOff{
		{"in", unsafe.Offsetof(v.In), 0},
		{"out", unsafe.Offsetof(v.Out), 1024},
		{"in_cons", unsafe.Offsetof(v.InCons), 3072},
		{"in_prod", unsafe.Offsetof(v.InProd), 3076},
		{"out_cons", unsafe.Offsetof(v.OutCons), 3080},
		{"out_prod", unsafe.Offsetof(v.OutProd), 3084},
		{"connection", unsafe.Offsetof(v.Connection), 3088},
	})
	if XenconsInterfaceSize != 3092 {
		t.Errorf("XenconsInterfaceSize = %d, want 3092", XenconsInterfaceSize)
	}
}

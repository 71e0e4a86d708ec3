package uart

import "testing"

// fake16550 models the registers the driver touches.
type fake16550 struct {
	regs    [8]uint8
	dlab    bool
	div     uint16
	out     []byte
	rx      []byte
	noDrain bool // transmitter never empties
	polls   int
}

func (f *fake16550) In8(port uint16) uint8 {
	r := port - COM1
	switch r {
	case regLSR:
		f.polls++
		v := uint8(0)
		if !f.noDrain {
			v |= lsrTHRE
		}
		if len(f.rx) > 0 {
			v |= lsrData
		}
		return v
	case regData:
		if len(f.rx) > 0 {
			b := f.rx[0]
			f.rx = f.rx[1:]
			return b
		}
		return 0
	}
	return f.regs[r]
}

func (f *fake16550) Out8(port uint16, v uint8) {
	r := port - COM1
	switch {
	case r == regLCR:
		f.dlab = v&lcrDLAB != 0
	case r == regData && f.dlab:
		f.div = f.div&0xff00 | uint16(v)
		return
	case r == regIER && f.dlab:
		f.div = f.div&0xff | uint16(v)<<8
		return
	case r == regData:
		f.out = append(f.out, v)
		return
	}
	f.regs[r] = v
}

func TestInitProgramsDivisorAnd8N1(t *testing.T) {
	f := &fake16550{}
	u := UART{Base: COM1, IO: f}
	if !u.Init(115200) {
		t.Fatal("scratch register test failed on a present UART")
	}
	if f.div != 1 {
		t.Errorf("divisor = %d, want 1 for 115200", f.div)
	}
	if f.regs[regLCR] != lcr8N1 || f.dlab {
		t.Errorf("LCR = %#x, want 8N1 with DLAB clear", f.regs[regLCR])
	}
	u.Init(9600)
	if f.div != 12 {
		t.Errorf("divisor = %d, want 12 for 9600", f.div)
	}
}

func TestWriteTranslatesNewlines(t *testing.T) {
	f := &fake16550{}
	u := UART{Base: COM1, IO: f}
	u.Init(0)
	u.Write([]byte("a\nb"))
	u.WriteString("\n")
	if got := string(f.out); got != "a\r\nb\r\n" {
		t.Errorf("got %q", got)
	}
}

func TestWriteGivesUpOnStuckTransmitter(t *testing.T) {
	f := &fake16550{noDrain: true}
	u := UART{Base: COM1, IO: f}
	u.WriteByte('x')
	if f.polls != spinMax || string(f.out) != "x" {
		t.Errorf("polls=%d out=%q", f.polls, f.out)
	}
}

func TestReceive(t *testing.T) {
	f := &fake16550{rx: []byte("hi")}
	u := UART{Base: COM1, IO: f}
	var got []byte
	for {
		b, ok := u.Receive()
		if !ok {
			break
		}
		got = append(got, b)
	}
	if string(got) != "hi" {
		t.Errorf("got %q", got)
	}
}

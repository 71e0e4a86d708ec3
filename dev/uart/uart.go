// Package uart drives a 16550-compatible serial port (the PC's COM1..COM4).
//
// It is used before the Go runtime starts and from trap context, so it never
// allocates and never blocks forever: a transmitter that does not drain (no
// UART present) makes writes give up after a bounded spin.
package uart

// Ports is the I/O-port access the driver needs; amd64.PortIO satisfies it on
// hardware and tests pass a fake.
type Ports interface {
	In8(port uint16) uint8
	Out8(port uint16, v uint8)
}

// Standard PC port bases.
const (
	COM1 = 0x3F8
	COM2 = 0x2F8
)

// Register offsets from the base port.
const (
	regData    = 0 // THR/RBR, or divisor low with DLAB
	regIER     = 1 // interrupt enable, or divisor high with DLAB
	regFCR     = 2 // FIFO control (write)
	regLCR     = 3 // line control
	regMCR     = 4 // modem control
	regLSR     = 5 // line status
	regScratch = 7

	lcrDLAB = 0x80
	lcr8N1  = 0x03
	lsrData = 0x01 // a received byte is waiting
	lsrTHRE = 0x20 // transmit holding register empty
	clockHz = 1843200
	spinMax = 100000
)

// UART is one 16550 port.
type UART struct {
	Base    uint16
	IO      Ports
	present bool
}

// Init programs the port for baud bits/s, 8 data bits, no parity, 1 stop bit,
// with FIFOs on and interrupts off. It reports whether a UART answered (the
// scratch register holds a written value).
func (u *UART) Init(baud uint32) bool {
	if baud == 0 {
		baud = 115200
	}
	div := uint16(clockHz / 16 / baud)
	if div == 0 {
		div = 1
	}
	u.IO.Out8(u.Base+regScratch, 0x5a)
	u.present = u.IO.In8(u.Base+regScratch) == 0x5a
	u.IO.Out8(u.Base+regIER, 0)
	u.IO.Out8(u.Base+regLCR, lcrDLAB)
	u.IO.Out8(u.Base+regData, uint8(div))
	u.IO.Out8(u.Base+regIER, uint8(div>>8))
	u.IO.Out8(u.Base+regLCR, lcr8N1)
	u.IO.Out8(u.Base+regFCR, 0xC7) // enable, clear both FIFOs, 14-byte trigger
	u.IO.Out8(u.Base+regMCR, 0x03) // DTR, RTS
	return u.present
}

// Present reports whether Init found the UART.
func (u *UART) Present() bool { return u.present }

// WriteByte sends b, waiting a bounded time for room in the transmitter.
func (u *UART) WriteByte(b byte) error {
	for i := 0; i < spinMax; i++ {
		if u.IO.In8(u.Base+regLSR)&lsrTHRE != 0 {
			break
		}
	}
	u.IO.Out8(u.Base+regData, b)
	return nil
}

// Write sends p, turning "\n" into "\r\n" for terminals. It always reports
// len(p) written.
func (u *UART) Write(p []byte) (int, error) {
	for _, b := range p {
		if b == '\n' {
			u.WriteByte('\r')
		}
		u.WriteByte(b)
	}
	return len(p), nil
}

// WriteString is Write for a string, without converting it to a slice.
func (u *UART) WriteString(s string) {
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			u.WriteByte('\r')
		}
		u.WriteByte(s[i])
	}
}

// Receive returns a received byte, or ok=false when none is waiting.
func (u *UART) Receive() (b byte, ok bool) {
	if u.IO.In8(u.Base+regLSR)&lsrData == 0 {
		return 0, false
	}
	return u.IO.In8(u.Base + regData), true
}

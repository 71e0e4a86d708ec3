package xen

// Guest consoles: the console_io hypercall (xen/include/public/xen.h) and
// the shared console ring page (xen/include/public/io/console.h).
//
// The ring indexes are free-running uint32 counters; the byte for index i
// is at i masked by the ring size minus one. A ring holds prod-cons bytes
// (computed modulo 2^32). The guest produces into out and consumes from
// in; the backend (the hypervisor or a console daemon) does the reverse,
// and each side signals the other on the console event channel.

// console_io commands (CONSOLEIO_* in xen.h). The call is
// console_io(cmd, count, buffer).
const (
	// ConsoleIOWrite is CONSOLEIO_write: write count bytes to Xen's
	// console; returns 0. Non-hardware domains get only printable
	// characters, possibly buffered until a newline.
	ConsoleIOWrite = 0
	// ConsoleIORead is CONSOLEIO_read: read up to count bytes of console
	// input; returns the number read (dom0's hvc0 uses it with
	// VIRQ_CONSOLE).
	ConsoleIORead = 1
)

// Sizes and offsets of struct xencons_interface (io/console.h).
const (
	// XenconsInSize is sizeof(xencons_interface.in): backend-to-guest ring.
	XenconsInSize = 1024
	// XenconsOutSize is sizeof(xencons_interface.out): guest-to-backend ring.
	XenconsOutSize = 2048
	// XenconsInterfaceSize is sizeof(struct xencons_interface), including
	// the connection byte and its padding. Linux 6.1's copy of the header
	// ends before connection, at 3088 bytes.
	XenconsInterfaceSize = 3092

	// XenconsInOffset is offsetof(xencons_interface, in).
	XenconsInOffset = 0
	// XenconsOutOffset is offsetof(xencons_interface, out).
	XenconsOutOffset = 1024
	// XenconsInConsOffset is offsetof(xencons_interface, in_cons).
	XenconsInConsOffset = 3072
	// XenconsInProdOffset is offsetof(xencons_interface, in_prod).
	XenconsInProdOffset = 3076
	// XenconsOutConsOffset is offsetof(xencons_interface, out_cons).
	XenconsOutConsOffset = 3080
	// XenconsOutProdOffset is offsetof(xencons_interface, out_prod).
	XenconsOutProdOffset = 3084
	// XenconsConnectionOffset is offsetof(xencons_interface, connection).
	XenconsConnectionOffset = 3088
)

// Values of XenconsInterface.Connection (io/console.h).
const (
	// XenconsoleConnected is XENCONSOLE_CONNECTED: the backend services
	// the ring.
	XenconsoleConnected = 0
	// XenconsoleDisconnected is XENCONSOLE_DISCONNECTED: no backend yet.
	XenconsoleDisconnected = 1
)

// MaskXenconsIn returns index idx of the in ring masked to a byte offset
// within it (MASK_XENCONS_IDX(idx, intf->in)).
func MaskXenconsIn(idx uint32) uint32 { return idx & (XenconsInSize - 1) }

// MaskXenconsOut returns index idx of the out ring masked to a byte offset
// within it (MASK_XENCONS_IDX(idx, intf->out)).
func MaskXenconsOut(idx uint32) uint32 { return idx & (XenconsOutSize - 1) }

// XenconsInterface is struct xencons_interface (io/console.h), 3092 bytes
// at the start of the console ring page.
type XenconsInterface struct {
	In         [XenconsInSize]byte  // backend to guest
	Out        [XenconsOutSize]byte // guest to backend
	InCons     uint32               // XENCONS_RING_IDX, advanced by the guest
	InProd     uint32               // advanced by the backend
	OutCons    uint32               // advanced by the backend
	OutProd    uint32               // advanced by the guest
	Connection uint8                // XENCONSOLE_*
}

// Encode writes c into b[:XenconsInterfaceSize], with zeros in the padding.
// It panics if b is shorter.
func (c *XenconsInterface) Encode(b []byte) {
	_ = b[XenconsInterfaceSize-1]
	copy(b[0:1024], c.In[:])
	copy(b[1024:3072], c.Out[:])
	le.PutUint32(b[3072:], c.InCons)
	le.PutUint32(b[3076:], c.InProd)
	le.PutUint32(b[3080:], c.OutCons)
	le.PutUint32(b[3084:], c.OutProd)
	b[3088] = c.Connection
	clear(b[3089:3092]) // padding
}

// Decode reads c from the first XenconsInterfaceSize bytes of b, or returns
// an error if b is shorter.
func (c *XenconsInterface) Decode(b []byte) error {
	if len(b) < XenconsInterfaceSize {
		return shortError("xencons_interface", XenconsInterfaceSize, len(b))
	}
	copy(c.In[:], b[0:1024])
	copy(c.Out[:], b[1024:3072])
	c.InCons = le.Uint32(b[3072:])
	c.InProd = le.Uint32(b[3076:])
	c.OutCons = le.Uint32(b[3080:])
	c.OutProd = le.Uint32(b[3084:])
	c.Connection = b[3088]
	return nil
}

// AppendBinary appends the encoding of c to b (encoding.BinaryAppender).
func (c *XenconsInterface) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, XenconsInterfaceSize, c), nil
}

// MarshalBinary returns the XenconsInterfaceSize-byte encoding of c.
func (c *XenconsInterface) MarshalBinary() ([]byte, error) { return c.AppendBinary(nil) }

// UnmarshalBinary decodes c from b, which must be exactly
// XenconsInterfaceSize bytes long.
func (c *XenconsInterface) UnmarshalBinary(b []byte) error {
	if err := exactLength("xencons_interface", XenconsInterfaceSize, b); err != nil {
		return err
	}
	return c.Decode(b)
}

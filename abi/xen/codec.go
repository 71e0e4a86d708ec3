package xen

import "fmt"

// Helpers shared by the Encode/Decode/MarshalBinary/UnmarshalBinary/
// AppendBinary methods of the ABI structures. Each structure writes and
// reads its own bytes; these only take care of growing and checking
// buffers, the same way for every structure.

// encoder is what every ABI structure implements to write itself.
type encoder interface{ Encode(b []byte) }

// appendEncoded appends size bytes to b and encodes e into them.
func appendEncoded(b []byte, size int, e encoder) []byte {
	n := len(b)
	b = append(b, make([]byte, size)...)
	e.Encode(b[n:])
	return b
}

// exactLength reports an error unless b is exactly size bytes long: what
// UnmarshalBinary requires before it decodes.
func exactLength(what string, size int, b []byte) error {
	if len(b) != size {
		return fmt.Errorf("xen: %s is %d bytes, got %d", what, size, len(b))
	}
	return nil
}

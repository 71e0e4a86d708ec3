package hv

// A domain's console ring (xencons_interface, io/console.h): hv is the
// backend. The guest writes out[], advances out_prod and sends on the
// console port; hv drains it into hv's console. Input goes the other way
// through in[] and in_prod.
const (
	consIn      = 0
	consInSize  = 1024
	consOut     = 1024
	consOutSize = 2048
	consInCons  = 3072
	consInProd  = 3076
	consOutCons = 3080
	consOutProd = 3084
)

// drainConsole copies what the guest wrote to its console ring to hv's
// console and frees the space.
func (h *Hypervisor) drainConsole(d *Domain) {
	if d.xen.consoleOffered {
		return // dom0's xenconsoled serves it
	}
	p := d.page(d.xen.consoleGFN)
	if p == nil {
		return
	}
	cons := le.Uint32(p[consOutCons:])
	prod := le.Uint32(p[consOutProd:])
	n := prod - cons
	if n > consOutSize {
		// The guest corrupted its indices: take the newest ring's worth.
		cons = prod - consOutSize
		n = consOutSize
	}
	var buf [consOutSize]byte
	for i := uint32(0); i < n; i++ {
		buf[i] = p[consOut+(cons+i)%consOutSize]
	}
	le.PutUint32(p[consOutCons:], prod)
	d.consoleWrite(buf[:n])
	// Tell the guest there is room again.
	if d.ev != nil && n > 0 {
		d.ev.Signal(d.xen.consolePort)
	}
}

// consoleInput writes keyboard input into d's console ring and signals the
// guest. It returns how many bytes fit.
func (h *Hypervisor) consoleInput(d *Domain, in []byte) int {
	if d.dom0 != nil {
		return h.dom0ConsoleInput(d, in) // dom0's hvc0 is console_io, as under Xen
	}
	if d.xen.consoleOffered {
		return 0 // dom0's xenconsoled serves it (xl console)
	}
	p := d.page(d.xen.consoleGFN)
	if p == nil {
		return 0
	}
	cons := le.Uint32(p[consInCons:])
	prod := le.Uint32(p[consInProd:])
	n := 0
	for _, c := range in {
		if prod-cons >= consInSize {
			break
		}
		p[consIn+prod%consInSize] = c
		prod++
		n++
	}
	le.PutUint32(p[consInProd:], prod)
	if n > 0 && d.ev != nil {
		d.ev.Signal(d.xen.consolePort)
	}
	return n
}

package npt

import "unsafe"

func unsafePointer(p *[page]byte) unsafe.Pointer { return unsafe.Pointer(p) }

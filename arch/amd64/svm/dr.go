package svm

// loadDR loads DR0-DR3 from dr and saveDR stores them there
// (dr_amd64.s). The world switch calls them around run for a vCPU that uses
// debug registers. It is safe outside the CLGI window: hv never sets
// breakpoints, and #VMEXIT leaves the host's DR7 with every breakpoint
// disabled, so guest addresses in DR0-DR3 never fire in the host.
//
//go:noescape
func loadDR(dr *[4]uint64)

//go:noescape
func saveDR(dr *[4]uint64)

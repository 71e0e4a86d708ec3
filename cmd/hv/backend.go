package main

import (
	"errors"
	"fmt"

	"gozen/arch/amd64/svm"
	"gozen/arch/amd64/vmx"
	"gozen/hv/backend"
)

// Which backend a CPU gets: AMD SVM when CPUID offers it, else Intel VT-x.
// A CPU whose offered extension is unusable (disabled by firmware, no
// nested paging) is refused with that backend's reason rather than
// falling back: an AMD CPU never offers VMX, nor an Intel one SVM.
const (
	useSVM = "svm"
	useVMX = "vmx"
)

// chooseBackend picks by what the CPU offers, or "" when it offers neither.
func chooseBackend(svmPresent, vmxPresent bool) string {
	switch {
	case svmPresent:
		return useSVM
	case vmxPresent:
		return useVMX
	}
	return ""
}

// errNoVirt is the refusal on a CPU with neither extension.
var errNoVirt = errors.New("this CPU has no AMD SVM (CPUID 0x80000001 ECX.SVM is clear) and no Intel VT-x " +
	"(CPUID.1:ECX.VMX is clear); GoZen needs one of them")

// newBackend enables the backend this CPU offers.
func newBackend() (backend.Backend, error) {
	switch chooseBackend(svm.Detect().Present, vmx.DetectHost().Present) {
	case useSVM:
		b, err := svm.New(hvFrames{})
		if err != nil {
			return nil, err
		}
		return b, nil
	case useVMX:
		b, err := vmx.New(hvFrames{})
		if err != nil {
			return nil, err
		}
		return b, nil
	}
	return nil, errNoVirt
}

// backendBanner is the boot banner's line about each extension the CPU
// offers: its features, or why GoZen cannot use it.
func backendBanner() {
	if f := svm.Detect(); f.Usable() == nil {
		fmt.Println("svm:", f)
	} else {
		fmt.Println("svm: unavailable:", f.Usable())
	}
	if f := vmx.DetectHost(); f.Present {
		if err := f.Usable(); err != nil {
			fmt.Println("vmx: unavailable:", err)
		} else {
			fmt.Println("vmx:", f)
		}
	}
}

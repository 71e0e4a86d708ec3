package loader

import (
	"testing"

	"gozen/abi/xen"
)

func TestSetRSDP(t *testing.T) {
	bi, err := BuildStartInfo(BootInfoBase, BootInfoLimit, GuestMemoryMap(64<<20), "console=hvc0", nil, xen.SIFPrivileged|xen.SIFInitDomain)
	if err != nil {
		t.Fatal(err)
	}
	bi.SetRSDP(0x1fff0000)
	var si xen.HVMStartInfo
	if err := si.Decode(bi.Bytes); err != nil {
		t.Fatal(err)
	}
	if si.RsdpPaddr != 0x1fff0000 || si.Flags != xen.SIFPrivileged|xen.SIFInitDomain || si.Magic != xen.HVMStartInfoMagic || si.CmdlinePaddr == 0 {
		t.Errorf("start info %+v", si)
	}
}

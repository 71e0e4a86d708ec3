package xl

import (
	"fmt"

	"gozen/dom0/xl/build"
	"gozen/dom0/xl/cfg"
)

// InitDom0lessVerb connects the domains the hypervisor built at boot with
// a late xenstore (domain=...,xenstore=dom0 on hv's command line) to
// dom0's xenstored, as Xen's init-dom0less helper does; dom0init runs it
// once xenstored and xenconsoled are up.
const InitDom0lessVerb = "init-dom0less"

// initDom0less lists the domains and connects each one whose
// HVM_PARAM_STORE_PFN reads ~0 (build.ConnectLate), naming it
// dom0less-ID. A domain that fails is reported and the others go on; the
// error counts the failures.
func (e *Env) initDom0less(args []string) error {
	if len(args) != 0 {
		return usage(InitDom0lessVerb, "xl %s takes no arguments", InitDom0lessVerb)
	}
	doms, err := e.XC.ListDomains()
	if err != nil {
		return fmt.Errorf("listing domains: %w", err)
	}
	failed, connected := 0, 0
	for _, info := range doms {
		if info.ID == 0 || info.Dying() || info.IsShutdown() {
			continue
		}
		wait, err := build.WaitingForStore(e.XC, info.ID)
		if err != nil || !wait {
			continue
		}
		name := build.LateName(info.ID)
		d, err := build.ConnectLate(e.XC, e.XS, info, name)
		if err != nil {
			fmt.Fprintf(e.Stderr, "init-dom0less: %v\n", err)
			failed++
			continue
		}
		// A stub configuration, as init-dom0less's gen_stub_json_config
		// writes, so that xl list -l shows the domain.
		mib := info.TotPages >> 8
		c := cfg.Config{Name: name, Type: "pvh", MemoryMiB: mib, MaxMemMiB: max(mib, info.MaxPages>>8), VCPUs: info.MaxVCPUID + 1}
		if err := e.saveRecord(&Record{DomID: info.ID, UUID: build.UUIDString(d.UUID), Config: c}); err != nil {
			fmt.Fprintf(e.Stderr, "init-dom0less: domain %d: its record: %v\n", info.ID, err)
		}
		connected++
		fmt.Fprintf(e.Stdout, "init-dom0less: domain %d connected to xenstore as %q (%d MiB, %d vCPU(s))\n",
			info.ID, name, info.TotPages>>8, info.MaxVCPUID+1)
	}
	if failed > 0 {
		return fmt.Errorf("init-dom0less: %d domain(s) could not be connected", failed)
	}
	if connected == 0 {
		fmt.Fprintln(e.Stdout, "init-dom0less: no domain waits for xenstore")
	}
	return nil
}

package hv

// Grant tables are wired in once package grant lands; until then the
// operations report ENOSYS, which Linux handles by running without grant
// tables (hvc0 needs none).

func (h *Hypervisor) mapGrantFrame(v *VCPU, idx, gfn uint64) int64 { return -errENOSYS }

func (h *Hypervisor) grantTableOp(v *VCPU, cmd, arg, count uint64) int64 { return -errENOSYS }

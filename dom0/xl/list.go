package xl

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gozen/dom0/xc"
	"gozen/dom0/xl/build"
	"gozen/dom0/xl/cfg"
)

// ListHeader is xl list's header line (xl_info.c list_domains).
const ListHeader = "Name                                        ID   Mem VCPUs\tState\tTime(s)\n"

// ListLine formats one domain as xl list does: name in 40 columns, ID,
// memory in MiB (the frames it holds), online vCPUs, the state flags and
// CPU seconds.
func ListLine(name string, d xc.DomainInfo) string {
	return fmt.Sprintf("%-40s %5d %5d %5d     %s  %8.1f\n", name, d.ID, d.TotPages*xc.PageSize>>20,
		d.OnlineVCPUs, d.StateString(), float64(d.CPUTimeNS)/1e9)
}

// ListVerboseHeader is what xl list -v adds to the header's end: the
// UUID (the hypervisor's domain handle), the shutdown reason code and the
// security label (GoZen has no XSM labels: "-").
const ListVerboseHeader = "   UUID                            Reason-Code\tSecurity Label"

// ListVerbose is what xl list -v adds to a domain's line: its handle as a
// UUID, its SHUTDOWN_* code in hex once it has shut down ("-" before),
// and its security label.
func ListVerbose(d xc.DomainInfo) string {
	reason := "-"
	if d.IsShutdown() {
		reason = fmt.Sprintf("%x", d.ShutdownReason())
	}
	return fmt.Sprintf(" %s %8s %16s", build.UUIDString(d.Handle), reason, "-")
}

func (e *Env) list(args []string) error {
	opts, rest, err := flags("list", args, "lv")
	if err != nil {
		return err
	}
	var doms []xc.DomainInfo
	switch len(rest) {
	case 0:
		if doms, err = e.XC.ListDomains(); err != nil {
			return fmt.Errorf("libxl_list_domain failed: %v", cause(err))
		}
		doms = sortedIDs(doms)
	case 1:
		id, err := e.find(rest[0])
		if err != nil {
			return err
		}
		d, err := e.XC.DomainInfo(id)
		if err != nil {
			return e.domainErr(id, "list", err)
		}
		doms = []xc.DomainInfo{d}
	default:
		return usage("list", "xl list: at most one DOMAIN")
	}
	if _, long := opts['l']; long {
		return e.listLong(doms)
	}
	_, verbose := opts['v']
	var b strings.Builder
	if verbose {
		b.WriteString(strings.TrimSuffix(ListHeader, "\n") + ListVerboseHeader + "\n")
	} else {
		b.WriteString(ListHeader)
	}
	for _, d := range doms {
		line := ListLine(e.name(d.ID), d)
		if verbose {
			line = strings.TrimSuffix(line, "\n") + ListVerbose(d) + "\n"
		}
		b.WriteString(line)
	}
	_, err = fmt.Fprint(e.Stdout, b.String())
	return err
}

// The JSON of xl list -l: libxl_domain_config's field names, for the
// subset GoZen has.
type (
	jsonDomain struct {
		DomID  uint32     `json:"domid"`
		Config jsonConfig `json:"config"`
	}
	jsonConfig struct {
		CInfo      jsonCInfo  `json:"c_info"`
		BInfo      jsonBInfo  `json:"b_info"`
		Disks      []jsonDisk `json:"disks,omitempty"`
		Nics       []jsonNic  `json:"nics,omitempty"`
		OnPoweroff string     `json:"on_poweroff"`
		OnReboot   string     `json:"on_reboot"`
		OnCrash    string     `json:"on_crash"`
	}
	jsonCInfo struct {
		Type string `json:"type"`
		Name string `json:"name"`
		UUID string `json:"uuid"`
	}
	jsonBInfo struct {
		MaxVCPUs    int      `json:"max_vcpus"`
		AvailVCPUs  []int    `json:"avail_vcpus"`
		MaxMemKB    uint64   `json:"max_memkb"`
		TargetMemKB uint64   `json:"target_memkb"`
		Kernel      string   `json:"kernel"`
		Cmdline     string   `json:"cmdline,omitempty"`
		Ramdisk     string   `json:"ramdisk,omitempty"`
		Type        struct{} `json:"type.pvh"`
	}
	jsonDisk struct {
		PdevPath  string `json:"pdev_path"`
		Vdev      string `json:"vdev"`
		Format    string `json:"format"`
		Readwrite int    `json:"readwrite"`
		IsCdrom   int    `json:"is_cdrom"`
	}
	jsonNic struct {
		MAC    string `json:"mac,omitempty"`
		Bridge string `json:"bridge,omitempty"`
		IP     string `json:"ip,omitempty"`
		Script string `json:"script,omitempty"`
	}
)

// LongJSON is the xl list -l entry of a domain xl created.
func LongJSON(id uint32, uuid string, c *cfg.Config) any {
	j := jsonDomain{DomID: id, Config: jsonConfig{
		CInfo: jsonCInfo{Type: "pvh", Name: c.Name, UUID: uuid},
		BInfo: jsonBInfo{MaxVCPUs: c.VCPUs, MaxMemKB: c.MaxMemMiB << 10, TargetMemKB: c.MemoryMiB << 10,
			Kernel: c.Kernel, Cmdline: c.Cmdline, Ramdisk: c.Ramdisk},
		OnPoweroff: string(c.OnPoweroff), OnReboot: string(c.OnReboot), OnCrash: string(c.OnCrash),
	}}
	for i := 0; i < c.VCPUs; i++ {
		j.Config.BInfo.AvailVCPUs = append(j.Config.BInfo.AvailVCPUs, i)
	}
	for _, d := range c.Disks {
		rw, cd := 0, 0
		if d.Access == "rw" {
			rw = 1
		}
		if d.DevType == "cdrom" {
			cd = 1
		}
		j.Config.Disks = append(j.Config.Disks, jsonDisk{d.Target, d.Vdev, d.Format, rw, cd})
	}
	for _, n := range c.Vifs {
		j.Config.Nics = append(j.Config.Nics, jsonNic{n.MAC, n.Bridge, n.IP, n.Script})
	}
	return j
}

// listLong prints the configuration of each listed domain xl has a record
// of (like xl, it skips the others), as a JSON array indented by four.
func (e *Env) listLong(doms []xc.DomainInfo) error {
	out := []any{}
	for _, d := range doms {
		if r := e.loadRecord(d.ID); r != nil {
			c := r.Config
			c.Name = e.name(d.ID) // a preserved domain was renamed
			out = append(out, LongJSON(d.ID, r.UUID, &c))
		}
	}
	b, err := json.MarshalIndent(out, "", "    ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(e.Stdout, "%s\n", b)
	return err
}

// vcpuList is xl vcpu-list (xl_vcpu.c print_vcpuinfo). GoZen does not pin
// vCPUs: every affinity is "all".
func (e *Env) vcpuList(args []string) error {
	_, rest, err := flags("vcpu-list", args, "")
	if err != nil {
		return err
	}
	ids, err := e.domainIDs(rest)
	if err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-32s %5s %5s %5s %5s %9s %s\n", "Name", "ID", "VCPU", "CPU", "State", "Time(s)", "Affinity (Hard / Soft)")
	for _, id := range ids {
		vs, err := e.XC.VCPUs(id)
		if err != nil {
			continue // gone meanwhile, as libxl_list_vcpu failing
		}
		name := e.name(id)
		for _, v := range vs {
			fmt.Fprintf(&b, "%-32s %5d %5d", name, id, v.ID)
			if !v.Online {
				fmt.Fprintf(&b, "%5c %3c%cp ", '-', '-', '-')
			} else {
				fmt.Fprintf(&b, "%5d %3c%c- ", v.CPU, flag(v.Running, 'r'), flag(v.Blocked, 'b'))
			}
			fmt.Fprintf(&b, "%9.1f  all / all\n", float64(v.CPUTimeNS)/1e9)
		}
	}
	_, err = fmt.Fprint(e.Stdout, b.String())
	return err
}

func flag(on bool, c byte) byte {
	if on {
		return c
	}
	return '-'
}

// info is xl info: the host (uname), its CPUs and memory (physinfo) and
// the hypervisor (xen_version), as output_nodeinfo, output_physinfo and
// output_xeninfo print them.
func (e *Env) info(args []string) error {
	if len(args) > 0 {
		return usage("info", "xl info: no arguments")
	}
	p, err := e.XC.PhysInfo()
	if err != nil {
		return fmt.Errorf("libxl_physinfo failed: %v", cause(err))
	}
	v, err := e.XC.Version()
	if err != nil {
		return fmt.Errorf("libxl_get_version_info failed: %v", cause(err))
	}
	var b strings.Builder
	line := func(k string, format string, a ...any) {
		fmt.Fprintf(&b, "%-23s: "+format+"\n", append([]any{k}, a...)...)
	}
	if e.Uname != nil {
		host, release, version, machine := e.Uname()
		line("host", "%s", host)
		line("release", "%s", release)
		line("version", "%s", version)
		line("machine", "%s", machine)
	}
	line("nr_cpus", "%d", p.NrCPUs)
	line("max_cpu_id", "%d", p.MaxCPUID)
	line("nr_nodes", "%d", p.NrNodes)
	line("cores_per_socket", "%d", p.CoresPerSocket)
	line("threads_per_core", "%d", p.ThreadsPerCore)
	line("cpu_mhz", "%d.%03d", p.CPUkHz/1000, p.CPUkHz%1000)
	hw := make([]string, len(p.HWCap))
	for i, c := range p.HWCap {
		hw[i] = fmt.Sprintf("%08x", c)
	}
	line("hw_caps", "%s", strings.Join(hw, ":"))
	var caps []string
	if p.Capabilities&xc.PhysCapHVM != 0 {
		caps = append(caps, "hvm")
	}
	if p.Capabilities&xc.PhysCapPV != 0 {
		caps = append(caps, "pv")
	}
	line("virt_caps", "%s", strings.Join(caps, " "))
	perMiB := uint64(1<<20) / xc.PageSize
	line("total_memory", "%d", p.TotalPages/perMiB)
	line("free_memory", "%d", p.FreePages/perMiB)
	line("sharing_freed_memory", "%d", 0)
	line("sharing_used_memory", "%d", 0)
	line("outstanding_claims", "%d", 0)
	line("free_cpus", "%d", 0)
	line("xen_major", "%d", v.Major)
	line("xen_minor", "%d", v.Minor)
	line("xen_extra", "%s", v.Extra)
	line("xen_version", "%d.%d%s", v.Major, v.Minor, v.Extra)
	line("xen_caps", "%s", v.Caps)
	line("xen_scheduler", "%s", "credit")
	line("xen_pagesize", "%d", xc.PageSize)
	line("xen_commandline", "%s", v.Commandline)
	line("xend_config_format", "%d", 4)
	_, err = fmt.Fprint(e.Stdout, b.String())
	return err
}

// schedCredit is xl sched-credit: with -d and -w/-c it sets the weight
// and cap; otherwise it prints them (for one domain with -d, else all).
// GoZen has no cpupools, so xl's "Cpupool Pool-0: ..." line is left out.
func (e *Env) schedCredit(args []string) error {
	opts, rest, err := flags("sched-credit", args, "d:w:c:")
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usage("sched-credit", "xl sched-credit: unexpected %q", rest[0])
	}
	dom, hasDom := opts['d']
	w, setW := opts['w']
	c, setC := opts['c']
	if (setW || setC) && !hasDom {
		return usage("sched-credit", "xl sched-credit: -w and -c need -d DOMAIN")
	}
	var ids []uint32
	if hasDom {
		id, err := e.find(dom)
		if err != nil {
			return err
		}
		ids = []uint32{id}
	} else {
		doms, err := e.XC.ListDomains()
		if err != nil {
			return fmt.Errorf("libxl_list_domain failed: %v", cause(err))
		}
		for _, d := range sortedIDs(doms) {
			ids = append(ids, d.ID)
		}
	}
	if setW || setC {
		id := ids[0]
		s, err := e.XC.SchedParams(id)
		if err != nil {
			return e.domainErr(id, "sched-credit", err)
		}
		if setW {
			if s.Weight, err = strconv.Atoi(w); err != nil || s.Weight < 1 || s.Weight > 65535 {
				return usage("sched-credit", "xl sched-credit: weight %q: want 1..65535", w)
			}
		}
		if setC {
			if s.Cap, err = strconv.Atoi(c); err != nil || s.Cap < 0 {
				return usage("sched-credit", "xl sched-credit: cap %q: want a percentage (0 for none)", c)
			}
		}
		if err := e.XC.SetSchedParams(id, s); err != nil {
			return e.domainErr(id, "sched-credit", err)
		}
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-33s %4s %6s %4s\n", "Name", "ID", "Weight", "Cap")
	for _, id := range ids {
		s, err := e.XC.SchedParams(id)
		if err != nil {
			continue
		}
		fmt.Fprintf(&b, "%-33s %4d %6d %4d\n", e.name(id), id, s.Weight, s.Cap)
	}
	_, err = fmt.Fprint(e.Stdout, b.String())
	return err
}

// dmesg prints the hypervisor's log (-c clears it afterwards).
func (e *Env) dmesg(args []string) error {
	opts, rest, err := flags("dmesg", args, "c")
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usage("dmesg", "xl dmesg: unexpected %q", rest[0])
	}
	_, clear := opts['c']
	s, err := e.XC.ReadConsole(clear)
	if err != nil {
		return fmt.Errorf("reading the hypervisor's console failed: %v", cause(err))
	}
	_, err = fmt.Fprint(e.Stdout, s)
	return err
}

// UptimeString is xl's uptime_to_string.
func UptimeString(secs uint64, short bool) string {
	day, hour, min, sec := secs/86400, secs%86400/3600, secs%3600/60, secs%60
	days := ""
	switch {
	case day > 1:
		days = fmt.Sprintf("%d days, ", day)
	case day == 1:
		days = "1 day, "
	}
	if short {
		return fmt.Sprintf("%s%2d:%02d", days, hour, min)
	}
	return fmt.Sprintf("%s%2d:%02d:%02d", days, hour, min, sec)
}

// uptime is xl uptime [-s]: dom0's from /proc/uptime, a domU's from
// /vm/UUID/start_time.
func (e *Env) uptime(args []string) error {
	opts, rest, err := flags("uptime", args, "s")
	if err != nil {
		return err
	}
	_, short := opts['s']
	ids, err := e.domainIDs(rest)
	if err != nil {
		return err
	}
	now := e.now()
	var b strings.Builder
	if !short {
		fmt.Fprintf(&b, "%-33s %4s %s\n", "Name", "ID", "Uptime")
	}
	for _, id := range ids {
		var up uint64
		if id == 0 {
			if e.Dom0Uptime == nil {
				continue
			}
			d, err := e.Dom0Uptime()
			if err != nil {
				return fmt.Errorf("Can not get Dom0 uptime: %v", err)
			}
			up = uint64(d / time.Second)
		} else {
			vm, err := e.XS.Read(fmt.Sprintf("/local/domain/%d/vm", id))
			if err != nil {
				continue
			}
			st, err := e.XS.Read(vm + "/start_time")
			if err != nil {
				continue
			}
			whole, _, _ := strings.Cut(st, ".")
			start, err := strconv.ParseInt(whole, 10, 64)
			if err != nil || start > now.Unix() {
				continue
			}
			up = uint64(now.Unix() - start)
		}
		if short {
			fmt.Fprintf(&b, " %s up %s, %s (%d)\n", now.Format("15:04:05"), UptimeString(up, true), e.name(id), id)
		} else {
			fmt.Fprintf(&b, "%-33s %4d %s\n", e.name(id), id, UptimeString(up, false))
		}
	}
	_, err = fmt.Fprint(e.Stdout, b.String())
	return err
}

// domainIDs resolves a verb's domain arguments (names or IDs) in order; with
// none, it gives every domain by ID, as xl's vcpu-list and uptime do.
func (e *Env) domainIDs(names []string) ([]uint32, error) {
	var ids []uint32
	if len(names) == 0 {
		doms, err := e.XC.ListDomains()
		if err != nil {
			return nil, fmt.Errorf("libxl_list_domain failed: %v", cause(err))
		}
		for _, d := range sortedIDs(doms) {
			ids = append(ids, d.ID)
		}
	}
	for _, q := range names {
		id, err := e.find(q)
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

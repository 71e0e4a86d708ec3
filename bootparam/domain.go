package bootparam

import (
	"fmt"
	"strconv"
	"strings"
)

// DomainSpec describes a domain hv builds at boot from a boot module
// (what Xen calls dom0-less): option
//
//	domain=NAME,mem=SIZE,module=N[,vcpus=N][,ramdisk=M][,weight=W][,cap=P][,p2mpool=SIZE][,xenstore=hv|dom0]
//
// NAME is 1-16 characters of [A-Za-z0-9_-]; mem is the guest's RAM
// (ParseSize syntax, at least 1M); module is the boot module index holding
// the kernel image (its module command line becomes the kernel command
// line); ramdisk is the module holding its initial ramdisk (Linux's
// initrd); vcpus defaults to 1; p2mpool is the size of the domain's paging
// pool, which holds its nested page tables (Xen's shadow_memory; default 1
// MiB per vCPU plus 8 KiB per MiB of mem); xenstore=dom0 gives the domain
// dom0's xenstored, connected late by dom0's `xl init-dom0less` (Xen's
// dom0less "xen,enhanced"; needs dom0=), where the default, hv, has hv
// serve its xenstore from boot. The option may be repeated.
type DomainSpec struct {
	Name    string
	Mem     uint64
	Module  int
	VCPUs   int
	Ramdisk int    // boot module holding the initial ramdisk; -1 for none
	Weight  int    // scheduler weight, 1..65535; 0 for the default (256)
	Cap     int    // CPU cap in percent of one CPU; 0 for none
	P2MPool uint64 // paging pool in bytes; 0 for the default
	// XenstoreInDom0: xenstore=dom0.
	XenstoreInDom0 bool
	// Dom0 marks the privileged domain (option dom0=): hv gives it the
	// machine's devices, an identity p2m and the host's firmware tables.
	Dom0 bool
}

// Dom0Name is the name of the domain option dom0= declares.
const Dom0Name = "dom0"

// setDom0 handles dom0=mem=SIZE,module=N[,ramdisk=M][,vcpus=N]...: the same
// settings as domain= without the name, for the one privileged domain
// (Xen's hardware domain). It goes first in Domains, so it gets the first
// domain ID hv hands out.
func setDom0(p *Params, val string) error {
	for _, o := range p.Domains {
		if o.Dom0 {
			return fmt.Errorf("dom0: given twice: at most one domain can be dom0")
		}
	}
	d, err := ParseDomain(Dom0Name + "," + val)
	if err != nil {
		return err
	}
	if d.XenstoreInDom0 {
		return fmt.Errorf("dom0: xenstore=dom0 is for domUs (dom0 runs xenstored)")
	}
	d.Dom0 = true
	for _, o := range p.Domains {
		if o.Name == d.Name {
			return fmt.Errorf("domain: name %q used twice (dom0= takes that name)", d.Name)
		}
	}
	p.Domains = append([]DomainSpec{d}, p.Domains...)
	return nil
}

// Dom0Mem returns the mem= size of the dom0= option in cmdline (the last
// one if there are several; Parse rejects that later). Like Lookup it does
// not allocate and is safe before the Go runtime is initialised: rt sets
// dom0's RAM aside while it builds its memory pools.
func Dom0Mem(cmdline []byte) (uint64, bool) {
	val, ok := Lookup(cmdline, Dom0Name)
	if !ok {
		return 0, false
	}
	for len(val) > 0 {
		i := 0
		for i < len(val) && val[i] != ',' {
			i++
		}
		kv := val[:i]
		if len(kv) > 4 && equal(kv[:4], "mem=") {
			n, ok := ParseSize(kv[4:])
			if !ok || n < MinDomainMem {
				return 0, false
			}
			return n, true
		}
		if i == len(val) {
			break
		}
		val = val[i+1:]
	}
	return 0, false
}

// Limits for domain= values.
const (
	MaxDomainName = 16
	MinDomainMem  = 1 << 20
	MaxVCPUs      = 64
	// p2mpool= bounds: four pages map the first 2 MiB; 4 GiB is more
	// than the tables of any guest GoZen runs.
	MinP2MPool = 16 << 10
	MaxP2MPool = 4 << 30
)

func setDomain(p *Params, val string) error {
	d, err := ParseDomain(val)
	if err != nil {
		return err
	}
	for _, o := range p.Domains {
		if o.Name == d.Name {
			return fmt.Errorf("domain: name %q used twice", d.Name)
		}
	}
	p.Domains = append(p.Domains, d)
	return nil
}

// ParseDomain parses the value of one domain= option.
func ParseDomain(val string) (DomainSpec, error) {
	d := DomainSpec{Module: -1, VCPUs: 1, Ramdisk: -1}
	parts := strings.Split(val, ",")
	d.Name = parts[0]
	if err := checkName(d.Name); err != nil {
		return d, err
	}
	seen := map[string]bool{}
	for _, kv := range parts[1:] {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || v == "" {
			return d, fmt.Errorf("domain %s: %q is not key=value", d.Name, kv)
		}
		if seen[k] {
			return d, fmt.Errorf("domain %s: %s given twice", d.Name, k)
		}
		seen[k] = true
		switch k {
		case "mem":
			n, ok := ParseSize([]byte(v))
			if !ok || n < MinDomainMem {
				return d, fmt.Errorf("domain %s: mem=%q is not a size of at least 1M", d.Name, v)
			}
			d.Mem = n
		case "module":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > 255 {
				return d, fmt.Errorf("domain %s: module=%q is not a module index", d.Name, v)
			}
			d.Module = n
		case "ramdisk":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > 255 {
				return d, fmt.Errorf("domain %s: ramdisk=%q is not a module index", d.Name, v)
			}
			d.Ramdisk = n
		case "weight":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 65535 {
				return d, fmt.Errorf("domain %s: weight=%q (want 1..65535)", d.Name, v)
			}
			d.Weight = n
		case "cap":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > 100 {
				return d, fmt.Errorf("domain %s: cap=%q (want 0..100 percent)", d.Name, v)
			}
			d.Cap = n
		case "p2mpool":
			n, ok := ParseSize([]byte(v))
			if !ok || n < MinP2MPool || n > MaxP2MPool {
				return d, fmt.Errorf("domain %s: p2mpool=%q is not a size from 16K to 4G", d.Name, v)
			}
			d.P2MPool = n
		case "xenstore":
			switch v {
			case "hv":
				d.XenstoreInDom0 = false
			case "dom0":
				d.XenstoreInDom0 = true
			default:
				return d, fmt.Errorf("domain %s: xenstore=%q (want hv or dom0)", d.Name, v)
			}
		case "vcpus":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > MaxVCPUs {
				return d, fmt.Errorf("domain %s: vcpus=%q (want 1..%d)", d.Name, v, MaxVCPUs)
			}
			d.VCPUs = n
		default:
			return d, fmt.Errorf("domain %s: unknown setting %q (want mem, module, vcpus, ramdisk, weight, cap, p2mpool, xenstore)", d.Name, k)
		}
	}
	if d.Mem == 0 {
		return d, fmt.Errorf("domain %s: mem= is required", d.Name)
	}
	if d.Module < 0 {
		return d, fmt.Errorf("domain %s: module= is required", d.Name)
	}
	return d, nil
}

func checkName(n string) error {
	if n == "" || len(n) > MaxDomainName {
		return fmt.Errorf("domain: name %q must be 1-%d characters", n, MaxDomainName)
	}
	for _, c := range n {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return fmt.Errorf("domain: name %q may only contain letters, digits, '-' and '_'", n)
		}
	}
	return nil
}

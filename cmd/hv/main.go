// Command hv is the GoZen hypervisor image. Build it with
// `go run ./tools/mkimage`, which produces out/hv.bin for QEMU -kernel or
// GRUB (multiboot or multiboot2).
//
// hv runs on GoZen's bare-metal runtime layer (package rt): by the time main
// runs, the machine's memory, interrupts, clocks and console are set up and
// the Go runtime works as it does on Linux.
package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"gozen/bootparam"
	"gozen/rt"
)

// Version is GoZen's version string.
const Version = "0.1.0-dev"

func main() {
	params, err := bootparam.Parse(testhookCmdline(rt.Cmdline()))
	if err != nil {
		rt.BootError("command line: " + err.Error())
	}
	banner(params)
	testhookRun()
	if params.SelfTest {
		ok := runSelfTest(os.Stdout)
		if ok {
			rt.Stop(rt.ExitSuccess)
		}
		rt.Stop(rt.ExitFailure)
	}
	if len(params.Domains) > 0 {
		rt.Stop(runDomains(params.Domains, params.LogLevel >= bootparam.LogDebug))
	}
	monitor()
}

func banner(p bootparam.Params) {
	cpu := rt.CPU()
	fmt.Printf("GoZen %s: Go %s at ring 0, loglvl=%s\n", Version, goVersion(), p.LogLevel)
	fmt.Printf("cpu: %s family %#x model %#x, svm=%v nx=%v rdrand=%v rdseed=%v, tsc %d MHz, apic timer %d MHz\n",
		strings.TrimRight(string(cpu.Vendor[:]), "\x00"), cpu.Family, cpu.Model, cpu.SVM, cpu.NX,
		cpu.RDRAND, cpu.RDSEED, rt.TSCHz()/1e6, rt.LAPICHz()/1e6)
	backendBanner()
	m := rt.ReadMemStats()
	fmt.Printf("memory: %d MiB RAM, %d MiB usable; hv pool %d MiB (%d MiB free), guest pool %d MiB (%d MiB free)\n",
		m.TotalRAM>>20, m.UsableRAM>>20, m.HVPool>>20, m.HVFree>>20, m.GuestPool>>20, m.GuestFree>>20)
	fmt.Printf("boot: loader %q, cmdline %q\n", rt.LoaderName(), rt.Cmdline())
	for i, mod := range rt.Modules() {
		fmt.Printf("module %d: start=%#x size=%d cmdline=%q\n", i, mod.Start, mod.End-mod.Start, mod.Cmdline())
	}
	if len(rt.Modules()) == 0 {
		fmt.Println("boot: no modules")
	}
}

// monitor is a minimal serial console until domains exist: it answers a few
// commands and otherwise idles.
func monitor() {
	fmt.Println("hv: no domains to run yet. Console commands: mem, stats, poweroff (q), help.")
	fmt.Print("hv> ")
	var line []byte
	buf := make([]byte, 1)
	for {
		n, err := os.Stdin.Read(buf)
		if n == 0 || err != nil {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		c := buf[0]
		switch {
		case c == '\r' || c == '\n':
			fmt.Println()
			command(strings.TrimSpace(string(line)))
			line = line[:0]
			fmt.Print("hv> ")
		case c == 0x7f || c == 8:
			if len(line) > 0 {
				line = line[:len(line)-1]
				fmt.Print("\b \b")
			}
		case c >= ' ' && c < 0x7f:
			line = append(line, c)
			fmt.Printf("%c", c)
		}
	}
}

func command(cmd string) {
	switch cmd {
	case "":
	case "help", "?":
		fmt.Println("mem       physical memory pools\nstats     trap and scheduler counters\npoweroff  stop the machine (also: q)")
	case "mem":
		m := rt.ReadMemStats()
		fmt.Printf("RAM %d MiB, usable %d MiB, hv pool %d/%d MiB free, guest pool %d/%d MiB free, %d pages demand-faulted\n",
			m.TotalRAM>>20, m.UsableRAM>>20, m.HVFree>>20, m.HVPool>>20, m.GuestFree>>20, m.GuestPool>>20, m.PagesFaulted)
	case "stats":
		c := rt.ReadCounters()
		fmt.Printf("traps %d, syscalls %d, timer interrupts %d, context switches %d, threads %d\n",
			c.Traps, c.Syscalls, c.TimerIRQs, c.Switches, c.Threads)
	case "poweroff", "q", "quit":
		fmt.Println("hv: stopping")
		rt.Stop(rt.ExitSuccess)
	default:
		fmt.Printf("unknown command %q (try help)\n", cmd)
	}
}

// Command hostilefe is a hostile PV front end for a domU's userspace: it
// connects to dom0's blkback and netback through the domain's
// device/vbd and device/vif trees (the domain's own blkfront and netfront
// must not be loaded: boot it with module_blacklist=xen_blkfront,xen_netfront)
// and sends them what package dom0/hostilefe describes: revoked and
// malformed rings and requests, grants revoked in use, a flood of
// events. It prints one line per check and a summary,
//
//	hostilefe: done: N checks, M failed
//
// and exits 1 if a check failed. Scenario xl-hostile-io runs it.
//
//	hostilefe [-flood N] [-wait DURATION]
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"gozen/dom0/hostilefe"
	"gozen/dom0/xendev"
	"gozen/dom0/xs"
)

func main() {
	flood := flag.Int("flood", 20000, "event notifications sent to each device at once")
	wait := flag.Duration("wait", 10*time.Second, "how long to wait for a back-end state or a response")
	flag.Parse()
	fail := func(err error) {
		fmt.Fprintf(os.Stderr, "hostilefe: %v\n", err)
		os.Exit(2)
	}
	f, err := xs.Dial()
	if err != nil {
		fail(err)
	}
	gnt, err := xendev.OpenGntalloc()
	if err != nil {
		fail(err)
	}
	evt, err := xendev.OpenEvtchn()
	if err != nil {
		fail(err)
	}
	e := &hostilefe.Env{
		XS: xs.New(f), Gnt: gnt, Evt: evt,
		Logf:  func(format string, args ...any) { fmt.Printf("hostilefe: "+format+"\n", args...) },
		Now:   time.Now,
		Sleep: time.Sleep,
		Flood: *flood,
		Wait:  *wait,
	}
	checks, fails, err := e.Run()
	if err != nil {
		fmt.Printf("hostilefe: FAIL: stopped: %v\n", err)
		fails++
	}
	fmt.Printf("hostilefe: done: %d checks, %d failed\n", checks, fails)
	if fails > 0 {
		os.Exit(1)
	}
}

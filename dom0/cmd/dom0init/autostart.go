package main

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"gozen/dom0/xl/cfg"
)

const (
	xl = "/bin/xl"
	// createOption is the kernel command-line option that makes dom0init
	// `xl create` domains once the daemons run (./run.sh passes
	// gozen.create=/etc/xen/debian.cfg), as Xen's xendomains starts the
	// configurations in /etc/xen/auto at boot. Linux leaves an option with
	// a dot alone (a parameter of a module it does not have), so it reaches
	// /proc/cmdline and nothing else.
	createOption = "gozen.create="
)

// createConfigs returns the configurations cmdline asks dom0init to
// create: every gozen.create= value, each a comma-separated list of paths.
func createConfigs(cmdline string) []string {
	var out []string
	for _, f := range strings.Fields(cmdline) {
		v, ok := strings.CutPrefix(f, createOption)
		if !ok {
			continue
		}
		for _, p := range strings.Split(v, ",") {
			if p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// configName returns the name= a configuration file gives its domain.
func configName(path string) (string, error) {
	text, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	f, err := cfg.Parse(path, text)
	if err != nil {
		return "", err
	}
	c, err := cfg.Decode(f)
	if err != nil {
		return "", err
	}
	return c.Name, nil
}

// autostart runs `xl create` for each configuration the kernel command
// line names, with xl's output on the console, and prints how to reach
// each domain it created. A failure is reported and the next one tried;
// dom0's shell comes up either way.
func autostart() {
	b, err := os.ReadFile("/proc/cmdline")
	if err != nil {
		say("autostart: /proc/cmdline: %v", err)
		return
	}
	for _, path := range createConfigs(string(b)) {
		name, err := configName(path)
		if err != nil {
			say("autostart: %v", err)
			continue
		}
		t := time.Now()
		cmd := exec.Command(xl, "create", path)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			say("autostart: xl create %s: %v", path, err)
			continue
		}
		say("autostart: xl create %s: domain %q is running (%d ms)", path, name, time.Since(t).Milliseconds())
		fmt.Printf("==> domain %q is running: `xl console %s` attaches to its console (Ctrl-] detaches), `xl list` lists it\n", name, name)
	}
}

package main

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// The real binary over loopback: what arrives is the stream, hashed the
// same on both sides and by sum.
func TestLoopback(t *testing.T) {
	if os.Getenv("TCPBENCH_MAIN") == "1" {
		os.Args = append([]string{"tcpbench"}, strings.Fields(os.Getenv("TCPBENCH_ARGS"))...)
		main()
		os.Exit(0)
	}
	run := func(args string) *exec.Cmd {
		c := exec.Command(os.Args[0], "-test.run=TestLoopback")
		c.Env = append(os.Environ(), "TCPBENCH_MAIN=1", "TCPBENCH_ARGS="+args)
		return c
	}
	r := run("recv -l 127.0.0.1:35917 -n 1000003")
	var rout strings.Builder
	r.Stdout = &rout
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	sout, err := run("send -n 1000003 127.0.0.1:35917").Output()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Wait(); err != nil {
		t.Fatalf("recv: %v: %s", err, rout.String())
	}
	sum, err := run("sum -n 1000003").Output()
	if err != nil {
		t.Fatal(err)
	}
	h := strings.TrimSpace(string(sum))
	if !regexp.MustCompile(`received 1000003 bytes .* sha256 ` + h + ` data ok`).MatchString(rout.String()) {
		t.Errorf("recv said %q (sum %s)", rout.String(), h)
	}
	if !strings.Contains(string(sout), "sent 1000003 bytes") || !strings.Contains(string(sout), h) {
		t.Errorf("send said %q", sout)
	}
	// A short stream is reported.
	r = run("recv -l 127.0.0.1:35918 -n 5000")
	rout.Reset()
	r.Stdout = &rout
	r.Start()
	run("send -n 4000 127.0.0.1:35918").Run()
	if err := r.Wait(); err == nil || !strings.Contains(rout.String(), "data SHORT: 4000 of 5000") {
		t.Errorf("short stream: %v %q", err, rout.String())
	}
}

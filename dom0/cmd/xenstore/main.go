// Command xenstore is a small xenstore client for GoZen guests, with the
// verbs and output of Xen's tools (tools/xenstore/xenstore_client.c):
//
//	xenstore-read PATH...          print each value, one a line
//	xenstore-write PATH VALUE...   set each PATH to VALUE
//	xenstore-ls [-p] [PATH]        print the tree under PATH (default /), with -p the permissions
//	xenstore-list PATH             print PATH's children, one a line
//	xenstore-rm PATH...            remove each PATH and its subtree
//
// It is one binary: invoked under one of those names (a symlink), or as
// `xenstore read PATH...` and so on. It talks to /dev/xen/xenbus, which
// Linux's xenbus driver forwards to the guest's xenstore ring (served by
// hv for a GoZen domU, by dom0's xenstored for dom0 and under Xen), or to
// the xenstored socket named by $XENSTORED_PATH (xs.Dial). A relative PATH is under the
// guest's /local/domain/<id>. Errors name the path and the xenstore error
// (EACCES, ENOENT, ...) and make the exit status 1.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"gozen/dom0/xs"
)

func main() {
	verb, args := verbOf(os.Args)
	f, err := xs.Dial()
	if err != nil {
		fmt.Fprintf(os.Stderr, "xenstore-%s: %v\n", verb, err)
		os.Exit(1)
	}
	defer f.Close()
	os.Exit(run(verb, args, xs.New(f), os.Stdout, os.Stderr))
}

// verbOf returns the verb ("read", "write", ...) and its arguments from
// argv: the name the binary was run under (xenstore-read), or else the
// first argument (xenstore read).
func verbOf(argv []string) (string, []string) {
	name := filepath.Base(argv[0])
	if v, ok := strings.CutPrefix(name, "xenstore-"); ok {
		return v, argv[1:]
	}
	if len(argv) > 1 {
		return argv[1], argv[2:]
	}
	return "", nil
}

const usage = "usage: xenstore-read PATH... | xenstore-write PATH VALUE... | xenstore-ls [-p] [PATH] | xenstore-list PATH | xenstore-rm PATH...\n"

// run carries out one command and returns the exit status.
func run(verb string, args []string, c *xs.Client, stdout, stderr io.Writer) int {
	fail := func(err error) int {
		fmt.Fprintf(stderr, "xenstore-%s: %v\n", verb, err)
		return 1
	}
	switch verb {
	case "read":
		if len(args) == 0 {
			break
		}
		for _, p := range args {
			v, err := c.Read(p)
			if err != nil {
				return fail(err)
			}
			fmt.Fprintln(stdout, v)
		}
		return 0
	case "write":
		if len(args) == 0 || len(args)%2 != 0 {
			break
		}
		for i := 0; i < len(args); i += 2 {
			if err := c.Write(args[i], args[i+1]); err != nil {
				return fail(err)
			}
		}
		return 0
	case "rm":
		if len(args) == 0 {
			break
		}
		for _, p := range args {
			if err := c.Rm(p); err != nil {
				return fail(err)
			}
		}
		return 0
	case "list":
		if len(args) != 1 {
			break
		}
		kids, err := c.Directory(args[0])
		if err != nil {
			return fail(err)
		}
		for _, k := range kids {
			fmt.Fprintln(stdout, k)
		}
		return 0
	case "ls":
		fs := flag.NewFlagSet("xenstore-ls", flag.ContinueOnError)
		fs.SetOutput(stderr)
		perms := fs.Bool("p", false, "show permissions")
		if fs.Parse(args) != nil || fs.NArg() > 1 {
			break
		}
		root := "/"
		if fs.NArg() == 1 {
			root = fs.Arg(0)
		}
		status := 0
		c.Walk(root, *perms, func(n xs.Node) {
			if n.Err != nil {
				fmt.Fprintf(stderr, "xenstore-ls: %v\n", n.Err)
				status = 1
				return
			}
			if n.Depth == 0 {
				return // xenstore-ls prints what is under the path
			}
			line := fmt.Sprintf("%s%s = %s", strings.Repeat(" ", n.Depth-1), lastElem(n.Path), strconv.Quote(n.Value))
			if *perms {
				line += "  (" + strings.Join(n.Perms, ",") + ")"
			}
			fmt.Fprintln(stdout, line)
		})
		return status
	}
	fmt.Fprint(stderr, usage)
	return 2
}

func lastElem(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}

// Command bootbench measures how long GoZen's hv takes to boot under QEMU:
//
//	go run ./tools/bootbench [-n 5] [-image out/hv.bin] [-qemu qemu-system-x86_64]
//
// It boots the image N times, one after another, with
//
//	qemu-system-x86_64 -accel tcg -cpu qemu64,+svm,+npt,+rdrand -m 1G \
//	    -nographic -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
//	    -kernel IMAGE -append "selftest"
//
// and stdin from /dev/null, reads the serial console (QEMU's stdout) as it
// arrives and timestamps, from just before QEMU is started, the lines
//
//	GoZen hv: booting                hv's first output (boot0, before the Go runtime)
//	GoZen ... at ring 0, ...         the first line Go main() prints
//	SELFTEST: PASS ...               the self-test result
//
// and QEMU's exit. A line's time is when its newline was read. It prints
// per-run times, their medians, the image size and the SELFTEST memory
// fields of the median run as Markdown (for BENCHMARKS.md), and exits 1 if
// any run failed: a marker missing, SELFTEST not PASS, QEMU not exiting with
// status 1 (hv stop code 0) or not within the timeout.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"
)

func main() {
	n := flag.Int("n", 5, "number of boots")
	imagePath := flag.String("image", "out/hv.bin", "hv image to boot")
	qemu := flag.String("qemu", "qemu-system-x86_64", "QEMU binary")
	timeout := flag.Duration("timeout", 60*time.Second, "per-boot timeout")
	flag.Parse()
	if *n < 1 || flag.NArg() != 0 {
		flag.Usage()
		os.Exit(2)
	}
	img, err := readImage(*imagePath)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bootbench:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "bootbench: %s\n", strings.Join(append([]string{*qemu}, quoteArgs(qemuArgs(*imagePath))...), " "))

	var ok []Run
	failed := 0
	for i := 1; i <= *n; i++ {
		r, err := bootOnce(*qemu, *imagePath, *timeout)
		if err != nil {
			failed++
			fmt.Fprintf(os.Stderr, "bootbench: run %d FAILED: %v\n", i, err)
			for _, l := range r.Tail {
				fmt.Fprintf(os.Stderr, "    | %s\n", l)
			}
			continue
		}
		fmt.Fprintf(os.Stderr, "bootbench: run %d: hv %s ms, main %s ms, SELFTEST %s ms, exit %s ms\n", i,
			fmtDur(r.Marks[MarkHV]), fmtDur(r.Marks[MarkMain]), fmtDur(r.Marks[MarkSelftest]), fmtDur(r.Exit))
		ok = append(ok, r)
	}
	if len(ok) > 0 {
		fmt.Print(Markdown(ok, img))
	}
	if failed > 0 {
		fmt.Fprintf(os.Stderr, "bootbench: %d of %d runs failed\n", failed, *n)
		os.Exit(1)
	}
}

func readImage(path string) (Image, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Image{}, err
	}
	sum := sha256.Sum256(data)
	return Image{Path: path, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])}, nil
}

// qemuArgs is the QEMU command line for one boot.
func qemuArgs(image string) []string {
	return []string{
		"-accel", "tcg", "-cpu", "qemu64,+svm,+npt,+rdrand", "-m", "1G",
		"-nographic", "-no-reboot",
		"-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
		"-kernel", image, "-append", "selftest",
	}
}

func quoteArgs(args []string) []string {
	q := make([]string, len(args))
	for i, a := range args {
		if strings.ContainsAny(a, " \"'") {
			a = fmt.Sprintf("%q", a)
		}
		q[i] = a
	}
	return q
}

// bootOnce boots the image once and times it.
func bootOnce(qemu, image string, timeout time.Duration) (Run, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, qemu, qemuArgs(image)...)
	cmd.Stdin = nil // /dev/null
	var stderr strings.Builder
	cmd.Stderr = &stderr
	cmd.WaitDelay = 2 * time.Second
	out, err := cmd.StdoutPipe()
	if err != nil {
		return Run{}, err
	}
	var s Scanner
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return Run{}, err
	}
	buf := make([]byte, 64<<10)
	var readErr error
	for {
		n, err := out.Read(buf)
		if n > 0 {
			s.Feed(time.Since(start), buf[:n])
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, os.ErrClosed) {
				readErr = err
			}
			break
		}
	}
	waitErr := cmd.Wait()
	exit := time.Since(start)
	s.Close(exit)
	timedOut := ctx.Err() != nil
	status := cmd.ProcessState.ExitCode()
	var ee *exec.ExitError
	if waitErr != nil && !errors.As(waitErr, &ee) && !timedOut {
		return Run{Tail: s.Tail}, waitErr
	}
	r, err := Evaluate(&s, exit, status, timedOut)
	if e := strings.TrimSpace(stderr.String()); e != "" && err != nil {
		err = fmt.Errorf("%w\nQEMU stderr: %s", err, e)
	}
	if readErr != nil {
		err = errors.Join(err, fmt.Errorf("reading QEMU output: %w", readErr))
	}
	return r, err
}

package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// detachKey is Ctrl-], which ends `xl console` as in xenconsole.
const detachKey = 0x1d

// attachConsole connects this terminal to the console pty tty: the
// terminal in raw mode, keystrokes to the pty until Ctrl-], the pty's
// output to the terminal.
func attachConsole(tty string) error {
	pty, err := os.OpenFile(tty, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return err
	}
	defer pty.Close()
	// The pty itself raw too, so the guest's bytes pass unchanged.
	if t, err := unix.IoctlGetTermios(int(pty.Fd()), unix.TCGETS); err == nil {
		makeRaw(t)
		unix.IoctlSetTermios(int(pty.Fd()), unix.TCSETS, t)
	}
	in := int(os.Stdin.Fd())
	if old, err := unix.IoctlGetTermios(in, unix.TCGETS); err == nil {
		raw := *old
		makeRaw(&raw)
		if err := unix.IoctlSetTermios(in, unix.TCSETS, &raw); err != nil {
			return fmt.Errorf("raw terminal: %w", err)
		}
		defer unix.IoctlSetTermios(in, unix.TCSETS, old)
	}
	go io.Copy(os.Stdout, pty)
	return copyUntilDetach(pty, os.Stdin)
}

// copyUntilDetach copies keystrokes from in to out until detachKey (not
// sent) or the end of in.
func copyUntilDetach(out io.Writer, in io.Reader) error {
	buf := make([]byte, 256)
	for {
		n, err := in.Read(buf)
		for i := 0; i < n; i++ {
			if buf[i] == detachKey {
				_, werr := out.Write(buf[:i])
				return werr
			}
		}
		if n > 0 {
			if _, werr := out.Write(buf[:n]); werr != nil {
				return werr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// makeRaw is cfmakeraw(3).
func makeRaw(t *unix.Termios) {
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8
	t.Cc[unix.VMIN] = 1
	t.Cc[unix.VTIME] = 0
}

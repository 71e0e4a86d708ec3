package xs

import (
	"net"
	"path/filepath"
	"testing"
)

// Dial takes the socket named by XENSTORED_PATH when it is set.
func TestDialSocket(t *testing.T) {
	p := filepath.Join(t.TempDir(), "socket")
	l, err := net.Listen("unix", p)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan struct{})
	go func() {
		if c, err := l.Accept(); err == nil {
			c.Close()
			close(accepted)
		}
	}()
	t.Setenv(SocketEnv, p)
	c, err := Dial()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	<-accepted
	t.Setenv(SocketEnv, filepath.Join(t.TempDir(), "none"))
	if _, err := Dial(); err == nil {
		t.Fatal("Dial of a missing socket succeeded")
	}
}

// Without XENSTORED_PATH, DialToolstack takes xenstored's socket when one
// listens.
func TestDialToolstackSocket(t *testing.T) {
	old := SocketPath
	defer func() { SocketPath = old }()
	SocketPath = filepath.Join(t.TempDir(), "socket")
	l, err := net.Listen("unix", SocketPath)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		if c, err := l.Accept(); err == nil {
			c.Close()
		}
	}()
	t.Setenv(SocketEnv, "")
	c, err := DialToolstack()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, ok := c.(*net.UnixConn); !ok {
		t.Errorf("DialToolstack gave a %T, want the socket", c)
	}
}

package xs

import (
	"bytes"
	"testing"

	"gozen/xenstore"
)

// eventPipe is a connection to the server whose reads also take what the
// server queued for it meanwhile (watch events another connection's
// writes caused).
type eventPipe struct {
	c   *xenstore.Conn
	out bytes.Buffer
}

func (p *eventPipe) Write(b []byte) (int, error) {
	if err := p.c.Process(b); err != nil {
		return 0, err
	}
	return len(b), nil
}

func (p *eventPipe) Read(b []byte) (int, error) {
	if n := p.c.Pending(); n > 0 {
		buf := make([]byte, n)
		p.out.Write(buf[:p.c.ReadOutput(buf)])
	}
	return p.out.Read(b)
}

func TestWatcher(t *testing.T) {
	s := xenstore.NewServer(nil, xenstore.DefaultLimits, xenstore.PrivilegedLimits)
	c := New(&eventPipe{c: s.Connect(0, true)})
	w := NewWatcher(&eventPipe{c: s.Connect(0, true)})
	if err := w.Watch("/local/domain", "dom"); err != nil {
		t.Fatal(err)
	}
	// The event a new watch fires, then one per change under the path.
	if e, err := w.Next(); err != nil || e != (Event{"/local/domain", "dom"}) {
		t.Fatalf("first event: %+v %v", e, err)
	}
	if err := c.Write("/local/domain/7/name", "x"); err != nil {
		t.Fatal(err)
	}
	// An event queued while Watch waited for its own reply comes first.
	if err := w.Watch("/other", "o"); err != nil {
		t.Fatal(err)
	}
	want := []Event{{"/local/domain/7/name", "dom"}, {"/other", "o"}}
	for _, wa := range want {
		if e, err := w.Next(); err != nil || e != wa {
			t.Fatalf("event %+v %v, want %+v", e, err, wa)
		}
	}
	if err := w.Watch("/no spaces", "r"); !IsErrno(err, "EINVAL") {
		t.Errorf("a bad watch path: %v, want EINVAL", err)
	}
}

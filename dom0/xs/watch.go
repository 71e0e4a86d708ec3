package xs

import (
	"fmt"
	"io"
	"strings"

	"gozen/abi/xen"
)

// Event is one XS_WATCH_EVENT: the path that changed and the watch's token.
type Event struct {
	Path, Token string
}

// Watcher is a connection used for watches only: Watch sets one
// (XS_WATCH), Next returns the events one at a time. Events and replies
// share the stream, so a Watcher keeps the events that arrive while it
// waits for a reply; a Client, which sets no watches, never sees one.
// (libxenstore likewise reads watch events on a thread of their own.)
type Watcher struct {
	rw     io.ReadWriter
	reqID  uint32
	queued []Event
}

// NewWatcher returns a watcher over rw (a connection of its own).
func NewWatcher(rw io.ReadWriter) *Watcher { return &Watcher{rw: rw} }

// Watch sets a watch on path with token. The xenstore server fires it once
// at once, as Xen's does; that event is returned by Next like any other.
func (w *Watcher) Watch(path, token string) error {
	w.reqID++
	payload := nul(path, token)
	msg := make([]byte, xen.XsdSockmsgSize+len(payload))
	(&xen.XsdSockmsg{Type: xen.XSWatch, ReqID: w.reqID, Len: uint32(len(payload))}).Encode(msg)
	copy(msg[xen.XsdSockmsgSize:], payload)
	if _, err := w.rw.Write(msg); err != nil {
		return fmt.Errorf("xenstore WATCH %s: %w", path, err)
	}
	for {
		h, body, err := readMsg(w.rw)
		if err != nil {
			return fmt.Errorf("xenstore WATCH %s: %w", path, err)
		}
		switch h.Type {
		case xen.XSWatchEvent:
			w.queued = append(w.queued, parseEvent(body))
		case xen.XSError:
			return &Error{Op: "WATCH", Path: path, Name: strings.TrimRight(string(body), "\x00")}
		case xen.XSWatch:
			return nil
		default:
			return fmt.Errorf("xenstore WATCH %s: reply of type %s", path, xen.XSTypeName(h.Type))
		}
	}
}

// Next waits for the next watch event.
func (w *Watcher) Next() (Event, error) {
	if len(w.queued) > 0 {
		e := w.queued[0]
		w.queued = w.queued[1:]
		return e, nil
	}
	for {
		h, body, err := readMsg(w.rw)
		if err != nil {
			return Event{}, fmt.Errorf("xenstore watch events: %w", err)
		}
		if h.Type == xen.XSWatchEvent {
			return parseEvent(body), nil
		}
		// Nothing else is outstanding: a stray reply is dropped.
	}
}

func parseEvent(body []byte) Event {
	f := strings.SplitN(strings.TrimRight(string(body), "\x00"), "\x00", 2)
	e := Event{Path: f[0]}
	if len(f) > 1 {
		e.Token = f[1]
	}
	return e
}

// readMsg reads one message (header and payload) from r.
func readMsg(r io.Reader) (xen.XsdSockmsg, []byte, error) {
	var hdr [xen.XsdSockmsgSize]byte
	var h xen.XsdSockmsg
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return h, nil, err
	}
	h.Decode(hdr[:])
	if h.Len > xen.XenstorePayloadMax {
		return h, nil, fmt.Errorf("message of %d bytes is over the %d-byte limit", h.Len, xen.XenstorePayloadMax)
	}
	body := make([]byte, h.Len)
	if _, err := io.ReadFull(r, body); err != nil {
		return h, nil, err
	}
	return h, body, nil
}

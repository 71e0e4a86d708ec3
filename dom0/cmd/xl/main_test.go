package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestCopyUntilDetach(t *testing.T) {
	var out bytes.Buffer
	if err := copyUntilDetach(&out, strings.NewReader("ls -l\r\x1dnot sent")); err != nil {
		t.Fatal(err)
	}
	if out.String() != "ls -l\r" {
		t.Fatalf("sent %q", out.String())
	}
	out.Reset()
	if err := copyUntilDetach(&out, strings.NewReader("to the end")); err != nil || out.String() != "to the end" {
		t.Fatalf("%q %v", out.String(), err)
	}
}

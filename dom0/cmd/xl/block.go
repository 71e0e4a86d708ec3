package main

import (
	"fmt"

	"golang.org/x/sys/unix"

	"gozen/dom0/loop"
)

// blockOps is xl.Blockdev over dom0's devices and package loop: the block
// script's steps.
type blockOps struct{}

func (blockOps) Stat(path string) (bool, uint32, uint32, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return false, 0, 0, err
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFBLK:
		return true, unix.Major(st.Rdev), unix.Minor(st.Rdev), nil
	case unix.S_IFREG:
		return false, 0, 0, nil
	}
	return false, 0, 0, fmt.Errorf("neither a block device nor a regular file")
}

func (blockOps) AttachLoop(file string, ro bool) (string, uint32, uint32, error) {
	d, err := loop.Attach(file, ro)
	return d.Path, d.Major, d.Minor, err
}

func (blockOps) DetachLoop(dev string) error { return loop.Detach(dev) }

func (blockOps) LoopBacking(dev string) (string, error) { return loop.BackingFile(dev) }

//go:build !testhooks

package main

func testhookCmdline(cmd string) string { return cmd }
func testhookRun()                      {}

// exitFloor is never set in production images.
const exitFloor = false

// iommuDenyDMA is never set in production images.
const iommuDenyDMA = false

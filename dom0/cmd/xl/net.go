package main

import "gozen/dom0/netdev"

// netOps is xl.Netdev over rtnetlink (package netdev): vif-bridge's steps.
type netOps struct{}

func (netOps) Exists(name string) (bool, error)  { return netdev.Exists(name) }
func (netOps) Rename(name, newName string) error { return netdev.Rename(name, newName) }

func (netOps) Enslave(name, bridge string) error {
	if err := netdev.SetMaster(name, bridge); err != nil {
		return err
	}
	return netdev.SetUp(name, true)
}

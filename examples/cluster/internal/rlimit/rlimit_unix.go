//go:build unix

// Package rlimit raises the open-file limit, which bounds how many
// connections a process can hold.
package rlimit

import "syscall"

// RaiseNoFile lifts the soft RLIMIT_NOFILE to the hard limit, as far as the
// hard limit allows, and returns the soft limit now in force.
func RaiseNoFile() (uint64, error) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0, err
	}
	if l.Cur < l.Max {
		want := l
		want.Cur = l.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err != nil {
			return uint64(l.Cur), err
		}
		l = want
	}
	return uint64(l.Cur), nil
}

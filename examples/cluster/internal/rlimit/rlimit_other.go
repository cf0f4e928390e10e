//go:build !unix

// Package rlimit raises the open-file limit, which bounds how many
// connections a process can hold.
package rlimit

// RaiseNoFile does nothing where there is no RLIMIT_NOFILE.
func RaiseNoFile() (uint64, error) { return 0, nil }

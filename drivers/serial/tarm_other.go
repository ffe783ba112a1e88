//go:build !linux

package serial

import "errors"

// OpenTarm opens a serial port; nvrguard reads serial ports on Linux only.
func OpenTarm(path string, m Mode) (Port, error) {
	return nil, errors.New("serial: serial ports are read on Linux only")
}

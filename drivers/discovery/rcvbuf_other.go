//go:build !linux

package discovery

import "net"

// growReceiveBuffer asks for a receive buffer of size bytes on conn and
// returns size; see the Linux version.
func growReceiveBuffer(conn *net.UDPConn, size int) int {
	if conn.SetReadBuffer(size) != nil {
		return 0
	}
	return size
}

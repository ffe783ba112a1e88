package discovery

import (
	"net"

	"golang.org/x/sys/unix"
)

// growReceiveBuffer asks for a receive buffer of size bytes on conn: a
// sweep of a large segment gets hundreds of answers within milliseconds of
// each probe, more than the kernel's default buffer (net.core.rmem_default,
// about 200 KiB) holds. The kernel caps SO_RCVBUF at net.core.rmem_max; with
// CAP_NET_ADMIN (nvrguard run as root) SO_RCVBUFFORCE goes past it. It
// returns the size granted (the kernel reports twice what is usable).
func growReceiveBuffer(conn *net.UDPConn, size int) int {
	rc, err := conn.SyscallConn()
	if err != nil {
		return 0
	}
	got := 0
	_ = rc.Control(func(fd uintptr) {
		_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, size)
		got, _ = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF)
		if got < 2*size && unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, size) == nil {
			got, _ = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF)
		}
	})
	return got / 2
}

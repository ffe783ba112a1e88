package discovery

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
)

// Interface is one IPv4 interface probes leave from.
type Interface struct {
	Name      string
	Index     int
	Prefix    netip.Prefix // the interface address and its subnet
	Broadcast netip.Addr   // the directed broadcast address of the subnet
	Multicast bool         // the interface can send multicast
}

// ErrNoInterface means no interface was up with an IPv4 address.
var ErrNoInterface = errors.New("discovery: no usable IPv4 interface")

// Interfaces lists the interfaces to probe from: every interface that is up,
// is not a loopback, and has an IPv4 address; or, when names is not empty,
// exactly the named interfaces (an unknown or address-less name is an
// error). An interface with several IPv4 addresses yields one entry each.
func Interfaces(names []string) ([]Interface, error) {
	all, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("discovery: list interfaces: %w", err)
	}
	var out []Interface
	for _, name := range names {
		if !slices.ContainsFunc(all, func(i net.Interface) bool { return i.Name == name }) {
			return nil, fmt.Errorf("discovery: no interface named %q", name)
		}
	}
	for _, ifi := range all {
		if len(names) > 0 && !slices.Contains(names, ifi.Name) {
			continue
		}
		if len(names) == 0 && (ifi.Flags&net.FlagUp == 0 || ifi.Flags&net.FlagLoopback != 0) {
			continue
		}
		addrs, err := ifi.Addrs()
		if err != nil {
			return nil, fmt.Errorf("discovery: addresses of %s: %w", ifi.Name, err)
		}
		n := 0
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			ip, ok := netip.AddrFromSlice(ipn.IP)
			if !ok {
				continue
			}
			ip = ip.Unmap()
			if !ip.Is4() {
				continue
			}
			ones, _ := ipn.Mask.Size()
			pfx := netip.PrefixFrom(ip, ones)
			out = append(out, Interface{
				Name:      ifi.Name,
				Index:     ifi.Index,
				Prefix:    pfx,
				Broadcast: broadcastOf(pfx),
				Multicast: ifi.Flags&net.FlagMulticast != 0,
			})
			n++
		}
		if len(names) > 0 && n == 0 {
			return nil, fmt.Errorf("discovery: interface %q has no IPv4 address", ifi.Name)
		}
	}
	if len(out) == 0 && len(names) == 0 {
		return nil, ErrNoInterface
	}
	return out, nil
}

// broadcastOf is the directed broadcast address of an IPv4 prefix; the zero
// Addr for /31 and /32.
func broadcastOf(p netip.Prefix) netip.Addr {
	if !p.Addr().Is4() || p.Bits() >= 31 {
		return netip.Addr{}
	}
	a := p.Addr().As4()
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	v |= ^uint32(0) >> p.Bits()
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// Hosts lists the host addresses of an IPv4 prefix (network and broadcast
// addresses excluded), at most max of them; it errors on larger prefixes so
// that a typo never turns into a sweep of a /8.
func Hosts(p netip.Prefix, max int) ([]netip.Addr, error) {
	p = p.Masked()
	if !p.Addr().Is4() {
		return nil, fmt.Errorf("discovery: %s is not an IPv4 prefix", p)
	}
	size := 1 << (32 - p.Bits())
	n := size
	if p.Bits() < 31 {
		n -= 2
	}
	if n > max {
		return nil, fmt.Errorf("discovery: %s has %d hosts, more than the limit of %d", p, n, max)
	}
	out := make([]netip.Addr, 0, n)
	a := p.Addr()
	if p.Bits() < 31 {
		a = a.Next()
	}
	for i := 0; i < n; i++ {
		out = append(out, a)
		a = a.Next()
	}
	return out, nil
}

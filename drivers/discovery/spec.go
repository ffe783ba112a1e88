// Package discovery sends UDP discovery probes on every chosen interface and
// collects the replies: the shared engine behind SADP, DHIP, WS-Discovery and
// SSDP. Protocol packages describe themselves with a Spec and stay pure
// (payload builders and parsers); this package owns the sockets.
package discovery

import (
	"net/netip"

	"github.com/nvrguard/nvrguard/drivers/identity"
)

// Spec describes one UDP discovery protocol.
type Spec struct {
	// Name is the source name recorded in identities ("sadp", "dhip", ...).
	Name string
	// Port is the well-known UDP port probes are sent to.
	Port int
	// Groups are the IPv4 multicast groups probes are sent to.
	Groups []netip.Addr
	// Broadcast sends the probes to 255.255.255.255 and to each interface's
	// directed broadcast address as well.
	Broadcast bool
	// Unicast includes the protocol in the unicast sweep of configured
	// CIDRs (cameras on routed VLANs that multicast does not reach).
	Unicast bool
	// ListenGroup also listens on each group at Port during the sweep, for
	// replies and announcements that devices send to the group rather than
	// to the prober.
	ListenGroup bool
	// MaxPerSender, when set, is this protocol's bound on the distinct
	// devices one address may report in one sweep, instead of the
	// Sweeper's (SSDP: a host may run several UPnP root devices).
	MaxPerSender int
	// Probes returns the datagrams of one probe round. It is called once per
	// round so that each round can carry a fresh message id.
	Probes func() [][]byte
	// Parse turns one reply datagram into identities. It must not panic on
	// any input and returns an error for anything that is not a reply of
	// this protocol. from is the sender of the datagram.
	Parse func(from netip.AddrPort, b []byte) ([]identity.Identity, error)
}

// FieldReportedIP is the fact in which SenderAddr keeps the address a reply
// reported when it differs from the address the datagram came from.
const FieldReportedIP = "reported-ip"

// SenderAddr adapts parse to Spec.Parse for protocols whose replies report
// the device's address themselves (SADP, DHIP). Each identity's Addr becomes
// the datagram's source: that is where the device answers from, whatever it
// reports (a factory-fresh camera, or one on another subnet, reports an
// address that is not where it is). A reported address that differs is
// kept as a FieldReportedIP fact. Without a valid source the identities are
// returned as parse gave them.
func SenderAddr(parse func([]byte) ([]identity.Identity, error)) func(netip.AddrPort, []byte) ([]identity.Identity, error) {
	return func(from netip.AddrPort, b []byte) ([]identity.Identity, error) {
		ids, err := parse(b)
		if err != nil {
			return nil, err
		}
		src := from.Addr().Unmap()
		if !src.IsValid() {
			return ids, nil
		}
		for i := range ids {
			if rep := ids[i].Addr; rep.IsValid() && rep != src {
				ids[i].Add(FieldReportedIP, rep.String())
			}
			ids[i].Addr = src
		}
		return ids, nil
	}
}

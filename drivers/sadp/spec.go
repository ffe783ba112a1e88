package sadp

import (
	"net/netip"

	"github.com/nvrguard/nvrguard/drivers/discovery"
	"github.com/nvrguard/nvrguard/drivers/identity"
)

// Spec describes SADP to the discovery engine: one inquiry probe with a
// fresh UUID per round, sent to the group and broadcast on Port.
//
// Its Parse takes the datagram's source address as Identity.Addr: that is
// where the device answers from, whatever it reports (a factory-fresh
// camera reports 192.0.0.64 from any subnet). When the reported
// IPv4Address differs, it is kept as a FieldReportedIP fact. A Probe seen
// on the group is discovery.ErrNotReply.
func Spec() discovery.Spec {
	return discovery.Spec{
		Name:      identity.SourceSADP,
		Port:      Port,
		Groups:    []netip.Addr{Group()},
		Broadcast: true,
		Probes:    func() [][]byte { return [][]byte{Probe(NewUUID())} },
		Parse:     discovery.SenderAddr(Parse),
	}
}

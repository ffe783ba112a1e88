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
		Parse:     parseFrom,
	}
}

// parseFrom adapts Parse to discovery.Spec.Parse.
func parseFrom(from netip.AddrPort, b []byte) ([]identity.Identity, error) {
	ids, err := Parse(b)
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

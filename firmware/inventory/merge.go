// Package inventory merges the identities that sources observed into
// devices (by MAC, then serial, then IP) and turns each device into the
// device record of DESIGN.md with the policy's verdict.
package inventory

import (
	"cmp"
	"net/netip"
	"slices"
	"time"

	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/firmware/policy"
)

// Group is the observations of one device.
type Group struct {
	MAC     string
	Serial  string
	Addrs   []netip.Addr
	Members []identity.Identity
}

func (g *Group) hasAddr(a netip.Addr) bool { return slices.Contains(g.Addrs, a) }

func (g *Group) add(id identity.Identity) {
	g.Members = append(g.Members, id)
	if g.MAC == "" {
		g.MAC = macOf(id)
	}
	if g.Serial == "" {
		g.Serial = id.Get(identity.FieldSerial)
	}
	if id.Addr.IsValid() && !g.hasAddr(id.Addr) {
		g.Addrs = append(g.Addrs, id.Addr)
	}
}

// macOf is the MAC an identity is keyed by: the link-layer one, else one the
// device reported in a field.
func macOf(id identity.Identity) string {
	if m := identity.NormalizeMAC(id.MAC); m != "" {
		return m
	}
	return identity.NormalizeMAC(id.Get(identity.FieldMAC))
}

// Merge groups identities into devices: first by MAC; identities without a
// MAC join the device with the same serial number, else the one device with
// the same IP address; what is left forms devices of its own. Two different
// MACs never merge, whatever else they share (several factory-fresh cameras
// can all report 192.0.0.64).
func Merge(ids []identity.Identity) []*Group {
	var groups []*Group
	byMAC := map[string]*Group{}
	var rest []identity.Identity
	for _, id := range ids {
		mac := macOf(id)
		if mac == "" {
			rest = append(rest, id)
			continue
		}
		g := byMAC[mac]
		if g == nil {
			g = &Group{}
			byMAC[mac] = g
			groups = append(groups, g)
		}
		g.add(id)
	}
	// Serial first, then IP, so that an HTTP banner without a serial still
	// finds the device its ISAPI answer named.
	slices.SortStableFunc(rest, func(a, b identity.Identity) int {
		return cmp.Compare(boolInt(a.Get(identity.FieldSerial) == ""), boolInt(b.Get(identity.FieldSerial) == ""))
	})
	for _, id := range rest {
		var into *Group
		if sn := id.Get(identity.FieldSerial); sn != "" {
			for _, g := range groups {
				if g.Serial == sn {
					into = g
					break
				}
			}
		}
		if into == nil && id.Addr.IsValid() {
			n := 0
			for _, g := range groups {
				if g.hasAddr(id.Addr) {
					if into == nil {
						into = g
					}
					n++
				}
			}
			if n > 1 {
				// Ambiguous: the address is claimed by several MACs. Prefer
				// the device whose link-layer MAC answered at that address.
				for _, g := range groups {
					if g.hasAddr(id.Addr) && linkLayerAt(g, id.Addr) {
						into = g
						break
					}
				}
			}
		}
		if into == nil && id.Port != "" && !id.Addr.IsValid() {
			for _, g := range groups {
				if g.MAC == "" && g.Serial == "" && len(g.Addrs) == 0 && g.Members[0].Source == id.Source && g.Members[0].Port == id.Port {
					into = g
					break
				}
			}
		}
		if into == nil {
			into = &Group{}
			groups = append(groups, into)
		}
		into.add(id)
	}
	return groups
}

func linkLayerAt(g *Group, a netip.Addr) bool {
	for _, m := range g.Members {
		if m.Addr == a && identity.NormalizeMAC(m.MAC) != "" {
			return true
		}
	}
	return false
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// fieldOrder is the order in which sources are trusted for a device's
// model, serial and firmware: vendor protocols and authenticated-grade
// documents first, free text last.
var fieldOrder = []string{
	identity.SourceSADP, identity.SourceDHIP, identity.SourceONVIF, identity.SourceHTTP,
	identity.SourceUPnP, identity.SourceWSD, identity.SourceUSB, identity.SourceConsole,
	identity.SourcePelco, identity.SourceRTSP, identity.SourceSSDP, identity.SourceTLS,
}

func rank(source string) int {
	if i := slices.Index(fieldOrder, source); i >= 0 {
		return i
	}
	return len(fieldOrder)
}

// Record builds the device record of a group with the policy's verdict.
func Record(g *Group, p *policy.Policy) identity.Device {
	res := p.Classify(g.Members)
	members := slices.Clone(g.Members)
	slices.SortStableFunc(members, func(a, b identity.Identity) int { return cmp.Compare(rank(a.Source), rank(b.Source)) })
	d := identity.Device{
		MAC:          g.MAC,
		Manufacturer: res.Manufacturer,
		Brand:        res.Brand,
		Verdict:      res.Verdict,
		Entity:       res.Entity,
		Reasons:      res.Reasons,
	}
	pick := func(field string) string {
		for _, m := range members {
			if v := m.Get(field); v != "" {
				return v
			}
		}
		return ""
	}
	d.Model = pick(identity.FieldModel)
	d.Serial = pick(identity.FieldSerial)
	d.Firmware = pick(identity.FieldFirmware)
	if d.Manufacturer == "" {
		d.Manufacturer = pick(identity.FieldManufacturer)
	}
	if d.Brand == d.Manufacturer {
		d.Brand = ""
	}
	d.IP = bestAddr(g)
	sources := map[string]bool{}
	for _, m := range g.Members {
		sources[m.Source] = true
		if d.Port == "" {
			d.Port = m.Port
		}
		if !m.Seen.IsZero() {
			if d.FirstSeen.IsZero() || m.Seen.Before(d.FirstSeen) {
				d.FirstSeen = m.Seen
			}
			if m.Seen.After(d.LastSeen) {
				d.LastSeen = m.Seen
			}
		}
	}
	for _, r := range res.Reasons {
		if r.Source == identity.SourceOUI {
			sources[identity.SourceOUI] = true
		}
	}
	for s := range sources {
		d.Sources = append(d.Sources, s)
	}
	slices.Sort(d.Sources)
	if d.Reasons == nil {
		d.Reasons = []identity.Reason{}
	}
	d.ID = deviceID(d, g)
	return d
}

// bestAddr is the address most observations agree on, preferring those
// seen at the link layer and in the UDP source of a reply.
func bestAddr(g *Group) string {
	votes := map[netip.Addr]int{}
	for _, m := range g.Members {
		if !m.Addr.IsValid() {
			continue
		}
		w := 1
		if m.Source == identity.SourceARP {
			w = 3
		}
		votes[m.Addr] += w
	}
	var best netip.Addr
	for a, v := range votes {
		if !best.IsValid() || v > votes[best] || (v == votes[best] && a.Less(best)) {
			best = a
		}
	}
	if !best.IsValid() {
		return ""
	}
	return best.String()
}

func deviceID(d identity.Device, g *Group) string {
	switch {
	case d.MAC != "":
		return identity.MACID(d.MAC)
	case d.Serial != "":
		return identity.MakeID("sn", d.Serial)
	case d.IP != "":
		return identity.MakeID("ip", d.IP)
	case d.Port != "":
		return identity.MakeID(g.Members[0].Source, d.Port)
	}
	return identity.MakeID("dev", g.Members[0].Source)
}

// Records merges identities and classifies every device; the result is
// sorted restricted first, then by IP and id.
func Records(ids []identity.Identity, p *policy.Policy) []identity.Device {
	groups := Merge(ids)
	out := make([]identity.Device, 0, len(groups))
	for _, g := range groups {
		out = append(out, Record(g, p))
	}
	slices.SortStableFunc(out, func(a, b identity.Device) int {
		return cmp.Or(cmp.Compare(a.Verdict.Rank(), b.Verdict.Rank()), compareIP(a.IP, b.IP), cmp.Compare(a.ID, b.ID))
	})
	return out
}

func compareIP(a, b string) int {
	x, errx := netip.ParseAddr(a)
	y, erry := netip.ParseAddr(b)
	if errx != nil || erry != nil {
		return cmp.Compare(a, b)
	}
	return x.Compare(y)
}

// Touch sets Seen on identities that lack it.
func Touch(ids []identity.Identity, now time.Time) {
	for i := range ids {
		if ids[i].Seen.IsZero() {
			ids[i].Seen = now
		}
	}
}

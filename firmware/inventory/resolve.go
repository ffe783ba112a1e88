// Package inventory keeps what sources observed of each device and turns
// it into the device record of DESIGN.md with the policy's verdict.
//
// Identity resolution: for an on-link address the neighbour table's MAC
// is the link-layer truth, so every observation of that address belongs
// to one device, whatever MAC its payload reports (kept as reported_mac).
// Different link-layer MACs never merge because their payloads share a MAC,
// UUID, USN or serial (cloned and placeholder identities are common in
// cheap OEM firmware). An address no neighbour entry names is one device;
// a camera in a recorder's channel list is one device per recorder and
// channel; an attached device (serial, USB) joins the one network device
// whose MAC or serial it prints, else is one device per port.
package inventory

import (
	"cmp"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/firmware/policy"
)

// resolver routes one reading's identities to entries.
type resolver struct {
	inv    *Inventory
	ids    []identity.Identity
	obs    map[netip.Addr]string // this reading's neighbour entries: address -> MAC
	moved  map[string]bool       // MACs this reading's neighbour entries name
	linkAt map[netip.Addr]string // every known address -> link MAC
	byAddr map[netip.Addr]*Entry // addr-keyed entries
	// pending is what this reading routed to each entry so far, in order.
	pending map[*Entry][]identity.Identity
	order   []*Entry
	// shared are the addresses at which this reading heard several
	// devices report different MACs (factory-fresh cameras all at
	// 192.0.0.64): there, each reported MAC is a device of its own.
	shared map[netip.Addr]bool
}

func (inv *Inventory) newResolver(ids []identity.Identity) *resolver {
	r := &resolver{inv: inv, ids: ids, obs: map[netip.Addr]string{}, moved: map[string]bool{},
		linkAt: map[netip.Addr]string{}, byAddr: map[netip.Addr]*Entry{}, pending: map[*Entry][]identity.Identity{}}
	for _, e := range inv.devices {
		switch {
		case e.LinkMAC != "" && e.Addr.IsValid():
			r.linkAt[e.Addr] = e.LinkMAC
		case strings.HasPrefix(e.Key, "addr:") && !strings.Contains(e.Key, "/") && e.Addr.IsValid():
			r.byAddr[e.Addr] = e
		}
	}
	reported := map[netip.Addr]string{}
	r.shared = map[netip.Addr]bool{}
	for _, id := range ids {
		if mac := linkMAC(id); mac != "" {
			r.obs[id.Addr] = mac
			r.moved[mac] = true
		}
		if mac := reportedMAC(id); mac != "" && id.Addr.IsValid() && id.Via == nil {
			if m, ok := reported[id.Addr]; ok && m != mac {
				r.shared[id.Addr] = true
			}
			reported[id.Addr] = mac
		}
	}
	return r
}

// linkMAC is the link-layer MAC a neighbour entry gives, or "".
func linkMAC(id identity.Identity) string {
	if id.Source != identity.SourceARP || !id.Addr.IsValid() {
		return ""
	}
	return identity.NormalizeMAC(id.MAC)
}

// reportedMAC is a MAC the device reported about itself, or "".
func reportedMAC(id identity.Identity) string {
	if id.Source == identity.SourceARP {
		return ""
	}
	m := identity.NormalizeMAC(id.MAC)
	if m == "" {
		m = identity.NormalizeMAC(id.Get(identity.FieldMAC))
	}
	if identity.Placeholder(m) {
		return ""
	}
	return m
}

// contradicted returns the devices this reading's neighbour entries
// contradict: another MAC now answers at their address, and theirs is not
// seen elsewhere. An address-keyed device whose address now has a
// neighbour entry becomes that link-layer device (its id is kept).
func (r *resolver) contradicted() []*Entry {
	var out []*Entry
	for _, a := range slices.SortedFunc(maps.Keys(r.obs), netip.Addr.Compare) {
		mac := r.obs[a]
		if old, ok := r.linkAt[a]; ok && old != mac && !r.moved[old] {
			if e := r.inv.devices["link:"+old]; e != nil {
				out = append(out, e)
			}
		}
		r.linkAt[a] = mac
		if e := r.byAddr[a]; e != nil {
			delete(r.byAddr, a)
			if into := r.inv.devices["link:"+mac]; into != nil {
				into.Evidence = append(into.Evidence, e.Evidence...)
				out = append(out, e)
				continue
			}
			r.inv.rekey(e, "link:"+mac)
			e.LinkMAC = mac
		}
	}
	return out
}

// ordered is the reading's identities in the order they are routed:
// neighbour entries, other network answers, channel lists, the rest.
func (r *resolver) ordered() []identity.Identity {
	out := slices.Clone(r.ids)
	slices.SortStableFunc(out, func(a, b identity.Identity) int { return cmp.Compare(routeRank(a), routeRank(b)) })
	return out
}

func routeRank(id identity.Identity) int {
	switch {
	case linkMAC(id) != "":
		return 0
	case id.Addr.IsValid() && id.Via == nil:
		return 1
	case id.Via != nil:
		return 2
	}
	return 3
}

// add routes id and notes it as pending on its entry.
func (r *resolver) add(id identity.Identity) {
	e := r.route(id)
	if _, ok := r.pending[e]; !ok {
		r.order = append(r.order, e)
	}
	r.pending[e] = append(r.pending[e], id)
}

// route finds or makes the entry an identity belongs to.
func (r *resolver) route(id identity.Identity) *Entry {
	if mac := linkMAC(id); mac != "" {
		return r.link(mac, id.Addr)
	}
	if id.Addr.IsValid() && r.shared[id.Addr] && id.Via == nil {
		if mac := reportedMAC(id); mac != "" && mac != r.linkAt[id.Addr] {
			return r.make("addr:"+id.Addr.String()+"/"+mac, id.Addr)
		}
	}
	if id.Addr.IsValid() {
		if mac := r.linkAt[id.Addr]; mac != "" {
			return r.link(mac, id.Addr)
		}
		if id.Via == nil {
			if e := r.byAddr[id.Addr]; e != nil {
				return e
			}
			e := r.make("addr:"+id.Addr.String(), id.Addr)
			r.byAddr[id.Addr] = e
			return e
		}
	}
	if v := id.Via; v != nil {
		return r.make("via:"+v.NVR+"/"+strconv.Itoa(v.Channel), id.Addr)
	}
	if e := r.attachedTo(id); e != nil {
		return e
	}
	if id.Port != "" {
		key := "port:" + id.Source + ":" + id.Port
		if vid := id.Get(identity.FieldUSBVendorID); vid != "" {
			key += ":" + vid + ":" + id.Get(identity.FieldUSBProductID)
		}
		return r.make(key, netip.Addr{})
	}
	var b strings.Builder
	for _, f := range id.Facts {
		b.WriteString(f.Field + "=" + f.Value + "\n")
	}
	return r.make("anon:"+id.Source+":"+identity.ShortHash(b.String()), netip.Addr{})
}

func (r *resolver) link(mac string, a netip.Addr) *Entry {
	e := r.make("link:"+mac, a)
	e.LinkMAC = mac
	r.linkAt[a] = mac
	return e
}

func (r *resolver) make(key string, a netip.Addr) *Entry {
	if e := r.inv.devices[key]; e != nil {
		return e
	}
	e := &Entry{Key: key, Addr: a}
	r.inv.devices[key] = e
	return e
}

// attachedTo is the one network device an attached identity names by the
// MAC or serial it printed; nil when none or several do.
func (r *resolver) attachedTo(id identity.Identity) *Entry {
	if mac := reportedMAC(id); mac != "" {
		if e := r.unique(func(e *Entry) bool { return e.LinkMAC == mac || r.has(e, identity.FieldMAC, mac) }); e != nil {
			return e
		}
	}
	if sn := id.Get(identity.FieldSerial); sn != "" && !identity.Placeholder(sn) {
		return r.unique(func(e *Entry) bool { return r.has(e, identity.FieldSerial, sn) })
	}
	return nil
}

func (r *resolver) unique(match func(*Entry) bool) *Entry {
	var found *Entry
	for _, key := range slices.Sorted(maps.Keys(r.inv.devices)) {
		e := r.inv.devices[key]
		if !match(e) {
			continue
		}
		if found != nil {
			return nil
		}
		found = e
	}
	return found
}

// has reports whether e's evidence, or what this reading routed to it,
// holds field=value (a MAC field compared normalised).
func (r *resolver) has(e *Entry, field, value string) bool {
	ids := slices.Clone(r.pending[e])
	for _, ev := range e.Evidence {
		ids = append(ids, ev.Identity)
	}
	for _, id := range ids {
		if field == identity.FieldMAC {
			if reportedMAC(id) == value {
				return true
			}
			continue
		}
		for _, f := range id.Facts {
			if f.Field == field && f.Value == value {
				return true
			}
		}
	}
	return false
}

// fieldOrder is the order in which sources are trusted for a device's
// model, serial and firmware: vendor protocols and authenticated-grade
// documents first, free text last. A source not listed comes last.
var fieldOrder = []string{
	identity.SourceSADP, identity.SourceDHIP, identity.SourceONVIF, identity.SourceNVR, identity.SourceHTTP,
	identity.SourceUPnP, identity.SourceWSD, identity.SourceUSB, identity.SourceConsole,
	identity.SourcePelco, identity.SourceRTSP, identity.SourceSSDP, identity.SourceTLS,
}

func rank(source string) int {
	if i := slices.Index(fieldOrder, source); i >= 0 {
		return i
	}
	return len(fieldOrder)
}

// record builds the device record of an entry from all its evidence; the
// id, first seen and via's recorder are the inventory's to fill in.
func record(e *Entry, p *policy.Policy) identity.Device {
	members := make([]identity.Identity, 0, len(e.Evidence))
	for _, ev := range e.Evidence {
		members = append(members, ev.Identity)
	}
	res := p.Classify(members)
	d := identity.Device{
		Manufacturer: res.Manufacturer,
		Brand:        res.Brand,
		Verdict:      res.Verdict,
		Entity:       res.Entity,
		Reasons:      res.Reasons,
		Profile:      p.Profile().Name,
	}
	slices.SortStableFunc(members, func(a, b identity.Identity) int { return cmp.Compare(rank(a.Source), rank(b.Source)) })
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
	var reported string
	for _, m := range members {
		if mac := reportedMAC(m); mac != "" && mac != e.LinkMAC {
			reported = mac
			break
		}
	}
	d.MAC = e.LinkMAC
	switch {
	case d.MAC == "":
		d.MAC = reported
	case reported != "":
		d.ReportedMAC = reported
	}
	if e.Addr.IsValid() {
		d.IP = e.Addr.String()
	} else {
		d.IP = bestAddr(members)
	}
	sources := map[string]bool{}
	for _, m := range members {
		sources[m.Source] = true
		if d.Port == "" {
			d.Port = m.Port
		}
		if m.Via != nil && d.Via == nil {
			v := *m.Via
			d.Via = &v
		}
		if m.Seen.After(d.LastSeen) {
			d.LastSeen = m.Seen
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
	return d
}

// bestAddr is the address most observations agree on.
func bestAddr(members []identity.Identity) string {
	votes := map[netip.Addr]int{}
	for _, m := range members {
		if m.Addr.IsValid() {
			votes[m.Addr]++
		}
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

// candidateID is the id a new device is given: its link-layer MAC; for a
// channel camera the MAC or serial the recorder gives, else the recorder
// and channel; otherwise a reported MAC, a serial, the address, the port.
// Placeholder identifiers never name a device.
func (inv *Inventory) candidateID(e *Entry, d identity.Device) string {
	serial := ""
	if !identity.Placeholder(d.Serial) {
		serial = d.Serial
	}
	switch {
	case e.LinkMAC != "":
		return identity.MACID(e.LinkMAC)
	case d.MAC != "":
		return identity.MACID(d.MAC)
	case serial != "":
		return identity.SerialID(serial)
	case d.Via != nil:
		return "nvr-" + inv.recorderID(d.Via.NVR) + "-ch" + strconv.Itoa(d.Via.Channel)
	case d.IP != "":
		return identity.MakeID("ip", d.IP)
	}
	src := "dev"
	if len(e.Evidence) > 0 {
		src = e.Evidence[0].Identity.Source
	}
	if d.Port != "" {
		return identity.MakeID(src, d.Port)
	}
	return identity.MakeID("dev", src)
}

// uniqueID keeps ids from colliding: an id another device holds gets a
// short hash of this device's key.
func (inv *Inventory) uniqueID(e *Entry, id string) string {
	if other := inv.ids[id]; other == nil || other == e {
		return id
	}
	return id + "-" + identity.ShortHash(e.Key)
}

// recorderID is the id of the device record at a recorder's address.
func (inv *Inventory) recorderID(addr string) string {
	if strings.HasPrefix(addr, "mac-") || strings.HasPrefix(addr, "sn-") || strings.HasPrefix(addr, "ip-") {
		return addr // already resolved
	}
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return identity.MakeID("nvr", addr)
	}
	// The link-layer device at that address, else the first by key: the
	// same answer whatever order the map gives.
	var found *Entry
	for _, e := range inv.devices {
		if e.Addr != a || e.via() || e.Device.ID == "" {
			continue
		}
		if found == nil || cmp.Or(cmp.Compare(boolInt(e.LinkMAC == ""), boolInt(found.LinkMAC == "")), cmp.Compare(e.Key, found.Key)) < 0 {
			found = e
		}
	}
	if found != nil {
		return found.Device.ID
	}
	return identity.MakeID("ip", addr)
}

package discovery

import (
	"hash/maphash"
	"log/slog"
	"net/netip"
	"slices"

	"github.com/nvrguard/nvrguard/drivers/identity"
)

// Admission bounds what one sweep takes in, so that a host on the link that
// floods valid, distinct answers (random MACs and serials, thousands a
// second) costs a bounded amount of memory and time and never crowds out
// the real cameras.
//
// A real camera answers each probe once, or a few times (one answer per
// probe destination, per round, per interface), and every answer names the
// same device: per protocol it is one device, two or three for a recorder
// or a multi-homed host. A flooder's answers name a new device each.
const (
	// DefaultMaxPerSender is how many distinct devices one address may
	// report per protocol in one sweep. A sender over it is logged once
	// (Warn, with its address) and the rest of its answers of that
	// protocol are dropped and counted in Stats.Dropped.
	DefaultMaxPerSender = 4
	// DefaultMaxIdentities bounds the identities of one sweep from senders
	// that the sweep did not probe by unicast: 1,000 cameras on one
	// segment answering all four protocols fit twice over. Senders on the
	// unicast list (the operator's --cidr) may fill as many again: a
	// flooder that spoofs source addresses from outside the operator's
	// networks cannot crowd them out.
	DefaultMaxIdentities = 8192
	// maxDatagrams bounds the distinct datagrams one sender may send per
	// protocol in one sweep (a camera sends a handful, each a copy of the
	// same answer, or one per probe it answers).
	maxDatagrams = 64
	// maxSenders bounds the (protocol, address) pairs a sweep keeps track
	// of: a flood from spoofed addresses cannot grow the table without
	// limit.
	maxSenders = 32768
	// maxWarnings is how many senders over their bound are logged one by
	// one per sweep; the rest are summed up in one line.
	maxWarnings = 16
)

type senderKey struct {
	proto string
	addr  netip.Addr
}

// sender is what a sweep knows of one address speaking one protocol.
type sender struct {
	datagrams []uint64 // hashes of the distinct datagrams it sent
	devices   []device // the devices it reported, admitted
	over      bool     // it went over a bound: the rest is dropped
}

type device struct {
	key uint64 // deviceKey of the identity
	idx int    // index in collector.ids
}

// admission applies the bounds to what the readers of one sweep hear. Its
// methods are called with the collector's lock held.
type admission struct {
	seed       maphash.Seed
	senders    map[senderKey]*sender
	listed     map[netip.Addr]bool // the unicast targets
	perSender  func(Spec) int
	maxIDs     int
	log        *slog.Logger
	warned     int
	fullWarned bool
	tableFull  bool
}

func newAdmission(s *Sweeper, log *slog.Logger) *admission {
	a := &admission{
		seed:    maphash.MakeSeed(),
		senders: map[senderKey]*sender{},
		listed:  make(map[netip.Addr]bool, len(s.Unicast)),
		maxIDs:  s.MaxIdentities,
		log:     log,
	}
	if a.maxIDs <= 0 {
		a.maxIDs = DefaultMaxIdentities
	}
	for _, h := range s.Unicast {
		a.listed[h.Unmap()] = true
	}
	def := s.MaxPerSender
	if def <= 0 {
		def = DefaultMaxPerSender
	}
	a.perSender = func(sp Spec) int {
		if sp.MaxPerSender > 0 {
			return sp.MaxPerSender
		}
		return def
	}
	return a
}

// screen decides, before a datagram is parsed, whether it is worth parsing:
// not from a sender already over its bound, not a copy of a datagram the
// sender sent before, not from a new sender once the table is full. It
// returns the sender, or nil when the datagram is not to be parsed; st
// counts the drops.
func (a *admission) screen(spec Spec, addr netip.Addr, b []byte, st *Stats) *sender {
	k := senderKey{spec.Name, addr}
	s := a.senders[k]
	if s == nil {
		if len(a.senders) >= maxSenders {
			st.Dropped++
			if !a.tableFull {
				a.tableFull = true
				a.log.Warn("discovery: answers from too many addresses in one sweep; answers from further addresses are dropped",
					"protocol", spec.Name, "from", addr.String(), "limit", maxSenders)
			}
			return nil
		}
		s = &sender{}
		a.senders[k] = s
	}
	if s.over {
		st.Dropped++
		return nil
	}
	h := maphash.Bytes(a.seed, b)
	if slices.Contains(s.datagrams, h) {
		return nil // a copy: UDP retransmits, and the answer to another probe destination
	}
	if len(s.datagrams) >= maxDatagrams {
		a.overBound(spec, addr, s, st, "distinct datagrams", maxDatagrams)
		st.Dropped++
		return nil
	}
	s.datagrams = append(s.datagrams, h)
	return s
}

// admit adds the identities of one datagram from s to ids: an identity of a
// device s already reported adds its facts to that device's identity; a new
// device is admitted while s is within its bound and the sweep is not
// full. It returns ids.
func (a *admission) admit(spec Spec, addr netip.Addr, s *sender, got, ids []identity.Identity, st *Stats) []identity.Identity {
	for _, id := range got {
		key := a.deviceKey(id)
		if i := slices.IndexFunc(s.devices, func(d device) bool { return d.key == key }); i >= 0 {
			merge(&ids[s.devices[i].idx], id)
			continue
		}
		if s.over {
			st.Dropped++
			continue
		}
		if n := a.perSender(spec); len(s.devices) >= n {
			a.overBound(spec, addr, s, st, "distinct devices", n)
			st.Dropped++
			continue
		}
		limit := a.maxIDs
		if a.listed[addr] {
			limit *= 2
		}
		if len(ids) >= limit {
			st.Dropped++
			st.Overflow++
			if !a.fullWarned {
				a.fullWarned = true
				a.log.Warn("discovery: too many devices in one sweep; further new devices are dropped",
					"protocol", spec.Name, "from", addr.String(), "limit", a.maxIDs)
			}
			continue
		}
		s.devices = append(s.devices, device{key: key, idx: len(ids)})
		ids = append(ids, id)
	}
	return ids
}

// overBound marks s as over its bound, with one Warn line per sender (up to
// maxWarnings a sweep, then one line for all the others).
func (a *admission) overBound(spec Spec, addr netip.Addr, s *sender, st *Stats, what string, bound int) {
	if s.over {
		return
	}
	s.over = true
	st.OverBound++
	switch {
	case a.warned < maxWarnings:
		a.log.Warn("discovery: a sender is over its bound; the rest of its answers this sweep are dropped",
			"protocol", spec.Name, "from", addr.String(), "bound", bound, "of", what)
	case a.warned == maxWarnings:
		a.log.Warn("discovery: more senders over their bound this sweep; not logged one by one", "protocol", spec.Name)
	}
	a.warned++
}

// deviceKey hashes what names the device an identity is of: its MAC, serial
// and UUID, the URL it advertised and its model. Every answer of one real
// device gives the same key; a flooder's random MACs and serials give a new
// key each.
func (a *admission) deviceKey(id identity.Identity) uint64 {
	var h maphash.Hash
	h.SetSeed(a.seed)
	for _, v := range []string{id.MAC, id.Get(identity.FieldMAC), id.Get(identity.FieldSerial),
		id.Get(identity.FieldUUID), id.Get(identity.FieldURL), id.Get(identity.FieldModel)} {
		h.WriteString(v)
		h.WriteByte(0)
	}
	return h.Sum64()
}

// merge adds the facts of from to into (identity.Identity.Add drops
// repeats and caps the number of facts).
func merge(into *identity.Identity, from identity.Identity) {
	if into.MAC == "" {
		into.MAC = from.MAC
	}
	for _, f := range from.Facts {
		into.Add(f.Field, f.Value)
	}
}

package app

import (
	"maps"
	"slices"

	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/firmware/inventory"
)

// observations holds the latest identities of every source: one slot per
// kind of source and key (the network sweep "", the neighbour table
// "neighbours", USB "", one slot per serial port). A slot is replaced by its
// own source only, so the neighbour table between sweeps adds to the last
// sweep's evidence instead of replacing it.
type observations map[inventory.Kind]map[string][]identity.Identity

// set replaces one slot; nil ids empty it.
func (o observations) set(kind inventory.Kind, key string, ids []identity.Identity) {
	if ids == nil {
		delete(o[kind], key)
		return
	}
	if o[kind] == nil {
		o[kind] = map[string][]identity.Identity{}
	}
	o[kind][key] = ids
}

// all returns every slot's identities, in a stable order (kind, then key).
func (o observations) all() []identity.Identity {
	var out []identity.Identity
	for _, kind := range slices.Sorted(maps.Keys(o)) {
		for _, key := range slices.Sorted(maps.Keys(o[kind])) {
			out = append(out, o[kind][key]...)
		}
	}
	return out
}

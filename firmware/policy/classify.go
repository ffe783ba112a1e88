package policy

import (
	"cmp"
	"slices"
	"strings"

	"github.com/nvrguard/nvrguard/drivers/identity"
)

// Result is the policy's verdict on one device, with every reason.
type Result struct {
	Verdict identity.Verdict
	// Entity is the restricted entity, when the verdict is restricted or
	// suspect.
	Entity string
	// Manufacturer is who made the device, after OEM mapping.
	Manufacturer string
	// Brand is what the device calls itself, when it differs.
	Brand   string
	Reasons []identity.Reason
}

// aliasWeight says which fact fields are matched against maker names, and
// how much a match counts. A name in the model field ("AXIS M1014", "HIK 2K
// Camera") is a weaker claim than a manufacturer field.
var aliasWeight = map[string]Weight{
	identity.FieldManufacturer: Strong,
	identity.FieldVendor:       Strong,
	identity.FieldBrand:        Strong,
	identity.FieldName:         Strong,
	identity.FieldTLSOrg:       Strong,
	"tls-issuer-org":           Strong,
	identity.FieldModel:        Weak,
}

// macFields are the fact fields that carry a MAC address worth an OUI look-up.
var macFields = map[string]bool{identity.FieldMAC: true, "uuid-mac": true}

type hit struct {
	maker  *Maker
	root   *Maker
	weight Weight
	alias  bool // a maker name the device reported, not a rule
	reason identity.Reason
}

type tally struct{ proof, strong, oui, weak int }

func (t tally) score() int { return t.proof*1000 + t.strong*50 + t.oui*20 + t.weak }

// Classify weighs the evidence of every observation of one device and
// returns the verdict. Evidence is weighed, not counted: a vendor-only
// protocol or platform tell (proof) decides; a maker name, distinctive model
// or server string (strong) decides unless another maker is named as
// strongly; an OUI alone decides only when nothing contradicts it; weak
// hints and component makers (HiSilicon) give suspect at most.
func (p *Policy) Classify(ids []identity.Identity) Result {
	hits := p.evidence(ids)
	tallies := map[*Maker]*tally{}
	for _, h := range hits {
		t := tallies[h.root]
		if t == nil {
			t = &tally{}
			tallies[h.root] = t
		}
		switch h.weight {
		case Proof:
			t.proof++
		case Strong:
			t.strong++
		case OUI:
			t.oui++
		default:
			t.weak++
		}
	}
	var bestR, bestC *Maker
	var tr, tc tally
	for m, t := range tallies {
		if p.restricted[m.Name] {
			if bestR == nil || t.score() > tr.score() || (t.score() == tr.score() && m.Name < bestR.Name) {
				bestR, tr = m, *t
			}
		} else if bestC == nil || t.score() > tc.score() || (t.score() == tc.score() && m.Name < bestC.Name) {
			bestC, tc = m, *t
		}
	}
	contrary := tc.proof+tc.strong > 0
	res := Result{Verdict: identity.Unknown}
	switch {
	case bestR != nil && tr.proof > 0:
		res.Verdict = identity.Restricted
	case bestR != nil && tr.strong > 0 && !contrary:
		res.Verdict = identity.Restricted
	case bestR != nil && tr.strong > 0:
		res.Verdict = identity.Suspect
	case bestR != nil && tr.oui > 0 && !contrary:
		res.Verdict = identity.Restricted
	case bestR != nil && tr.oui > 0:
		res.Verdict = identity.Suspect
	case bestR != nil && tr.weak > 0 && !contrary:
		res.Verdict = identity.Suspect
	case bestC != nil:
		res.Verdict = identity.Clear
	}
	switch res.Verdict {
	case identity.Restricted, identity.Suspect:
		res.Entity = bestR.Name
		res.Manufacturer = bestR.Name
		res.Brand = p.brandOf(hits, bestR)
	case identity.Clear:
		res.Manufacturer = bestC.Name
		res.Brand = p.brandOf(hits, bestC)
	}
	slices.SortStableFunc(hits, func(a, b hit) int {
		ra, rb := p.restricted[a.root.Name], p.restricted[b.root.Name]
		if ra != rb {
			if ra {
				return -1
			}
			return 1
		}
		return cmp.Compare(weightRank(a.weight), weightRank(b.weight))
	})
	res.Reasons = make([]identity.Reason, 0, len(hits))
	for _, h := range hits {
		res.Reasons = append(res.Reasons, h.reason)
	}
	return res
}

func weightRank(w Weight) int {
	switch w {
	case Proof:
		return 0
	case Strong:
		return 1
	case OUI:
		return 2
	}
	return 3
}

// brandOf names the brand a device shows when it is a brand or OEM of root:
// the one the device itself reported first, else one from a rule or OUI.
func (p *Policy) brandOf(hits []hit, root *Maker) string {
	best, bestAlias := "", false
	for _, h := range hits {
		if h.root != root || h.maker == root {
			continue
		}
		if best == "" || (h.alias && !bestAlias) {
			best, bestAlias = h.maker.Name, h.alias
		}
	}
	return best
}

// evidence evaluates every rule, maker name, OUI and USB id against the
// facts of every observation.
func (p *Policy) evidence(ids []identity.Identity) []hit {
	var hits []hit
	seen := map[identity.Reason]bool{}
	add := func(m *Maker, w Weight, alias bool, r identity.Reason) {
		if seen[r] {
			return
		}
		root, err := p.root(m.Name)
		if err != nil {
			return
		}
		switch m.Relation {
		case RelComponent, RelUnverified:
			w = Weak
		case RelOEM:
			if alias || w == OUI {
				w = Weak
			}
		}
		seen[r] = true
		hits = append(hits, hit{maker: m, root: root, weight: w, alias: alias, reason: r})
	}
	macs := map[string]bool{}
	oui := func(mac string) {
		mac = identity.NormalizeMAC(mac)
		if mac == "" || macs[mac] {
			return
		}
		macs[mac] = true
		if b, ok := p.LookupOUI(mac); ok {
			add(p.makers[b.Maker], OUI, false, identity.Reason{
				Source: identity.SourceOUI, Field: identity.FieldMAC, Value: mac, Rule: "oui/" + b.Prefix,
			})
		}
	}
	for _, id := range ids {
		if id.MAC != "" {
			oui(id.MAC)
		}
		for _, f := range id.Facts {
			for _, r := range p.rules[f.Field] {
				if !r.re.MatchString(f.Value) || (r.and != nil && !hasFact(id, r.And.Field, r.and)) {
					continue
				}
				add(p.makers[r.Maker], r.Weight, false, identity.Reason{Source: id.Source, Field: f.Field, Value: f.Value, Rule: r.ID})
			}
			if w, ok := aliasWeight[f.Field]; ok {
				if m := p.matchAlias(f.Value); m != nil {
					add(m, w, true, identity.Reason{Source: id.Source, Field: f.Field, Value: f.Value, Rule: "maker/" + slug(m.Name)})
				}
			}
			if macFields[f.Field] {
				oui(f.Value)
			}
			if f.Field == identity.FieldUSBVendorID {
				if u, ok := p.LookupUSB(f.Value); ok {
					add(p.makers[u.Maker], Strong, false, identity.Reason{Source: id.Source, Field: f.Field, Value: f.Value, Rule: "usb/" + u.VID})
				}
			}
		}
	}
	return hits
}

func hasFact(id identity.Identity, field string, re interface{ MatchString(string) bool }) bool {
	for _, f := range id.Facts {
		if f.Field == field && re.MatchString(f.Value) {
			return true
		}
	}
	return false
}

// matchAlias finds the maker a reported name refers to: the normalised name
// must equal an alias or start with one followed by a word break. It never
// matches inside a word or in the middle of a name, so "Shanghai Dahua Scale
// Factory" is not Dahua and "Hikari" is not "hik".
func (p *Policy) matchAlias(v string) *Maker {
	words := strings.Fields(normName(v))
	for n := min(len(words), p.maxAlias); n > 0; n-- {
		if m := p.aliases[strings.Join(words[:n], " ")]; m != nil {
			return m
		}
	}
	return nil
}

func slug(s string) string {
	return strings.ReplaceAll(normName(s), " ", "-")
}

// Package policy decides, from the facts that sources observed, whether a
// device was made by a restricted entity. The policy is data: makers and
// their relations (brand, OEM, component), profiles naming the restricted
// makers, rules that turn facts into weighted evidence, the IEEE OUI blocks
// and USB vendor ids. It is embedded and versioned, and a file can extend or
// override it. The package is pure: no I/O beyond reading a policy file.
package policy

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
)

//go:embed data/policy.json data/oui.tsv data/usb.tsv
var embedded embed.FS

// DefaultProfile is the profile used when none is named.
const DefaultProfile = "ndaa889"

// Weight is how much one piece of evidence counts.
type Weight string

// The weights a rule may carry. OUI evidence has its own weight, set by the
// engine: strong enough to decide alone, never enough to outvote contrary
// evidence.
const (
	Proof  Weight = "proof"
	Strong Weight = "strong"
	OUI    Weight = "oui"
	Weak   Weight = "weak"
)

// Relation says how a maker relates to its parent.
type Relation string

// Relations of a maker to its parent.
const (
	// RelBrand is a subsidiary or own brand: the parent made it.
	RelBrand Relation = "brand"
	// RelOEM is a rebrand that may or may not be the parent's hardware: the
	// brand alone is a hint; a platform tell of the parent makes it certain.
	RelOEM Relation = "oem"
	// RelComponent is a component maker (HiSilicon): evidence is capped at
	// suspect.
	RelComponent Relation = "component"
	// RelUnverified is a relation that sources suggest but do not confirm
	// (Nubia and ZTE, "Haikang" and Hikvision): capped at suspect, for a
	// person to review.
	RelUnverified Relation = "unverified"
)

// Maker is one company or brand the policy knows.
type Maker struct {
	Name     string   `json:"name"`
	Aliases  []string `json:"aliases,omitempty"`
	Parent   string   `json:"parent,omitempty"`
	Relation Relation `json:"relation,omitempty"`
}

// Profile names the makers that are restricted under one regime; their
// brands, OEMs and components follow them.
type Profile struct {
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	Restricted  []string `json:"restricted"`
}

// Cond is a second condition of a rule, on another fact of the same
// observation.
type Cond struct {
	Field   string `json:"field"`
	Pattern string `json:"pattern"`
}

// Rule turns a fact whose field is Field and whose value matches Pattern
// (RE2) into evidence for Maker with Weight.
type Rule struct {
	ID      string `json:"id"`
	Field   string `json:"field"`
	Pattern string `json:"pattern"`
	And     *Cond  `json:"and,omitempty"`
	Maker   string `json:"maker"`
	Weight  Weight `json:"weight"`
	Note    string `json:"note,omitempty"`
}

// Data is the policy document: what policy.json and a policy file hold.
type Data struct {
	Version  string    `json:"version"`
	Comment  string    `json:"comment,omitempty"`
	Extends  string    `json:"extends,omitempty"`
	Profile  string    `json:"profile,omitempty"`
	Profiles []Profile `json:"profiles,omitempty"`
	Makers   []Maker   `json:"makers,omitempty"`
	Rules    []Rule    `json:"rules,omitempty"`
	// OUIs and USB ids added by a policy file, in the embedded TSV formats.
	OUIs []OUIBlock `json:"ouis,omitempty"`
	USB  []USBID    `json:"usb,omitempty"`
}

// Policy is a loaded, validated policy with one profile in force.
type Policy struct {
	version      string
	registryDate string
	profile      Profile
	makers       map[string]*Maker
	restricted   map[string]bool // root maker name -> restricted under the profile
	aliases      map[string]*Maker
	maxAlias     int // longest alias, in words
	rules        map[string][]compiled
	nrules       int
	oui          *ouiTable
	usb          map[string]USBID
	profiles     []Profile
}

type compiled struct {
	Rule
	re  *regexp.Regexp
	and *regexp.Regexp
}

// Load returns the embedded policy with the named profile in force. The
// profile is "ndaa889", "uk-nil", another profile of the embedded data, or
// the path of a policy file (see LoadFile).
func Load(profile string) (*Policy, error) {
	if profile == "" {
		profile = DefaultProfile
	}
	base, err := embeddedData()
	if err != nil {
		return nil, err
	}
	if looksLikePath(profile) {
		return LoadFile(profile)
	}
	return build(base, profile)
}

// LoadFile reads a policy file (JSON, the schema of Data) and applies it on
// top of the embedded policy: makers and rules with a known name or id
// replace the embedded ones, others are added; profiles likewise. The
// profile in force is the file's "profile", else the one it "extends",
// else the default.
func LoadFile(path string) (*Policy, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	return LoadOverlay(bytes.NewReader(b))
}

// LoadOverlay is LoadFile for a reader.
func LoadOverlay(r io.Reader) (*Policy, error) {
	over, err := decode(r)
	if err != nil {
		return nil, err
	}
	base, err := embeddedData()
	if err != nil {
		return nil, err
	}
	merged := merge(base, over)
	profile := over.Profile
	if profile == "" {
		profile = over.Extends
	}
	if profile == "" {
		profile = DefaultProfile
	}
	return build(merged, profile)
}

func looksLikePath(s string) bool {
	return strings.ContainsAny(s, "/\\") || strings.HasSuffix(s, ".json")
}

func decode(r io.Reader) (*Data, error) {
	dec := json.NewDecoder(io.LimitReader(r, 8<<20))
	dec.DisallowUnknownFields()
	var d Data
	if err := dec.Decode(&d); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("policy: invalid JSON at byte %d: %v", se.Offset, se)
		}
		return nil, fmt.Errorf("policy: %w", err)
	}
	if dec.More() {
		return nil, errors.New("policy: trailing data after the JSON document")
	}
	return &d, nil
}

func embeddedData() (*Data, error) {
	f, err := embedded.Open("data/policy.json")
	if err != nil {
		return nil, fmt.Errorf("policy: embedded data: %w", err)
	}
	defer f.Close()
	d, err := decode(f)
	if err != nil {
		return nil, fmt.Errorf("embedded %w", err)
	}
	return d, nil
}

func merge(base, over *Data) *Data {
	out := *base
	if over.Version != "" {
		out.Version = base.Version + "+" + over.Version
	}
	out.Profiles = mergeBy(base.Profiles, over.Profiles, func(p Profile) string { return p.Name })
	out.Makers = mergeBy(base.Makers, over.Makers, func(m Maker) string { return m.Name })
	out.Rules = mergeBy(base.Rules, over.Rules, func(r Rule) string { return r.ID })
	out.OUIs = append(slices.Clone(base.OUIs), over.OUIs...)
	out.USB = append(slices.Clone(base.USB), over.USB...)
	return &out
}

func mergeBy[T any](base, over []T, key func(T) string) []T {
	out := slices.Clone(base)
	for _, o := range over {
		i := slices.IndexFunc(out, func(b T) bool { return key(b) == key(o) })
		if i >= 0 {
			out[i] = o
		} else {
			out = append(out, o)
		}
	}
	return out
}

// Check validates a policy file without putting it in force.
func Check(r io.Reader) error {
	_, err := LoadOverlay(r)
	return err
}

func build(d *Data, profileName string) (*Policy, error) {
	p := &Policy{
		version:    d.Version,
		makers:     map[string]*Maker{},
		restricted: map[string]bool{},
		aliases:    map[string]*Maker{},
		rules:      map[string][]compiled{},
		usb:        map[string]USBID{},
		profiles:   d.Profiles,
	}
	if d.Version == "" {
		return nil, errors.New("policy: version is empty")
	}
	var errs []error
	for i := range d.Makers {
		m := &d.Makers[i]
		if m.Name == "" {
			errs = append(errs, fmt.Errorf("policy: maker %d has no name", i+1))
			continue
		}
		if _, dup := p.makers[m.Name]; dup {
			errs = append(errs, fmt.Errorf("policy: maker %q defined twice", m.Name))
		}
		p.makers[m.Name] = m
	}
	for _, m := range p.makers {
		switch m.Relation {
		case "", RelBrand, RelOEM, RelComponent, RelUnverified:
		default:
			errs = append(errs, fmt.Errorf("policy: maker %q: unknown relation %q", m.Name, m.Relation))
		}
		if m.Parent != "" && p.makers[m.Parent] == nil {
			errs = append(errs, fmt.Errorf("policy: maker %q: unknown parent %q", m.Name, m.Parent))
		}
		if (m.Parent == "") != (m.Relation == "") {
			errs = append(errs, fmt.Errorf("policy: maker %q: parent and relation go together", m.Name))
		}
		for _, a := range m.Aliases {
			n := normName(a)
			if n == "" {
				errs = append(errs, fmt.Errorf("policy: maker %q: empty alias", m.Name))
				continue
			}
			if o, dup := p.aliases[n]; dup && o != m {
				errs = append(errs, fmt.Errorf("policy: alias %q names both %q and %q", a, o.Name, m.Name))
			}
			p.aliases[n] = m
			p.maxAlias = max(p.maxAlias, len(strings.Fields(n)))
		}
	}
	for name := range p.makers {
		if _, err := p.root(name); err != nil {
			errs = append(errs, err)
		}
	}
	ids := map[string]bool{}
	for _, r := range d.Rules {
		if ids[r.ID] || r.ID == "" {
			errs = append(errs, fmt.Errorf("policy: rule id %q is empty or used twice", r.ID))
		}
		ids[r.ID] = true
		c := compiled{Rule: r}
		var err error
		if c.re, err = regexp.Compile(r.Pattern); err != nil {
			errs = append(errs, fmt.Errorf("policy: rule %q: %v", r.ID, err))
			continue
		}
		if r.And != nil {
			if c.and, err = regexp.Compile(r.And.Pattern); err != nil {
				errs = append(errs, fmt.Errorf("policy: rule %q: and: %v", r.ID, err))
				continue
			}
		}
		switch {
		case r.Field == "":
			errs = append(errs, fmt.Errorf("policy: rule %q: no field", r.ID))
		case !knownField(r.Field):
			errs = append(errs, fmt.Errorf("policy: rule %q: unknown field %q%s: no source records it, so the rule could never match", r.ID, r.Field, nearField(r.Field)))
		}
		if r.And != nil && !knownField(r.And.Field) {
			errs = append(errs, fmt.Errorf("policy: rule %q: and: unknown field %q%s: no source records it, so the rule could never match", r.ID, r.And.Field, nearField(r.And.Field)))
		}
		if p.makers[r.Maker] == nil {
			errs = append(errs, fmt.Errorf("policy: rule %q: unknown maker %q", r.ID, r.Maker))
		}
		switch r.Weight {
		case Proof, Strong, Weak:
		default:
			errs = append(errs, fmt.Errorf("policy: rule %q: weight must be proof, strong or weak, not %q", r.ID, r.Weight))
		}
		p.rules[r.Field] = append(p.rules[r.Field], c)
		p.nrules++
	}
	// Every profile must name known top-level makers, not only the one in
	// force: a policy file is checked once, and used with any of them.
	var prof *Profile
	profNames := map[string]bool{}
	for i := range d.Profiles {
		pr := &d.Profiles[i]
		if pr.Name == profileName {
			prof = pr
		}
		if pr.Name == "" || profNames[pr.Name] {
			errs = append(errs, fmt.Errorf("policy: profile name %q is empty or used twice", pr.Name))
		}
		profNames[pr.Name] = true
		for _, name := range pr.Restricted {
			m := p.makers[name]
			switch {
			case m == nil:
				errs = append(errs, fmt.Errorf("policy: profile %q: unknown maker %q", pr.Name, name))
			case m.Parent != "":
				errs = append(errs, fmt.Errorf("policy: profile %q: %q is not a top-level maker (its parent is %q)", pr.Name, name, m.Parent))
			}
		}
	}
	if prof == nil {
		names := make([]string, 0, len(d.Profiles))
		for _, pr := range d.Profiles {
			names = append(names, pr.Name)
		}
		errs = append(errs, fmt.Errorf("policy: unknown profile %q (have %s)", profileName, strings.Join(names, ", ")))
	} else {
		p.profile = *prof
		for _, name := range prof.Restricted {
			p.restricted[name] = true
		}
	}
	oui, date, err := loadOUI(d.OUIs, p.makers)
	if err != nil {
		errs = append(errs, err)
	}
	p.oui, p.registryDate = oui, date
	if err := p.loadUSB(d.USB); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return p, nil
}

// root follows the parent chain of a maker to its top-level maker.
func (p *Policy) root(name string) (*Maker, error) {
	m := p.makers[name]
	for i := 0; m != nil && m.Parent != ""; i++ {
		if i > 8 {
			return nil, fmt.Errorf("policy: maker %q: parent chain too long or cyclic", name)
		}
		m = p.makers[m.Parent]
	}
	if m == nil {
		return nil, fmt.Errorf("policy: unknown maker %q", name)
	}
	return m, nil
}

// Version is the policy version: the data version and the IEEE registry
// date of the OUI table, e.g. "2026.11.1+oui.2026-06-06".
func (p *Policy) Version() string {
	if p.registryDate == "" {
		return p.version
	}
	return p.version + "+oui." + p.registryDate
}

// Profile is the profile in force.
func (p *Policy) Profile() Profile { return p.profile }

// normName lower-cases a maker name and turns every run of characters other
// than letters and digits into one space: "Zhejiang Dahua Technology Co.,
// Ltd." becomes "zhejiang dahua technology co ltd".
func normName(s string) string {
	var b strings.Builder
	space := false
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r > 0x7f {
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(r)
			continue
		}
		space = true
	}
	return b.String()
}

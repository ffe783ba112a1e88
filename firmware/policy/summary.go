package policy

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// Summary describes the policy in force, for `nvrguard policy show`. It
// holds no secrets: the policy has none.
type Summary struct {
	Version      string          `json:"version"`
	RegistryDate string          `json:"oui_registry_date"`
	Profile      string          `json:"profile"`
	Description  string          `json:"description,omitempty"`
	Profiles     []string        `json:"profiles"`
	Restricted   []EntitySummary `json:"restricted"`
	Makers       int             `json:"makers"`
	Rules        int             `json:"rules"`
	OUIBlocks    int             `json:"oui_blocks"`
	USBIDs       int             `json:"usb_ids"`
}

// EntitySummary is one restricted entity with what follows it.
type EntitySummary struct {
	Name       string   `json:"name"`
	Brands     []string `json:"brands,omitempty"`
	OEMs       []string `json:"oems,omitempty"`
	Components []string `json:"components,omitempty"`
	OUIBlocks  int      `json:"oui_blocks"`
	USBIDs     []string `json:"usb_ids,omitempty"`
}

// Summary summarises the policy in force.
func (p *Policy) Summary() Summary {
	s := Summary{
		Version:      p.Version(),
		RegistryDate: p.registryDate,
		Profile:      p.profile.Name,
		Description:  p.profile.Description,
		Makers:       len(p.makers),
		Rules:        p.nrules,
		USBIDs:       len(p.usb),
	}
	for _, pr := range p.profiles {
		s.Profiles = append(s.Profiles, pr.Name)
	}
	for _, n := range p.oui.count {
		s.OUIBlocks += n
	}
	for _, name := range p.profile.Restricted {
		e := EntitySummary{Name: name}
		for _, m := range p.makers {
			r, err := p.root(m.Name)
			if err != nil || r.Name != name {
				continue
			}
			e.OUIBlocks += p.oui.count[m.Name]
			switch m.Relation {
			case RelBrand:
				e.Brands = append(e.Brands, m.Name)
			case RelOEM:
				e.OEMs = append(e.OEMs, m.Name)
			case RelComponent:
				e.Components = append(e.Components, m.Name)
			}
			for _, u := range p.usb {
				if u.Maker == m.Name {
					e.USBIDs = append(e.USBIDs, u.VID)
				}
			}
		}
		slices.Sort(e.Brands)
		slices.Sort(e.OEMs)
		slices.Sort(e.Components)
		slices.Sort(e.USBIDs)
		s.Restricted = append(s.Restricted, e)
	}
	return s
}

// WriteText prints the summary for people.
func (s Summary) WriteText(w io.Writer) {
	fmt.Fprintf(w, "policy %s (profile %s)\n", s.Version, s.Profile)
	if s.Description != "" {
		fmt.Fprintf(w, "  %s\n", s.Description)
	}
	fmt.Fprintf(w, "profiles: %s\n", strings.Join(s.Profiles, ", "))
	fmt.Fprintf(w, "%d makers, %d rules, %d OUI blocks (IEEE registry %s), %d USB vendor ids\n",
		s.Makers, s.Rules, s.OUIBlocks, s.RegistryDate, s.USBIDs)
	fmt.Fprintln(w, "restricted:")
	for _, e := range s.Restricted {
		fmt.Fprintf(w, "  %-10s %5d OUI blocks", e.Name, e.OUIBlocks)
		if len(e.USBIDs) > 0 {
			fmt.Fprintf(w, "  USB %s", strings.Join(e.USBIDs, ","))
		}
		fmt.Fprintln(w)
		if len(e.Brands) > 0 {
			fmt.Fprintf(w, "             brands: %s\n", strings.Join(e.Brands, ", "))
		}
		if len(e.OEMs) > 0 {
			fmt.Fprintf(w, "             OEM rebrands (restricted with a platform tell): %s\n", strings.Join(e.OEMs, ", "))
		}
		if len(e.Components) > 0 {
			fmt.Fprintf(w, "             components (suspect at most): %s\n", strings.Join(e.Components, ", "))
		}
	}
}

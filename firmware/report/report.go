// Package report renders the removal report of DESIGN.md ("Register and
// report") from one gateway's state or from every gateway a broker
// retains: HTML (one self-contained page that prints to PDF), CSV (one
// row per device and gateway) and JSON (the same data, for scripts).
//
// Every string that came from a device is data: the HTML escapes it
// (html/template), the CSV defuses spreadsheet formulas, and nothing of it
// becomes a file path or a format string.
package report

import (
	"cmp"
	"encoding/json"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/mqtt"
)

// Gateway is what is known of one gateway: its register, its current
// device records and, from a broker, its status and state summary.
type Gateway struct {
	ID      string
	Status  string        // "online", "offline", or "" when not known (a state dir)
	Summary *mqtt.Summary // nil when not known
	Devices []identity.Device
	// Register is the gateway's removal register.
	Register []mqtt.RegisterEntry
	// AckedAt and AckedBy are the acknowledgement of the current alarm
	// when known from the register file (a broker's state summary only
	// says whether it is acknowledged).
	AckedAt time.Time
	AckedBy string
}

// Input is what a report is made from.
type Input struct {
	Generated time.Time
	Source    string // where the data came from, in words: "state directory /var/lib/nvrguard"
	Gateways  []Gateway
}

// Report is the report's data: what the HTML shows, the CSV lists and
// the JSON holds.
type Report struct {
	Generated time.Time       `json:"generated"`
	Source    string          `json:"source"`
	Totals    Counts          `json:"totals"`
	Gateways  []GatewayReport `json:"gateways"`
	// Progress is the number of restricted devices on the network, and
	// the number removed so far, at each change, every gateway together.
	Progress []Point `json:"progress"`
}

// Counts are the numbers that matter, for one gateway or all.
type Counts struct {
	Gateways          int `json:"gateways,omitempty"`
	GatewaysOffline   int `json:"gateways_offline,omitempty"`
	RestrictedPresent int `json:"restricted_present"`
	RestrictedRemoved int `json:"restricted_removed"`
	SuspectPresent    int `json:"suspect_present"`
	SuspectRemoved    int `json:"suspect_removed"`
	Devices           int `json:"devices"` // every device on the network now
	FailedSources     int `json:"failed_sources"`
}

// add counts one device: restricted or suspect (at its last sighting),
// on the network or removed.
func (c *Counts) add(restricted, suspect, present bool) {
	switch {
	case restricted && present:
		c.RestrictedPresent++
	case restricted:
		c.RestrictedRemoved++
	case suspect && present:
		c.SuspectPresent++
	case suspect:
		c.SuspectRemoved++
	}
	if present {
		c.Devices++
	}
}

// Point is one step of the removal progress.
type Point struct {
	Time    time.Time `json:"time"`
	Present int       `json:"restricted_present"`
	Removed int       `json:"restricted_removed"`
}

// GatewayReport is one gateway's part of the report.
type GatewayReport struct {
	ID     string `json:"id"`
	Status string `json:"status,omitempty"`
	// LastSweep is the end of the last complete sweep; nil when none
	// finished or it is not known (Known says which).
	LastSweep *time.Time `json:"last_sweep"`
	Known     bool       `json:"state_known"` // a state summary was available
	// LastSighting is the latest last_seen of the devices on the
	// network: when no state summary is known, the best sign of when the
	// gateway last looked.
	LastSighting  *time.Time `json:"last_sighting,omitempty"`
	PolicyVersion string     `json:"policy_version,omitempty"`
	LED           string     `json:"led,omitempty"`
	Acknowledged  bool       `json:"acknowledged"`
	AckedAt       time.Time  `json:"acked_at,omitzero"`
	AckedBy       string     `json:"acked_by,omitempty"`
	Counts        Counts     `json:"counts"`
	Sources       []Source   `json:"sources"`
	Devices       []Row      `json:"devices"`
}

// Source is one source's health on a gateway.
type Source struct {
	Name    string     `json:"name"`
	Status  string     `json:"status"`
	Error   string     `json:"error,omitempty"`
	LastOK  *time.Time `json:"last_ok,omitempty"`
	RetryAt *time.Time `json:"retry_at,omitempty"`
}

// Failed reports whether the source failed.
func (s Source) Failed() bool { return s.Status != "ok" && s.Status != "waiting" }

// Row is one device on one gateway: its record and, for a device that
// was ever restricted or suspect, its register entry.
type Row struct {
	Gateway  string          `json:"gateway"`
	Status   string          `json:"status"` // "present" or "removed"
	InReg    bool            `json:"in_register"`
	Device   identity.Device `json:"device"`
	First    time.Time       `json:"first_seen"`
	Last     time.Time       `json:"last_seen"`
	Removed  time.Time       `json:"removed_at,omitzero"`
	AckedAt  time.Time       `json:"acked_at,omitzero"`
	AckedBy  string          `json:"acked_by,omitempty"`
	Presence []mqtt.Interval `json:"presence,omitempty"`
	Evidence []string        `json:"evidence,omitempty"` // the reasons in words
}

// Restricted reports whether the row's device is restricted.
func (r Row) Restricted() bool { return r.Device.Verdict == identity.Restricted }

// Suspect reports whether the row's device is suspect.
func (r Row) Suspect() bool { return r.Device.Verdict == identity.Suspect }

// IsRemoved reports whether the row's device is gone.
func (r Row) IsRemoved() bool { return r.Status == string(mqtt.Removed) }

// Build makes the report's data from the input: gateways by id; on each,
// every device restricted first, present before removed.
func Build(in Input) Report {
	rep := Report{Generated: in.Generated.UTC(), Source: in.Source}
	gws := slices.Clone(in.Gateways)
	slices.SortFunc(gws, func(a, b Gateway) int { return strings.Compare(a.ID, b.ID) })
	for _, g := range gws {
		gr := buildGateway(g)
		rep.Gateways = append(rep.Gateways, gr)
		t := &rep.Totals
		t.Gateways++
		if gr.Status == "offline" {
			t.GatewaysOffline++
		}
		t.FailedSources += gr.Counts.FailedSources
	}
	devs := fleetDevices(rep.Gateways)
	t := &rep.Totals
	for _, d := range devs {
		t.add(d.restricted, d.suspect, d.present)
	}
	rep.Progress = progress(devs, rep.Generated)
	return rep
}

// fleetDevice is one device across the gateways that see it: a camera on
// a LAN two gateways watch is one camera, counted once (as watch shows it
// once). Devices are the same when their ids are global (mac-, sn-);
// other ids (ip-, usb-, nvr-...-chN) are a gateway's own.
type fleetDevice struct {
	restricted, suspect bool // at the last sighting, on any gateway
	present             bool // on the network of any gateway
	presence            []mqtt.Interval
}

func fleetDevices(gws []GatewayReport) []*fleetDevice {
	by := map[string]*fleetDevice{}
	var order []string
	for _, g := range gws {
		for _, r := range g.Devices {
			key := g.ID + "/" + r.Device.ID
			if strings.HasPrefix(r.Device.ID, "mac-") || strings.HasPrefix(r.Device.ID, "sn-") {
				key = r.Device.ID
			}
			d := by[key]
			if d == nil {
				d = &fleetDevice{}
				by[key] = d
				order = append(order, key)
			}
			d.restricted = d.restricted || r.Restricted()
			d.suspect = d.suspect || r.Suspect()
			d.present = d.present || !r.IsRemoved()
			d.presence = append(d.presence, r.Presence...)
		}
	}
	out := make([]*fleetDevice, 0, len(order))
	for _, k := range order {
		d := by[k]
		if d.restricted {
			d.suspect = false
		}
		d.presence = union(d.presence)
		out = append(out, d)
	}
	return out
}

// union merges overlapping presence intervals (an open one, To zero, runs
// to now): a camera two gateways saw at slightly different times was on the
// network while either saw it.
func union(ivs []mqtt.Interval) []mqtt.Interval {
	ivs = slices.DeleteFunc(slices.Clone(ivs), func(iv mqtt.Interval) bool { return iv.From.IsZero() })
	slices.SortFunc(ivs, func(a, b mqtt.Interval) int { return a.From.Compare(b.From) })
	var out []mqtt.Interval
	for _, iv := range ivs {
		if n := len(out); n > 0 && (out[n-1].To.IsZero() || !iv.From.After(out[n-1].To)) {
			if !out[n-1].To.IsZero() && (iv.To.IsZero() || iv.To.After(out[n-1].To)) {
				out[n-1].To = iv.To
			}
			continue
		}
		out = append(out, iv)
	}
	return out
}

func buildGateway(g Gateway) GatewayReport {
	gr := GatewayReport{ID: g.ID, Status: g.Status, AckedAt: g.AckedAt.UTC(), AckedBy: g.AckedBy, Acknowledged: !g.AckedAt.IsZero()}
	if s := g.Summary; s != nil {
		gr.Known = true
		gr.LastSweep, gr.PolicyVersion, gr.LED = s.LastScan, s.PolicyVersion, s.LED
		gr.Acknowledged = gr.Acknowledged || s.Acknowledged
		for _, name := range slices.Sorted(maps.Keys(s.Sources)) {
			h := s.Sources[name]
			src := Source{Name: name, Status: h.Status, Error: h.Error, LastOK: h.LastOK, RetryAt: h.RetryAt}
			gr.Sources = append(gr.Sources, src)
			if src.Failed() {
				gr.Counts.FailedSources++
			}
		}
	}
	current := map[string]identity.Device{}
	for _, d := range g.Devices {
		current[d.ID] = d
	}
	inReg := map[string]bool{}
	for _, e := range g.Register {
		inReg[e.ID] = true
		d := e.Device
		if cur, ok := current[e.ID]; ok && e.Status == mqtt.Present {
			d = cur // the live record is the fresher one
		}
		last := e.LastSeen
		if d.LastSeen.After(last) {
			last = d.LastSeen
		}
		gr.Devices = append(gr.Devices, Row{Gateway: g.ID, Status: string(e.Status), InReg: true, Device: d,
			First: e.FirstSeen, Last: last, Removed: e.RemovedAt, AckedAt: e.AckedAt, AckedBy: e.AckedBy,
			Presence: e.Presence, Evidence: Evidence(d)})
	}
	for _, d := range g.Devices {
		if inReg[d.ID] {
			continue
		}
		r := Row{Gateway: g.ID, Status: string(mqtt.Present), Device: d, First: d.FirstSeen, Last: d.LastSeen}
		if d.Verdict == identity.Restricted || d.Verdict == identity.Suspect {
			r.Evidence = Evidence(d)
			r.Presence = []mqtt.Interval{{From: d.FirstSeen}}
		}
		gr.Devices = append(gr.Devices, r)
	}
	for _, r := range gr.Devices {
		gr.Counts.add(r.Restricted(), r.Suspect(), !r.IsRemoved())
		if !r.IsRemoved() && !r.Last.IsZero() && (gr.LastSighting == nil || r.Last.After(*gr.LastSighting)) {
			l := r.Last.UTC()
			gr.LastSighting = &l
		}
	}
	slices.SortFunc(gr.Devices, func(a, b Row) int {
		return cmp.Or(a.Device.Verdict.Rank()-b.Device.Verdict.Rank(), cmp.Compare(a.Status, b.Status),
			strings.Compare(a.Device.ID, b.Device.ID))
	})
	return gr
}

// progress steps through every presence interval of the devices
// restricted at their last sighting, each device once across gateways.
func progress(devs []*fleetDevice, now time.Time) []Point {
	type step struct {
		at      time.Time
		present int
		removed int
	}
	var steps []step
	for _, d := range devs {
		if !d.restricted {
			continue
		}
		for i, iv := range d.presence {
			steps = append(steps, step{iv.From, 1, 0})
			if i > 0 {
				steps = append(steps, step{iv.From, 0, -1}) // back: no longer removed
			}
			if !iv.To.IsZero() {
				steps = append(steps, step{iv.To, -1, 1})
			}
		}
	}
	slices.SortStableFunc(steps, func(a, b step) int { return a.at.Compare(b.at) })
	var pts []Point
	p := Point{}
	for i, s := range steps {
		p.Present += s.present
		p.Removed += s.removed
		if i+1 < len(steps) && steps[i+1].at.Equal(s.at) {
			continue
		}
		p.Time = s.at.UTC()
		pts = append(pts, p)
	}
	if len(pts) > 0 && now.After(pts[len(pts)-1].Time) {
		last := pts[len(pts)-1]
		last.Time = now
		pts = append(pts, last)
	}
	return pts
}

// JSON writes the report's data as indented JSON.
func JSON(w io.Writer, rep Report) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/nvrguard/nvrguard/drivers/identity"
)

//go:embed report.html.tmpl
var pageText string

// page is parsed once, when the first report is written (not at the start
// of every nvrguard process: the daemon never writes one); html/template
// escapes every value by its context.
var page = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("report").Funcs(template.FuncMap{
		"when":   when,
		"ago":    ago,
		"plural": plural,
		"clean":  identity.Clean,
		"dash": func(s string) string {
			if s = identity.Clean(s); s == "" {
				return "—"
			}
			return s
		},
		"title": deviceTitle,
		"stale": func(now time.Time, t *time.Time) bool { return t != nil && now.Sub(*t) > 24*time.Hour },
	}).Parse(pageText))
})

// view is what the template renders.
type view struct {
	Report
	Chart    chart
	Headline string
}

// HTML writes the report as one self-contained HTML page: inline CSS, an
// inline SVG chart, no script and nothing fetched from the network. It
// prints cleanly to PDF.
func HTML(w io.Writer, rep Report) error {
	v := view{Report: rep, Chart: makeChart(rep.Progress), Headline: headline(rep)}
	if err := page().Execute(w, v); err != nil {
		return fmt.Errorf("report: html: %w", err)
	}
	return nil
}

// headline is the report's first sentence: the numbers that matter.
func headline(rep Report) string {
	t := rep.Totals
	var b strings.Builder
	switch {
	case t.RestrictedPresent == 0 && t.RestrictedRemoved == 0:
		b.WriteString("No restricted device has been found.")
	case t.RestrictedPresent == 0 && t.RestrictedRemoved == 1:
		b.WriteString("The restricted device found has been removed.")
	case t.RestrictedPresent == 0:
		fmt.Fprintf(&b, "All %d restricted devices found have been removed.", t.RestrictedRemoved)
	default:
		verb := "are"
		if t.RestrictedPresent == 1 {
			verb = "is"
		}
		fmt.Fprintf(&b, "%s %s still on the network", plural(t.RestrictedPresent, "restricted device"), verb)
		if t.Gateways > 1 {
			n := 0
			for _, g := range rep.Gateways {
				if g.Counts.RestrictedPresent > 0 {
					n++
				}
			}
			fmt.Fprintf(&b, " at %d of %d gateways", n, t.Gateways)
		}
		b.WriteString(".")
		if t.RestrictedRemoved > 0 {
			fmt.Fprintf(&b, " %d removed so far.", t.RestrictedRemoved)
		}
	}
	if t.SuspectPresent > 0 {
		fmt.Fprintf(&b, " %s to review.", plural(t.SuspectPresent, "suspect device"))
	}
	return b.String()
}

// plural is "1 thing" or "n things".
func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// timeOf is the time a template value holds (a time.Time or a *time.Time);
// zero for nil or anything else.
func timeOf(v any) time.Time {
	switch x := v.(type) {
	case time.Time:
		return x
	case *time.Time:
		if x != nil {
			return *x
		}
	}
	return time.Time{}
}

// when formats a time for people: "27 Nov 2026 10:05 UTC"; "—" when zero.
func when(v any) string {
	t := timeOf(v)
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2 Jan 2006 15:04 UTC")
}

// ago says how long before now t was, roughly: "3 hours ago".
func ago(now time.Time, v any) string {
	t := timeOf(v)
	if t.IsZero() {
		return ""
	}
	d := now.Sub(t)
	switch {
	case d < 0:
		return ""
	case d < 2*time.Minute:
		return "just now"
	case d < 2*time.Hour:
		return fmt.Sprintf("%d minutes ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d hours ago", int(d.Hours()))
	}
	return fmt.Sprintf("%d days ago", int(d.Hours()/24))
}

// deviceTitle names a device for a heading: maker and model, else what
// is known.
func deviceTitle(d identity.Device) string {
	var parts []string
	for _, s := range []string{d.Manufacturer, d.Model} {
		if s = identity.Clean(s); s != "" {
			parts = append(parts, s)
		}
	}
	if len(parts) == 0 {
		if b := identity.Clean(d.Brand); b != "" {
			parts = append(parts, b)
		}
		parts = append(parts, "device "+d.ID)
	}
	return strings.Join(parts, " ")
}

// chart is the removal progress as SVG geometry.
type chart struct {
	Empty                    bool
	W, H                     int
	Left, Right, Top, Bottom int
	Present, Removed         string // step paths
	PresentArea              string
	YTicks, XTicks           []tick
	LastPresent, LastRemoved int
	LastX, LastYP, LastYR    int
	LabelYP, LabelYR         int // the end labels, kept apart
}

type tick struct {
	X, Y   int
	Label  string
	Anchor string // text-anchor: start, middle, end
}

// makeChart draws the progress as two step lines: restricted devices on
// the network (red, filled) and removed so far (green).
func makeChart(pts []Point) chart {
	c := chart{W: 760, H: 240, Left: 44, Right: 744, Top: 30, Bottom: 204} // room above the top line for its end label
	if len(pts) == 0 {
		c.Empty = true
		return c
	}
	t0, t1 := pts[0].Time, pts[len(pts)-1].Time
	if !t1.After(t0) {
		t1 = t0.Add(time.Hour)
	}
	top := 1
	for _, p := range pts {
		top = max(top, p.Present, p.Removed)
	}
	step := max(1, (top+3)/4)
	top = (top + step - 1) / step * step
	x := func(t time.Time) int {
		return c.Left + int(float64(c.Right-c.Left)*float64(t.Sub(t0))/float64(t1.Sub(t0)))
	}
	y := func(n int) int { return c.Bottom - (c.Bottom-c.Top)*n/top }
	var pp, pr strings.Builder
	for i, p := range pts {
		px := x(p.Time)
		if i == 0 {
			fmt.Fprintf(&pp, "M%d %d", px, y(p.Present))
			fmt.Fprintf(&pr, "M%d %d", px, y(p.Removed))
			continue
		}
		fmt.Fprintf(&pp, " H%d V%d", px, y(p.Present))
		fmt.Fprintf(&pr, " H%d V%d", px, y(p.Removed))
	}
	c.Present, c.Removed = pp.String(), pr.String()
	c.PresentArea = fmt.Sprintf("%s V%d H%d Z", c.Present, c.Bottom, x(t0))
	for n := 0; n <= top; n += step {
		c.YTicks = append(c.YTicks, tick{X: c.Left - 8, Y: y(n), Label: fmt.Sprint(n)})
	}
	for _, tk := range timeTicks(t0, t1) {
		c.XTicks = append(c.XTicks, tick{X: x(tk.at), Y: c.Bottom + 20, Label: tk.label, Anchor: "middle"})
	}
	if n := len(c.XTicks); n > 0 {
		if c.XTicks[0].X-c.Left < 40 {
			c.XTicks[0].Anchor = "start"
		}
		if c.Right-c.XTicks[n-1].X < 40 {
			c.XTicks[n-1].Anchor = "end"
		}
	}
	last := pts[len(pts)-1]
	c.LastPresent, c.LastRemoved = last.Present, last.Removed
	c.LastX, c.LastYP, c.LastYR = x(last.Time), y(last.Present), y(last.Removed)
	// The end labels sit above their line's end, the lower one below
	// when they would meet.
	c.LabelYP, c.LabelYR = c.LastYP-9, c.LastYR-9
	if d := c.LabelYR - c.LabelYP; d > -16 && d < 16 {
		if c.LastYR >= c.LastYP {
			c.LabelYR = c.LabelYP + 20
		} else {
			c.LabelYP = c.LabelYR + 20
		}
	}
	return c
}

type timeTick struct {
	at    time.Time
	label string
}

// timeTicks are at most 7 round times between t0 and t1: midnights (every
// day, or every few days) for a span of days, whole hours for a shorter
// one.
func timeTicks(t0, t1 time.Time) []timeTick {
	t0, t1 = t0.UTC(), t1.UTC()
	span := t1.Sub(t0)
	every, layout := time.Hour, "15:04"
	switch {
	case span >= 36*time.Hour:
		every, layout = 24*time.Hour, "2 Jan"
	case span >= 12*time.Hour:
		every = 3 * time.Hour
	}
	for span/every > 6 {
		every *= 2
	}
	first := t0.Truncate(every)
	if every >= 24*time.Hour {
		first = time.Date(t0.Year(), t0.Month(), t0.Day(), 0, 0, 0, 0, time.UTC)
	}
	if first.Before(t0) {
		first = first.Add(every)
	}
	var out []timeTick
	for t := first; !t.After(t1); t = t.Add(every) {
		out = append(out, timeTick{t, t.Format(layout)})
	}
	return out
}

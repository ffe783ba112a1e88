package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/mqtt"
)

// brokerAccount is how a control-room command (watch, report) logs in to
// a broker: its --username, --password-file and TLS flags.
type brokerAccount struct {
	user, passFile, caFile, certFile, keyFile, serverName *string
}

func addBrokerAccount(fs *flag.FlagSet) brokerAccount {
	return brokerAccount{
		user:       fs.String("username", "", "broker username"),
		passFile:   fs.String("password-file", "", "file holding the broker password"),
		caFile:     fs.String("ca-file", "", "CA certificates (PEM) for ssl:// and wss://"),
		certFile:   fs.String("cert-file", "", "client certificate (PEM)"),
		keyFile:    fs.String("key-file", "", "client key (PEM)"),
		serverName: fs.String("server-name", "", "name to check in the broker's certificate (default the URL's host)"),
	}
}

// config is the client configuration of a command that only reads.
func (a brokerAccount) config(clientID, broker, prefix string) mqtt.Config {
	return mqtt.Config{
		Broker: broker, Prefix: prefix, GatewayID: clientID, Username: *a.user, PasswordFile: *a.passFile,
		TLS:            mqtt.TLSConfig{CAFile: *a.caFile, CertFile: *a.certFile, KeyFile: *a.keyFile, ServerName: *a.serverName},
		ConnectTimeout: 10 * time.Second,
	}
}

func cmdWatch(ctx context.Context, e *env, args []string) (int, error) {
	fs := newFlags("watch", e.stderr)
	broker := fs.String("broker", "", "broker URL: tcp://, ssl://, ws://, wss:// (default the embedded broker, tcp://127.0.0.1:1883)")
	prefix := fs.String("prefix", mqtt.DefaultPrefix, "topic prefix of the gateways")
	account := addBrokerAccount(fs)
	once := fs.Bool("once", false, "print the current findings and exit: 0 nothing restricted, 3 restricted hardware present")
	asJSON := fs.Bool("json", false, "print one JSON object per line")
	settle := fs.Duration("settle", 500*time.Millisecond, "how long the retained findings may take to arrive")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return 0, err
	}
	if len(pos) > 0 {
		return 0, usagef("watch: unexpected argument %q", pos[0])
	}
	if *settle <= 0 || *settle > time.Minute {
		return 0, usagef("watch: --settle must be between 0 and 1m, got %v", *settle)
	}
	cfg := account.config("watch", *broker, *prefix)
	if _, err := cfg.Normalize(); err != nil {
		return 0, usagef("watch: %v", err)
	}
	bridgePahoLogs(e.log)
	w := &watchView{out: e.stdout, json: *asJSON, prefix: cfg.Prefix, gws: map[string]*gatewayView{}}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	err = mqtt.Watch(ctx, cfg, mqtt.WatchOptions{Settle: *settle}, e.log, func(u mqtt.Update) {
		w.handle(u)
		if u.Kind == mqtt.UpdateSettled && *once {
			cancel()
		}
	})
	if err != nil {
		return 0, err
	}
	if *once && w.restricted() {
		return exitRestricted, nil
	}
	return exitOK, nil
}

var pahoLogs sync.Once

// bridgePahoLogs sends paho's package-level loggers to slog, once per
// process. paho's "errors" are connection noise that nvrguard reports
// itself, in one line with context, so they go at info level (seen with
// NVRGUARD_LOG=info), its warnings and debug lines at debug.
func bridgePahoLogs(log *slog.Logger) {
	pahoLogs.Do(func() {
		h := log.With("component", "paho").Handler()
		paho.ERROR = slog.NewLogLogger(h, slog.LevelInfo)
		paho.CRITICAL = slog.NewLogLogger(h, slog.LevelInfo)
		if log.Enabled(context.Background(), slog.LevelDebug) {
			paho.WARN = slog.NewLogLogger(h, slog.LevelDebug)
			paho.DEBUG = slog.NewLogLogger(h, slog.LevelDebug)
		}
	})
}

// gatewayView is what watch knows of one gateway.
type gatewayView struct {
	status  string
	state   *mqtt.Summary
	devices map[string]identity.Device
}

// watchView keeps every gateway's retained findings and prints them:
// once as a table, restricted first, when the retained messages have
// arrived, then one line per change.
type watchView struct {
	out     io.Writer
	json    bool
	prefix  string
	settled bool
	gws     map[string]*gatewayView
}

func (w *watchView) gateway(id string) *gatewayView {
	g := w.gws[id]
	if g == nil {
		g = &gatewayView{devices: map[string]identity.Device{}}
		w.gws[id] = g
	}
	return g
}

func (w *watchView) handle(u mqtt.Update) {
	if u.Kind == mqtt.UpdateSettled {
		if !w.settled {
			w.settled = true
			w.snapshot()
		}
		return
	}
	g := w.gateway(u.Gateway)
	switch u.Kind {
	case mqtt.UpdateStatus:
		g.status = u.Status
	case mqtt.UpdateState:
		g.state = u.State
	case mqtt.UpdateDevice:
		g.devices[u.DeviceID] = *u.Device
	case mqtt.UpdateDeviceGone:
		delete(g.devices, u.DeviceID)
	}
	if w.settled {
		w.line(u)
	}
}

func (w *watchView) restricted() bool {
	for _, g := range w.gws {
		for _, d := range g.devices {
			if d.Verdict == identity.Restricted {
				return true
			}
		}
	}
	return false
}

// gwDevice is one device and the gateways that see it.
type gwDevice struct {
	gws []string // sorted
	d   identity.Device
}

// sharedID reports whether an id names the same device on every gateway
// that sees it: a MAC address or a serial number. Other ids (ip-…, usb-…,
// nvr-…-chN) are local to their gateway.
func sharedID(id string) bool { return strings.HasPrefix(id, "mac-") || strings.HasPrefix(id, "sn-") }

// sorted lists every device once, restricted first, then by gateway and
// id. A device several gateways see is one entry listing them all, with
// the most alarming of their records (the latest of equals).
func (w *watchView) sorted() []gwDevice {
	gws := slices.Sorted(maps.Keys(w.gws))
	var all []gwDevice
	at := map[string]int{}
	for _, gw := range gws {
		devs := w.gws[gw].devices
		for _, id := range slices.Sorted(maps.Keys(devs)) {
			d := devs[id]
			if i, ok := at[d.ID]; ok && sharedID(d.ID) {
				all[i].gws = append(all[i].gws, gw)
				if o := all[i].d; d.Verdict.Rank() < o.Verdict.Rank() || d.Verdict.Rank() == o.Verdict.Rank() && d.LastSeen.After(o.LastSeen) {
					all[i].d = d
				}
				continue
			}
			at[d.ID] = len(all)
			all = append(all, gwDevice{[]string{gw}, d})
		}
	}
	slices.SortStableFunc(all, func(a, b gwDevice) int {
		if c := a.d.Verdict.Rank() - b.d.Verdict.Rank(); c != 0 {
			return c
		}
		if c := strings.Compare(a.gws[0], b.gws[0]); c != 0 {
			return c
		}
		return strings.Compare(a.d.ID, b.d.ID)
	})
	return all
}

func (w *watchView) snapshot() {
	devs := w.sorted()
	gws := make([]string, 0, len(w.gws))
	for id := range w.gws {
		gws = append(gws, id)
	}
	slices.Sort(gws)
	if w.json {
		for _, d := range devs {
			w.jsonLine(map[string]any{"kind": "device", "gateway": d.gws[0], "gateways": d.gws, "device": d.d})
		}
		for _, id := range gws {
			g := w.gws[id]
			w.jsonLine(map[string]any{"kind": "gateway", "gateway": id, "status": g.status, "state": g.state})
		}
		return
	}
	tw := tabwriter.NewWriter(w.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "GATEWAY\tVERDICT\tID\tIP\tMAC\tMANUFACTURER\tMODEL\tWHY")
	for _, d := range devs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", strings.Join(d.gws, ","), show(string(d.d.Verdict)), d.d.ID, show(d.d.IP), show(d.d.MAC),
			show(d.d.Manufacturer), show(d.d.Model), show(why(d.d)))
	}
	tw.Flush()
	for _, id := range gws {
		fmt.Fprintln(w.out, w.gatewayLine(id))
	}
	if len(gws) == 0 {
		fmt.Fprintf(w.out, "no gateway has published under %s/ yet\n", w.prefix)
	}
}

func (w *watchView) gatewayLine(id string) string {
	g := w.gws[id]
	var c mqtt.Counts
	for _, d := range g.devices {
		switch d.Verdict {
		case identity.Restricted:
			c.Restricted++
		case identity.Suspect:
			c.Suspect++
		case identity.Clear:
			c.Clear++
		default:
			c.Unknown++
		}
	}
	s := fmt.Sprintf("%s: %s, %d device(s): %d restricted, %d suspect, %d clear, %d unknown", id, show(g.status),
		len(g.devices), c.Restricted, c.Suspect, c.Clear, c.Unknown)
	if st := g.state; st != nil {
		if st.LastScan != nil {
			s += "; last scan " + st.LastScan.UTC().Format(time.RFC3339)
		}
		if st.LED != "" {
			s += "; LED " + show(st.LED)
		}
		if st.Acknowledged {
			s += "; acknowledged"
		}
		if st.Outbox.Queued > 0 || st.Outbox.Dropped > 0 {
			s += fmt.Sprintf("; outbox %d queued, %d dropped", st.Outbox.Queued, st.Outbox.Dropped)
		}
	}
	return s
}

// line prints one change.
func (w *watchView) line(u mqtt.Update) {
	now := time.Now().UTC().Format(time.RFC3339)
	if w.json {
		m := map[string]any{"time": now, "gateway": u.Gateway}
		switch u.Kind {
		case mqtt.UpdateStatus:
			m["kind"], m["status"] = "status", u.Status
		case mqtt.UpdateState:
			m["kind"], m["state"] = "state", u.State
		case mqtt.UpdateDevice:
			m["kind"], m["device"] = "device", u.Device
		case mqtt.UpdateDeviceGone:
			m["kind"], m["id"] = "gone", u.DeviceID
		case mqtt.UpdateEvent:
			m["kind"], m["event"] = "event", u.Event
		}
		w.jsonLine(m)
		return
	}
	switch u.Kind {
	case mqtt.UpdateStatus:
		fmt.Fprintf(w.out, "%s %s status %s\n", now, u.Gateway, u.Status)
	case mqtt.UpdateState:
		fmt.Fprintf(w.out, "%s %s\n", now, w.gatewayLine(u.Gateway))
	case mqtt.UpdateDevice:
		fmt.Fprintf(w.out, "%s %s %s\n", now, u.Gateway, deviceLine(*u.Device))
	case mqtt.UpdateDeviceGone:
		fmt.Fprintf(w.out, "%s %s gone %s\n", now, u.Gateway, u.DeviceID)
	case mqtt.UpdateEvent:
		fmt.Fprintf(w.out, "%s %s event %d %s: %s\n", now, u.Gateway, u.Event.Seq, u.Event.Type, deviceLine(u.Event.Device))
	}
}

func (w *watchView) jsonLine(v any) {
	enc := json.NewEncoder(w.out)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// deviceLine is one device in a line; restricted ones are flagged "!!".
func deviceLine(d identity.Device) string {
	flag := ""
	if d.Verdict == identity.Restricted {
		flag = "!! "
	}
	return fmt.Sprintf("%s%s %s ip=%s mac=%s %s %s (%s)", flag, show(string(d.Verdict)), d.ID, show(d.IP), show(d.MAC),
		show(d.Manufacturer), show(d.Model), show(why(d)))
}

func why(d identity.Device) string {
	if len(d.Reasons) == 0 {
		return ""
	}
	return d.Reasons[0].Rule
}

// show makes a string from the network safe to print: no control
// characters (terminal escapes), bounded, "-" when empty.
func show(s string) string {
	return dash(identity.Clean(s))
}

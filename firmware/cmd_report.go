package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/firmware/inventory"
	"github.com/nvrguard/nvrguard/firmware/register"
	"github.com/nvrguard/nvrguard/firmware/report"
	"github.com/nvrguard/nvrguard/mqtt"
)

func cmdReport(ctx context.Context, e *env, args []string) (int, error) {
	fs := newFlags("report", e.stderr)
	stateDir := fs.String("state-dir", "", "report on the gateway whose state directory this is (its register.json and inventory.json)")
	gatewayID := fs.String("gateway-id", "", "the gateway's id, with --state-dir (default: the one the register records, else the host name)")
	broker := fs.String("broker", "", "report on every gateway whose findings this broker retains: tcp://, ssl://, ws://, wss://")
	prefix := fs.String("prefix", mqtt.DefaultPrefix, "topic prefix of the gateways, with --broker")
	account := addBrokerAccount(fs)
	settle := fs.Duration("settle", time.Second, "with --broker, how long the retained findings may take to arrive")
	format := fs.String("format", "html", "html, csv or json")
	output := fs.String("output", "", "write the report to FILE (default standard output)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return 0, err
	}
	if len(pos) > 0 {
		return 0, usagef("report: unexpected argument %q", pos[0])
	}
	if (*stateDir == "") == (*broker == "") {
		return 0, usagef("report: give either --state-dir DIR or --broker URL")
	}
	if *format != "html" && *format != "csv" && *format != "json" {
		return 0, usagef("report: --format must be html, csv or json, got %q", *format)
	}
	if *settle <= 0 || *settle > time.Minute {
		return 0, usagef("report: --settle must be between 0 and 1m, got %v", *settle)
	}
	var in report.Input
	if *stateDir != "" {
		in, err = reportFromStateDir(*stateDir, *gatewayID)
	} else {
		cfg := account.config("report", *broker, *prefix)
		if _, err := cfg.Normalize(); err != nil {
			return 0, usagef("report: %v", err)
		}
		bridgePahoLogs(e.log)
		in, err = reportFromBroker(ctx, cfg, *settle, e)
	}
	if err != nil {
		return 0, err
	}
	in.Generated = time.Now().UTC()
	rep := report.Build(in)
	var b bytes.Buffer
	switch *format {
	case "html":
		err = report.HTML(&b, rep)
	case "csv":
		err = report.CSV(&b, rep)
	default:
		err = report.JSON(&b, rep)
	}
	if err != nil {
		return 0, err
	}
	if *output == "" || *output == "-" {
		if _, err := e.stdout.Write(b.Bytes()); err != nil {
			return 0, fmt.Errorf("report: %w", err)
		}
		return exitOK, nil
	}
	if err := inventory.WriteFileAtomic(*output, b.Bytes(), 0o644); err != nil {
		return 0, fmt.Errorf("report: %w", err)
	}
	return exitOK, nil
}

// reportFromStateDir reads one gateway's register and inventory. It only
// reads: a running daemon's files are left as they are.
func reportFromStateDir(dir, gatewayID string) (report.Input, error) {
	in := report.Input{Source: "state directory " + dir}
	g := report.Gateway{ID: gatewayID}
	snap, err := register.Read(filepath.Join(dir, register.FileName))
	haveReg := err == nil
	switch {
	case err == nil:
		g.Register, g.AckedAt, g.AckedBy = snap.Entries, snap.AckedAt, snap.AckedBy
		if g.ID == "" {
			g.ID = snap.Gateway
		}
	case !errors.Is(err, fs.ErrNotExist):
		return in, err
	}
	devs, err := readInventory(filepath.Join(dir, "inventory.json"))
	switch {
	case err == nil:
		g.Devices = devs
	case errors.Is(err, fs.ErrNotExist) && haveReg:
	case errors.Is(err, fs.ErrNotExist):
		return in, fmt.Errorf("report: %s holds neither %s nor inventory.json: not a gateway's state directory, or the gateway has not run yet", dir, register.FileName)
	default:
		return in, err
	}
	if g.ID == "" {
		host, _ := os.Hostname()
		g.ID = mqtt.HostID(host)
	}
	if !mqtt.ValidID(g.ID) {
		return in, usagef("report: gateway id %q: use 1 to 64 of a-z, 0-9 and '-'", g.ID)
	}
	in.Gateways = []report.Gateway{g}
	return in, nil
}

// readInventory reads the device records of an inventory state file (any
// version: each entry holds its record under "device").
func readInventory(path string) ([]identity.Device, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	var st struct {
		Devices []struct {
			Device identity.Device `json:"device"`
		} `json:"devices"`
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("report: inventory %s: %w", path, err)
	}
	out := make([]identity.Device, 0, len(st.Devices))
	for _, d := range st.Devices {
		if d.Device.ID != "" {
			out = append(out, d.Device)
		}
	}
	return out, nil
}

// reportFromBroker reads every gateway's retained findings.
func reportFromBroker(ctx context.Context, cfg mqtt.Config, settle time.Duration, e *env) (report.Input, error) {
	snap, err := mqtt.Snapshot(ctx, cfg, mqtt.SnapshotOptions{Settle: settle}, e.log)
	if err != nil {
		return report.Input{}, err
	}
	src := cfg.Broker
	if u, err := url.Parse(src); err == nil {
		src = u.Redacted()
	}
	in := report.Input{Source: fmt.Sprintf("broker %s, prefix %s", src, cfg.Prefix)}
	for _, id := range slices.Sorted(maps.Keys(snap)) {
		s := snap[id]
		g := report.Gateway{ID: id, Status: s.Status, Summary: s.State}
		for _, k := range slices.Sorted(maps.Keys(s.Devices)) {
			g.Devices = append(g.Devices, s.Devices[k])
		}
		for _, k := range slices.Sorted(maps.Keys(s.Register)) {
			g.Register = append(g.Register, s.Register[k])
		}
		in.Gateways = append(in.Gateways, g)
	}
	if len(in.Gateways) == 0 {
		return in, fmt.Errorf("report: no gateway has published under %s/ on %s", cfg.Prefix, strings.TrimSpace(src))
	}
	return in, nil
}

package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/drivers/serial"
	"github.com/nvrguard/nvrguard/firmware/classify"
	"github.com/nvrguard/nvrguard/firmware/config"
	"github.com/nvrguard/nvrguard/firmware/inventory"
	"github.com/nvrguard/nvrguard/firmware/policy"
	"github.com/nvrguard/nvrguard/firmware/source"
)

func cmdScan(ctx context.Context, e *env, args []string) (int, error) {
	fs := newFlags("scan", e.stderr)
	asJSON := fs.Bool("json", false, "print a JSON array of device records")
	timeout := fs.Duration("timeout", 8*time.Second, "overall deadline of the scan")
	profile := fs.String("profile", policy.DefaultProfile, "policy profile: ndaa889, uk-nil or a policy FILE")
	noBanners := fs.Bool("no-banners", false, "skip HTTP/RTSP/TLS banner enrichment")
	noUSB := fs.Bool("no-usb", false, "skip the USB devices")
	onvifUser := fs.String("onvif-user", "", "ask ONVIF GetDeviceInformation with this account (needs --onvif-password-file)")
	onvifPassFile := fs.String("onvif-password-file", "", "FILE holding the ONVIF account's password")
	nvrUser := fs.String("nvr-user", "", "the account every --nvr recorder is read with (needs --nvr-password-file)")
	nvrPassFile := fs.String("nvr-password-file", "", "FILE holding the --nvr-user account's password")
	var ifaces, cidrs, serials, nvrs multi
	fs.Var(&ifaces, "iface", "probe from this interface only (repeatable)")
	fs.Var(&cidrs, "cidr", "also sweep this CIDR by unicast (repeatable; routed VLANs)")
	fs.Var(&serials, "serial", "listen to this serial port, PORT[:BAUD], for the whole scan (repeatable; listen-only)")
	fs.Var(&nvrs, "nvr", "read the channel list of this recorder, http[s]://HOST[:PORT] (repeatable; read-only)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return 0, err
	}
	if len(pos) > 0 {
		return 0, usagef("scan: unexpected argument %q", pos[0])
	}
	if *timeout <= 0 || *timeout > time.Hour {
		return 0, usagef("scan: --timeout must be between 0 and 1h, got %v", *timeout)
	}
	// The flags make a configuration, and the sources are built from it
	// by the same table the daemon uses.
	cfg := config.Default()
	cfg.Scan.Ifaces, cfg.Scan.Timeout, cfg.Scan.Banners = ifaces, *timeout, !*noBanners
	cfg.USB.Enabled = !*noUSB
	for _, c := range cidrs {
		p, err := netip.ParsePrefix(c)
		if err != nil || !p.Addr().Is4() {
			return 0, usagef("scan: --cidr %q is not an IPv4 CIDR", c)
		}
		cfg.Scan.CIDRs = append(cfg.Scan.CIDRs, p.String())
	}
	for _, s := range serials {
		sp, err := serial.ParseSpec(s)
		if err != nil {
			return 0, usagef("scan: %v", err)
		}
		cfg.Serial.Ports = append(cfg.Serial.Ports, config.SerialPort{Path: sp.Path, Baud: sp.Baud})
	}
	if (*onvifUser == "") != (*onvifPassFile == "") {
		return 0, usagef("scan: --onvif-user and --onvif-password-file go together")
	}
	if *onvifUser != "" {
		pw, err := config.ReadSecret(*onvifPassFile)
		if err != nil {
			return 0, usagef("scan: --onvif-password-file: %v", err)
		}
		cfg.Scan.ONVIF = config.ONVIF{Username: *onvifUser, PasswordFile: *onvifPassFile, Password: pw}
	}
	if (*nvrUser == "") != (*nvrPassFile == "") {
		return 0, usagef("scan: --nvr-user and --nvr-password-file go together")
	}
	if *nvrUser != "" && len(nvrs) == 0 {
		return 0, usagef("scan: --nvr-user needs at least one --nvr URL")
	}
	var nvrPass config.Secret
	if *nvrPassFile != "" {
		if nvrPass, err = config.ReadSecret(*nvrPassFile); err != nil {
			return 0, usagef("scan: --nvr-password-file: %v", err)
		}
	}
	for _, u := range nvrs {
		n := config.NVR{URL: u, Username: *nvrUser, PasswordFile: *nvrPassFile, Password: nvrPass, Vendor: "auto", RetryAfter: 6 * time.Hour}
		if err := config.ValidateNVR(n); err != nil {
			return 0, usagef("scan: --nvr %s: %v", u, err)
		}
		cfg.NVR = append(cfg.NVR, n)
	}
	pol, err := policy.Load(*profile)
	if err != nil {
		return 0, err
	}
	senv := source.Env{Config: func() config.Config { return cfg }, Logger: e.log, Scan: true}
	if isTerminal(e.stderr) {
		senv.Progress = func(msg string) { fmt.Fprintf(e.stderr, "nvrguard: %s\n", msg) }
	}
	ins, err := source.Build(senv)
	if err != nil {
		return 0, fmt.Errorf("scan: %w", err)
	}
	if len(cfg.Serial.Ports) > 0 && senv.Progress != nil {
		senv.Progress(fmt.Sprintf("listening to %d serial port(s) for %v", len(cfg.Serial.Ports), *timeout))
	}
	sctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	results := source.Once(sctx, ins)
	var failed []string
	netFailed := false
	for _, r := range results {
		e.log.Info("source done", "source", r.Name, "identities", len(r.Reading.IDs), "took", r.Took.Round(time.Millisecond).String(), "err", r.Err)
		if r.Err != nil {
			failed = append(failed, r.Name+": "+r.Err.Error())
			netFailed = netFailed || r.Name == "network"
		}
	}
	devs := inventory.Records(source.IDs(results), pol)
	if *asJSON {
		if err := writeJSON(e.stdout, devs); err != nil {
			return 0, err
		}
	} else {
		writeTable(e.stdout, devs)
	}
	for _, f := range failed {
		fmt.Fprintf(e.stderr, "nvrguard: not scanned: %s\n", strings.Join(strings.Fields(f), " "))
	}
	if code := exitFor(devs); code == exitRestricted || !netFailed {
		return code, nil
	}
	// Nothing scanned on the network is never "all clear".
	return exitError, nil
}

func exitFor(devs []identity.Device) int {
	for _, d := range devs {
		if d.Verdict == identity.Restricted {
			return exitRestricted
		}
	}
	return exitOK
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func writeTable(w io.Writer, devs []identity.Device) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERDICT\tIP/PORT\tMAC\tMANUFACTURER\tBRAND\tMODEL\tSOURCES\tWHY")
	counts := map[identity.Verdict]int{}
	for _, d := range devs {
		counts[d.Verdict]++
		why := ""
		if len(d.Reasons) > 0 {
			why = d.Reasons[0].Rule
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.Verdict, dash(cmp.Or(d.IP, d.Port)), dash(d.MAC), dash(d.Manufacturer),
			dash(d.Brand), dash(d.Model), strings.Join(d.Sources, ","), dash(why))
	}
	tw.Flush()
	fmt.Fprintf(w, "%d device(s): %d restricted, %d suspect, %d clear, %d unknown\n", len(devs),
		counts[identity.Restricted], counts[identity.Suspect], counts[identity.Clear], counts[identity.Unknown])
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func cmdClassify(e *env, args []string) (int, error) {
	fs := newFlags("classify", e.stderr)
	proto := fs.String("protocol", "", "input format: "+strings.Join(classify.Protocols(), ", "))
	profile := fs.String("profile", policy.DefaultProfile, "policy profile: ndaa889, uk-nil or a policy FILE")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return 0, err
	}
	if *proto == "" {
		return 0, usagef("classify: --protocol is required (%s)", strings.Join(classify.Protocols(), ", "))
	}
	if !slices.Contains(classify.Protocols(), *proto) {
		return 0, usagef("classify: unknown protocol %q (have %s)", *proto, strings.Join(classify.Protocols(), ", "))
	}
	if len(pos) > 1 {
		return 0, usagef("classify: one input file at most")
	}
	in := e.stdin
	if len(pos) == 1 && pos[0] != "-" {
		f, err := os.Open(pos[0])
		if err != nil {
			return 0, fmt.Errorf("classify: %w", err)
		}
		defer f.Close()
		in = f
	}
	pol, err := policy.Load(*profile)
	if err != nil {
		return 0, err
	}
	b, err := classify.Read(in)
	if err != nil {
		return 0, err
	}
	ids, err := classify.Parse(*proto, b)
	if err != nil {
		return 0, err
	}
	now := time.Now().UTC()
	inventory.Touch(ids, now)
	devs := inventory.Records(ids, pol)
	if len(devs) == 1 {
		err = writeJSON(e.stdout, devs[0])
	} else {
		err = writeJSON(e.stdout, devs)
	}
	if err != nil {
		return 0, err
	}
	return exitFor(devs), nil
}

func cmdPolicy(e *env, args []string) (int, error) {
	if len(args) > 0 && isHelp(args[0]) {
		return 0, subcommandHelp("policy")
	}
	if len(args) == 0 {
		return 0, usageError{msg: "policy: want 'show' or 'check FILE'", cmd: "policy"}
	}
	switch args[0] {
	case "show":
		fs := newFlags("policy show", e.stderr)
		profile := fs.String("profile", policy.DefaultProfile, "policy profile: ndaa889, uk-nil or a policy FILE")
		asJSON := fs.Bool("json", false, "print the summary as JSON")
		pos, err := parseFlags(fs, args[1:])
		if err != nil {
			return 0, err
		}
		if len(pos) > 0 {
			return 0, usagef("policy show: unexpected argument %q", pos[0])
		}
		p, err := policy.Load(*profile)
		if err != nil {
			return 0, err
		}
		s := p.Summary()
		if *asJSON {
			return exitOK, writeJSON(e.stdout, s)
		}
		s.WriteText(e.stdout)
		return exitOK, nil
	case "check":
		if len(args) == 2 && isHelp(args[1]) && args[1] != "help" {
			return 0, helpRequest{newFlags("policy check", nil)}
		}
		if len(args) != 2 {
			return 0, usagef("policy check: want exactly one FILE")
		}
		f, err := os.Open(args[1])
		if err != nil {
			return 0, fmt.Errorf("policy check: %w", err)
		}
		defer f.Close()
		if err := policy.Check(f); err != nil {
			return 0, err
		}
		fmt.Fprintf(e.stdout, "%s: ok\n", args[1])
		return exitOK, nil
	}
	return 0, usagef("policy: unknown subcommand %q", args[0])
}

func cmdVersion(e *env, args []string) (int, error) {
	if len(args) == 1 && isHelp(args[0]) && args[0] != "help" {
		return 0, helpRequest{newFlags("version", nil)}
	}
	if len(args) > 0 {
		return 0, usagef("version takes no arguments")
	}
	pv := "unavailable"
	if p, err := policy.Load(""); err == nil {
		pv = p.Version()
	}
	arch := runtime.GOARCH
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "GOARM" && s.Value != "" {
				arch += " GOARM=" + s.Value
			}
		}
	}
	fmt.Fprintf(e.stdout, "nvrguard %s\ncommit %s\npolicy %s\n%s/%s %s\n", version, commit, pv, runtime.GOOS, arch, runtime.Version())
	return exitOK, nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

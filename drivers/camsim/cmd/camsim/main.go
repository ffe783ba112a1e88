// Command camsim runs simulated cameras (package camsim) until it is
// stopped. Each camera is given as NETNS,PROFILE,MAC,IP: the network
// namespace it lives in (a name under /run/netns, or "-" for the current
// one), one of the profiles (hikvision, dahua, lorex, axis, silent), and
// the MAC and IP address its answers carry (those of the namespace's
// interface). Cameras come from arguments or, with --spec FILE, one per
// line. scripts/camlan.sh builds the namespaces and starts camsim.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nvrguard/nvrguard/drivers/camsim"
	"github.com/nvrguard/nvrguard/drivers/onvif"
)

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	spec := flag.String("spec", "", "file with one camera per line: NETNS,PROFILE,MAC,IP[,flaky=DURATION]")
	list := flag.Bool("profiles", false, "list the profiles and what a classifier should say of each")
	onvifUser := flag.String("onvif-user", "", "the ONVIF account every camera's device service wants (default: answers anyone)")
	onvifPassFile := flag.String("onvif-password-file", "", "FILE holding that account's password")
	flag.Parse()
	var account onvif.Credentials
	if *onvifUser != "" {
		b, err := os.ReadFile(*onvifPassFile)
		if err != nil {
			log.Error("onvif account", "err", err)
			os.Exit(2)
		}
		account = onvif.Credentials{Username: *onvifUser, Password: strings.TrimRight(string(b), "\r\n")}
	}
	if *list {
		names := []string{}
		for n := range camsim.Profiles() {
			names = append(names, n)
		}
		slices.Sort(names)
		for _, n := range names {
			w := camsim.Profiles()[n].Want
			fmt.Printf("%s\t%s\t%s\t%s\n", n, w.Verdict, w.Manufacturer, w.Brand)
		}
		return
	}
	lines := flag.Args()
	if *spec != "" {
		f, err := os.Open(*spec)
		if err != nil {
			log.Error("spec", "err", err)
			os.Exit(2)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
				lines = append(lines, l)
			}
		}
		f.Close()
	}
	if len(lines) == 0 {
		fmt.Fprintln(os.Stderr, "usage: camsim [--spec FILE] [--onvif-user USER --onvif-password-file FILE] [NETNS,PROFILE,MAC,IP[,flaky=DURATION]]...")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	profiles := camsim.Profiles()
	for i, l := range lines {
		cam, ns, err := parse(l, profiles)
		if err != nil {
			log.Error("camera", "line", i+1, "err", err)
			os.Exit(2)
		}
		cam.Logger = log
		cam.ONVIFAccount = account
		if ns == "-" {
			err = cam.Serve(ctx)
		} else {
			err = cam.ServeInNetns(ctx, filepath.Join("/run/netns", ns))
		}
		if err != nil {
			log.Error("camera", "line", i+1, "err", err)
			os.Exit(1)
		}
	}
	fmt.Printf("camsim: %d camera(s) ready\n", len(lines))
	<-ctx.Done()
}

func parse(l string, profiles map[string]camsim.Profile) (*camsim.Camera, string, error) {
	f := strings.Split(l, ",")
	if len(f) != 4 && len(f) != 5 {
		return nil, "", errors.New("want NETNS,PROFILE,MAC,IP[,flaky=DURATION]")
	}
	if f[0] != "-" && (strings.ContainsAny(f[0], "/.") || f[0] == "") {
		return nil, "", fmt.Errorf("bad namespace name %q", f[0])
	}
	p, ok := profiles[f[1]]
	if !ok {
		return nil, "", fmt.Errorf("unknown profile %q", f[1])
	}
	mac, err := net.ParseMAC(f[2])
	if err != nil {
		return nil, "", err
	}
	ip, err := netip.ParseAddr(f[3])
	if err != nil {
		return nil, "", err
	}
	c := &camsim.Camera{Profile: p, MAC: mac, IP: ip}
	if len(f) == 5 {
		if v, ok := strings.CutPrefix(f[4], "flood="); ok {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 || n > 100000 {
				return nil, "", fmt.Errorf("bad option %q: want flood=N (answers per probe, 1-100000)", f[4])
			}
			c.Flood = n
			return c, f[0], nil
		}
		if v, ok := strings.CutPrefix(f[4], "slow="); ok {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return nil, "", fmt.Errorf("bad option %q: want slow=DURATION (e.g. slow=500ms)", f[4])
			}
			c.Slow = d
			return c, f[0], nil
		}
		v, ok := strings.CutPrefix(f[4], "flaky=")
		d, err := time.ParseDuration(v)
		if !ok || err != nil || d <= 0 {
			return nil, "", fmt.Errorf("bad option %q: want flaky=DURATION (e.g. flaky=6s) flood=N or slow=DURATION", f[4])
		}
		c.Flaky = d
	}
	return c, f[0], nil
}

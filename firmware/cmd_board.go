package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"text/tabwriter"

	"github.com/nvrguard/nvrguard/boards"
)

// boardInfo is what `nvrguard board --json` prints.
type boardInfo struct {
	Model    string         `json:"model"`    // the device-tree model, "" when there is none
	Detected bool           `json:"detected"` // a board profile matched the model
	Profile  boards.Profile `json:"profile"`
	Binary   string         `json:"binary"` // what this binary was built for
}

// detectBoard reads the model under root ("/" on a gateway) and picks the
// profile. A machine without a device tree is a generic board; a model file
// that is not a model string is an error.
func detectBoard(root string) (boardInfo, error) {
	sel, err := boards.Select(os.DirFS(root), "")
	if err != nil {
		return boardInfo{}, err
	}
	return boardInfo{Model: sel.Model, Detected: sel.Detected, Profile: sel.Profile, Binary: binaryTarget()}, nil
}

// binaryTarget returns what this binary was built for, e.g. "linux/arm GOARM=6".
func binaryTarget() string {
	s := runtime.GOOS + "/" + runtime.GOARCH
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, kv := range bi.Settings {
			if kv.Key == "GOARM" && kv.Value != "" && runtime.GOARCH == "arm" {
				s += " GOARM=" + kv.Value
			}
		}
	}
	return s
}

func cmdBoard(e *env, args []string) (int, error) {
	fs := newFlags("board", e.stderr)
	asJSON := fs.Bool("json", false, "print the profile as JSON")
	list := fs.Bool("list", false, "print every known profile instead of the detected one")
	root := fs.String("root", "/", "read proc/device-tree/model under this directory (tests, mounted SD images)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return 0, err
	}
	if len(pos) > 0 {
		return 0, usagef("board: unexpected argument %q", pos[0])
	}
	if *list {
		all := boards.All()
		if *asJSON {
			return exitOK, writeJSON(e.stdout, all)
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tBOARD\tLED\tBUILD")
		for _, p := range all {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p.Name, p.Title, orNone(p.LED), p.Build())
		}
		return exitOK, tw.Flush()
	}
	info, err := detectBoard(*root)
	if err != nil {
		return 0, fmt.Errorf("board: %w", err)
	}
	if *asJSON {
		return exitOK, writeJSON(e.stdout, info)
	}
	writeBoard(e, info)
	return exitOK, nil
}

func writeBoard(e *env, info boardInfo) {
	p := info.Profile
	model := info.Model
	switch {
	case model == "":
		model = "none (no /proc/device-tree/model)"
	case !info.Detected:
		model += " (unknown: generic profile)"
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 1, ' ', 0)
	fmt.Fprintf(tw, "model:\t%s\n", model)
	fmt.Fprintf(tw, "profile:\t%s (%s)\n", p.Name, p.Title)
	fmt.Fprintf(tw, "led:\t%s\n", orNone(p.LED))
	fmt.Fprintf(tw, "button:\t%s\n", orNone(p.Button))
	fmt.Fprintf(tw, "serial:\t%s\n", orNone(strings.Join(p.SerialPorts, " ")))
	fmt.Fprintf(tw, "build:\t%s (this binary: %s)\n", p.Build(), info.Binary)
	tw.Flush()
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

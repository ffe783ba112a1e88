// Command nvrguard finds surveillance cameras on the networks and ports of a
// gateway and flags hardware made by restricted vendors, with the evidence
// for every verdict. See README.md and DESIGN.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

// Set at build time with -ldflags "-X main.version=... -X main.commit=...".
var (
	version = "dev"
	commit  = "unknown"
)

// Exit statuses of scan and classify (DESIGN.md).
const (
	exitOK         = 0
	exitError      = 1
	exitUsage      = 2
	exitRestricted = 3
)

// usageError is an error in the command line: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

const usageText = `nvrguard finds surveillance cameras and flags restricted-vendor hardware.

Usage:
  nvrguard scan [--json] [--timeout D] [--iface NAME]... [--cidr CIDR]... [--serial PORT[:BAUD]]...
                [--no-usb] [--profile P]
  nvrguard classify --protocol P [FILE|-]
  nvrguard policy show [--profile P] [--json]
  nvrguard policy check FILE
  nvrguard led test [--led SPEC] [--each D] [--loop] [--button LINE]
  nvrguard board [--json] [--list]
  nvrguard watch [--broker URL] [--prefix P] [--once] [--json]
  nvrguard run [--config FILE] [--broker URL] [--gateway-id ID] [--interval D] [--iface NAME]...
               [--cidr CIDR]... [--serial PORT[:BAUD]]... [--led SPEC] [--state-dir DIR]
  nvrguard version

Protocols for classify: sadp, dhip, wsd, ssdp, upnp, onvif, http, rtsp, tls, mac,
console, pelco, usb.
LED SPEC: gpio:GPIO17[+GPIO27[+GPIO22]][,active-low], sysfs:/sys/class/leds/ACT[,invert]
or console.
Exit status (scan, classify): 0 nothing restricted, 3 restricted hardware found,
1 error, 2 usage.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// env is what a command needs from the process.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	log            *slog.Logger
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr}
	e.log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: logLevel()}))
	if len(args) == 0 {
		fmt.Fprint(stderr, usageText)
		return exitUsage
	}
	var code int
	var err error
	switch args[0] {
	case "scan":
		code, err = cmdScan(ctx, e, args[1:])
	case "classify":
		code, err = cmdClassify(e, args[1:])
	case "policy":
		code, err = cmdPolicy(e, args[1:])
	case "version", "--version", "-version":
		code, err = cmdVersion(e, args[1:])
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stdout, usageText)
		return exitOK
	case "led":
		code, err = cmdLed(ctx, e, args[1:])
	case "board":
		code, err = cmdBoard(e, args[1:])
	case "watch":
		code, err = cmdWatch(ctx, e, args[1:])
	case "run":
		code, err = cmdRun(ctx, e, args[1:])
	case "report":
		code, err = cmdReport(ctx, e, args[1:])
	default:
		err = usagef("unknown command %q", args[0])
	}
	if err != nil {
		var ue usageError
		if errors.As(err, &ue) || errors.Is(err, flag.ErrHelp) {
			if !errors.Is(err, flag.ErrHelp) {
				fmt.Fprintf(stderr, "nvrguard: %v\n", err)
			}
			fmt.Fprint(stderr, "run 'nvrguard help' for usage\n")
			return exitUsage
		}
		fmt.Fprintf(stderr, "nvrguard: %s\n", oneLine(err.Error()))
		if code == exitUsage {
			return exitUsage // a configuration that cannot work: do not restart
		}
		return exitError
	}
	return code
}

// oneLine joins a multi-line error (errors.Join) into one line.
func oneLine(s string) string {
	out := []rune{}
	for _, r := range s {
		if r == '\n' || r == '\r' {
			out = append(out, ';', ' ')
			continue
		}
		out = append(out, r)
	}
	return string(out)
}

func logLevel() slog.Level {
	switch os.Getenv("NVRGUARD_LOG") {
	case "debug":
		return slog.LevelDebug
	case "info":
		return slog.LevelInfo
	case "error":
		return slog.LevelError
	}
	return slog.LevelWarn
}

// newFlags returns a flag set that reports errors instead of exiting.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parseFlags parses args, allowing flags after positional arguments.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err.Error()}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// multi is a repeatable string flag.
type multi []string

func (m *multi) String() string     { return fmt.Sprint(*m) }
func (m *multi) Set(s string) error { *m = append(*m, s); return nil }

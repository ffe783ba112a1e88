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
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nvrguard/nvrguard/firmware/policy"
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

// usageError is an error in the command line: exit status 2. cmd, when
// set, names the command whose --help the hint points to.
type usageError struct{ msg, cmd string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{msg: fmt.Sprintf(format, a...)} }

// subcommandHelp is the help of a command with subcommands (policy, led).
func subcommandHelp(name string) error { return helpRequest{newFlags(name, nil)} }

// isHelp reports whether arg asks for help.
func isHelp(arg string) bool {
	return arg == "-h" || arg == "--help" || arg == "-help" || arg == "help"
}

const usageText = `nvrguard finds surveillance cameras and flags restricted-vendor hardware.

Usage:
  nvrguard scan [--json] [--timeout D] [--iface NAME]... [--cidr CIDR]... [--serial PORT[:BAUD]]... [--no-usb]
                [--profile P] [--no-banners] [--onvif-user USER --onvif-password-file FILE]
                [--nvr URL]... [--nvr-user USER --nvr-password-file FILE]
  nvrguard classify --protocol P [--profile P] [FILE|-]
  nvrguard policy show [--profile P] [--json]
  nvrguard policy check FILE
  nvrguard run [--config FILE] [--broker URL] [--gateway-id ID] [--interval D] [--iface NAME]...
               [--cidr CIDR]... [--serial PORT[:BAUD]]... [--led SPEC] [--state-dir DIR]
  nvrguard watch [--broker URL] [--prefix P] [--once] [--json] [--username U --password-file F]
                 [--ca-file F --cert-file F --key-file F --server-name N]
  nvrguard report [--state-dir DIR | --broker URL [--prefix P]] [--format html|csv|json] [--output FILE]
  nvrguard led test [--led SPEC] [--each D] [--loop] [--button LINE]
  nvrguard board [--json] [--list]
  nvrguard version
  nvrguard help [COMMAND]

Run 'nvrguard COMMAND --help' (or 'nvrguard help COMMAND') for a command's flags and defaults.

Protocols for classify: sadp, dhip, wsd, ssdp, upnp, onvif, http, rtsp, tls, mac,
console, pelco, usb.
LED SPEC: gpio:GPIO17[+GPIO27[+GPIO22]][,active-low], sysfs:/sys/class/leds/ACT[,invert]
or console.
Exit status (scan, classify): 0 nothing restricted, 3 restricted hardware found,
1 error, 2 usage.
`

// commandHelp is each command's synopsis and what it does, for
// 'nvrguard CMD --help'; the key is the flag set's name.
var commandHelp = map[string]struct{ synopsis, about string }{
	"scan": {`nvrguard scan [--json] [--timeout D] [--iface NAME]... [--cidr CIDR]... [--serial PORT[:BAUD]]... [--no-usb]
              [--profile P] [--no-banners] [--onvif-user USER --onvif-password-file FILE]
              [--nvr URL]... [--nvr-user USER --nvr-password-file FILE]`,
		"One sweep of every source; prints a table (or a JSON array of device records).\nExit status: 0 nothing restricted, 3 restricted hardware found, 1 error or nothing scanned, 2 usage."},
	"classify":     {"nvrguard classify --protocol P [--profile P] [FILE|-]", "Classifies one captured answer (FILE, or standard input); prints its device record as JSON.\nExit status: 0 nothing restricted, 3 restricted, 1 error, 2 usage."},
	"policy":       {"nvrguard policy show [--profile P] [--json]\n  nvrguard policy check FILE", "Prints the policy in force, or validates a policy file. 'nvrguard policy show --help' lists its flags."},
	"led":          {"nvrguard led test [--led SPEC] [--each D] [--loop] [--button LINE]", "Tests the status LED. 'nvrguard led test --help' lists its flags."},
	"policy show":  {"nvrguard policy show [--profile P] [--json]", "Prints the policy in force."},
	"policy check": {"nvrguard policy check FILE", "Validates a policy file: unknown keys, fields no source records, unknown makers are errors."},
	"run": {`nvrguard run [--config FILE] [--broker URL] [--gateway-id ID] [--interval D] [--iface NAME]...
             [--cidr CIDR]... [--serial PORT[:BAUD]]... [--led SPEC] [--state-dir DIR]`,
		"The gateway daemon: sweeps on a schedule, drives the LED, publishes over MQTT. Flags override the config file.\nWith no broker it starts an embedded one on 127.0.0.1:1883; when that port is taken it stops and names --broker."},
	"watch": {`nvrguard watch [--broker URL] [--prefix P] [--once] [--json] [--username U --password-file F]
               [--ca-file F --cert-file F --key-file F --server-name N]`,
		"Control-room view: every gateway's findings from MQTT, then one line per change."},
	"report":   {"nvrguard report [--state-dir DIR | --broker URL [--prefix P]] [--format html|csv|json] [--output FILE]", "The removal report of one gateway (its state dir) or of every gateway on a broker."},
	"led test": {"nvrguard led test [--led SPEC] [--each D] [--loop] [--button LINE]", "Cycles every LED pattern, naming each, for a technician checking the wiring."},
	"board":    {"nvrguard board [--json] [--list]", "Prints the detected board profile (or every known one)."},
	"version":  {"nvrguard version", "Prints the version, commit, policy version and GOARCH."},
}

// hiddenFlags are flags for tests, left out of the help.
var hiddenFlags = map[string][]string{"run": {"root"}, "led test": {"root"}}

// commands are the command names, for 'help CMD' and "did you mean".
var commands = []string{"scan", "classify", "policy", "run", "watch", "report", "led", "board", "version", "help"}

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
	if args[0] == "help" && len(args) > 1 {
		// nvrguard help CMD [SUB] is nvrguard CMD [SUB] --help.
		args = append(slices.Clone(args[1:]), "--help")
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
		if len(args) > 1 && args[0] != "help" {
			return run(append([]string{"help"}, args[1:]...), stdin, stdout, stderr)
		}
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
		msg := fmt.Sprintf("unknown command %q", args[0])
		if near := policy.Nearest(args[0], commands); near != "" {
			msg += fmt.Sprintf("; did you mean %q?", near)
		}
		fmt.Fprintf(stderr, "nvrguard: %s\nRun 'nvrguard help' for usage.\n", msg)
		return exitUsage
	}
	if err != nil {
		var hr helpRequest
		if errors.As(err, &hr) {
			writeUsage(stdout, hr.fs)
			return exitOK
		}
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "nvrguard: %s\n", oneLine(err.Error()))
			if ue.cmd != "" {
				fmt.Fprintf(stderr, "Run 'nvrguard %s --help' for usage.\n", ue.cmd)
			} else {
				fmt.Fprint(stderr, "Run 'nvrguard help' for usage.\n")
			}
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

// newFlags returns a flag set that reports errors instead of exiting
// and prints nothing itself: parseFlags turns --help into a helpRequest
// (printed on stdout, exit 0) and a bad flag into one usage error.
func newFlags(name string, _ io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// helpRequest is --help or -h on a command: its usage goes to stdout.
type helpRequest struct{ fs *flag.FlagSet }

func (h helpRequest) Error() string { return "help requested" }

// writeUsage prints a command's synopsis, what it does and its flags as
// --flag, with their defaults, leaving out the hidden ones.
func writeUsage(w io.Writer, fs *flag.FlagSet) {
	h := commandHelp[fs.Name()]
	if h.synopsis == "" {
		h.synopsis = "nvrguard " + fs.Name() + " [flags]"
	}
	fmt.Fprintf(w, "Usage:\n  %s\n", strings.ReplaceAll(h.synopsis, "\n", "\n  "))
	if h.about != "" {
		fmt.Fprintf(w, "\n%s\n", h.about)
	}
	var lines []string
	fs.VisitAll(func(f *flag.Flag) {
		if slices.Contains(hiddenFlags[fs.Name()], f.Name) {
			return
		}
		arg, usage := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if arg != "" {
			line += " " + strings.ToUpper(arg)
		}
		line += "\n        " + usage
		if d := f.DefValue; d != "" && d != "false" && d != "0" && d != "0s" && d != "[]" {
			line += fmt.Sprintf(" (default %s)", d)
		}
		lines = append(lines, line)
	})
	if len(lines) > 0 {
		fmt.Fprintf(w, "\nFlags:\n%s\n", strings.Join(lines, "\n"))
	}
}

var (
	flagUndefined = regexp.MustCompile(`^flag provided but not defined: -+(.*)$`)
	flagNeedsArg  = regexp.MustCompile(`^flag needs an argument: -+(.*)$`)
	flagBadValue  = regexp.MustCompile(`^invalid (?:boolean )?value "(.*)" for (?:flag )?-+([^:]*): (.*)$`)
)

// flagError rewrites an error of package flag as nvrguard writes flags:
// --flag, a "did you mean" for a mistyped one, a hint for a duration
// given without its unit.
func flagError(fs *flag.FlagSet, err error) error {
	msg := err.Error()
	cmd := fs.Name()
	if m := flagUndefined.FindStringSubmatch(msg); m != nil {
		var names []string
		fs.VisitAll(func(f *flag.Flag) {
			if !slices.Contains(hiddenFlags[cmd], f.Name) {
				names = append(names, f.Name)
			}
		})
		msg = fmt.Sprintf("%s: unknown flag --%s", cmd, m[1])
		if near := policy.Nearest(m[1], names); near != "" {
			msg += fmt.Sprintf("; did you mean --%s?", near)
		}
	} else if m := flagNeedsArg.FindStringSubmatch(msg); m != nil {
		msg = fmt.Sprintf("%s: --%s needs a value", cmd, m[1])
	} else if m := flagBadValue.FindStringSubmatch(msg); m != nil {
		msg = fmt.Sprintf("%s: --%s %q: %s", cmd, m[2], m[1], m[3])
		if f := fs.Lookup(m[2]); f != nil {
			if g, ok := f.Value.(flag.Getter); ok {
				if _, isDur := g.Get().(time.Duration); isDur {
					msg = fmt.Sprintf("%s: --%s %q is not a duration", cmd, m[2], m[1])
					if _, err := strconv.ParseFloat(m[1], 64); err == nil {
						msg += fmt.Sprintf(": give a unit, e.g. %ss (or ms, m, h)", m[1])
					} else {
						msg += " (e.g. 500ms, 8s, 5m, 1h)"
					}
				}
			}
		}
	} else {
		msg = cmd + ": " + msg
	}
	return usageError{msg: msg, cmd: cmd}
}

// parseFlags parses args, allowing flags after positional arguments.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, helpRequest{fs}
			}
			return nil, flagError(fs, err)
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

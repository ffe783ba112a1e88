// Package classify parses one captured device answer in a named format
// (DESIGN.md, "classify input formats") into identities, for
// `nvrguard classify`. Anything that is not the named format is an error,
// never a guess.
package classify

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/nvrguard/nvrguard/drivers/banner"
	"github.com/nvrguard/nvrguard/drivers/console"
	"github.com/nvrguard/nvrguard/drivers/dhip"
	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/drivers/onvif"
	"github.com/nvrguard/nvrguard/drivers/pelco"
	"github.com/nvrguard/nvrguard/drivers/sadp"
	"github.com/nvrguard/nvrguard/drivers/ssdp"
	"github.com/nvrguard/nvrguard/drivers/usb"
	"github.com/nvrguard/nvrguard/drivers/wsd"
)

// MaxInput is the largest input classify reads.
const MaxInput = 1 << 20

// ErrUnknownProtocol is returned for a protocol name classify does not take.
var ErrUnknownProtocol = errors.New("classify: unknown protocol")

type parser func([]byte) ([]identity.Identity, error)

var parsers = map[string]parser{
	"sadp":  sadp.Parse,
	"dhip":  dhip.Parse,
	"wsd":   wsd.Parse,
	"ssdp":  ssdp.Parse,
	"upnp":  ssdp.ParseDescription,
	"onvif": onvif.Parse,
	"http":  banner.ParseHTTP,
	"rtsp":  banner.ParseRTSP,
	"tls":   banner.ParseTLS,
	"mac":   parseMAC,
	// Attached devices: serial console text, RS-485 PTZ frames as hex, USB
	// descriptions (lsusb, sysfs attributes).
	"console": console.Parse,
	"pelco":   pelco.Parse,
	"usb":     usb.Parse,
}

// Protocols lists the formats Parse takes, sorted.
func Protocols() []string {
	out := make([]string, 0, len(parsers))
	for p := range parsers {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// Read reads at most MaxInput bytes of input; more is an error.
func Read(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxInput+1))
	if err != nil {
		return nil, fmt.Errorf("classify: read input: %w", err)
	}
	if len(b) > MaxInput {
		return nil, fmt.Errorf("classify: input larger than %d bytes", MaxInput)
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return nil, errors.New("classify: input is empty")
	}
	return b, nil
}

// Parse parses b as the named format.
func Parse(protocol string, b []byte) (ids []identity.Identity, err error) {
	p, ok := parsers[protocol]
	if !ok {
		return nil, fmt.Errorf("%w %q (have %s)", ErrUnknownProtocol, protocol, strings.Join(Protocols(), ", "))
	}
	defer func() {
		// A parser bug must surface as an error, not a crash of the CLI.
		if r := recover(); r != nil {
			ids, err = nil, fmt.Errorf("classify: %s parser failed on this input", protocol)
		}
	}()
	ids, err = p(b)
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("classify: no device in this %s input", protocol)
	}
	return ids, nil
}

func parseMAC(b []byte) ([]identity.Identity, error) {
	s := strings.TrimSpace(string(b))
	if strings.ContainsAny(s, "\n\r") {
		return nil, errors.New("mac: want one MAC address, got several lines")
	}
	mac := identity.NormalizeMAC(s)
	if mac == "" {
		return nil, fmt.Errorf("mac: %q is not a MAC address", identity.Clean(s))
	}
	id := identity.Identity{Source: identity.SourceMAC, MAC: mac}
	id.Add(identity.FieldMAC, mac)
	return []identity.Identity{id}, nil
}

package mqtt

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/nvrguard/nvrguard/drivers/identity"
)

// MaxIDLen is the longest gateway or device id used as a topic level.
const MaxIDLen = 64

// ValidID reports whether s may be a topic level: 1 to 64 of [a-z0-9-].
func ValidID(s string) bool {
	if s == "" || len(s) > MaxIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// SafeID returns id when it is a valid topic level, and otherwise a
// topic-safe id derived from it: "id-", its letters and digits, and 8 hex
// digits of its SHA-256, so that two different ids stay apart. Device ids
// are made topic-safe by the inventory; this is the last line of defence,
// so that no device string ever becomes a topic level.
func SafeID(id string) string {
	if ValidID(id) {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	base := identity.MakeID("id", id)
	if len(base) > MaxIDLen-9 {
		base = strings.TrimRight(base[:MaxIDLen-9], "-")
	}
	return base + "-" + hex.EncodeToString(sum[:4])
}

// HostID makes a host name topic-safe for the default gateway id:
// lower case, every run of other characters one '-', at most 64 bytes,
// "gateway" when nothing is left.
func HostID(host string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(host) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
			if b.Len() >= MaxIDLen {
				break
			}
			continue
		}
		dash = true
	}
	s := strings.TrimRight(b.String(), "-")
	if s == "" {
		return "gateway"
	}
	return s
}

// checkPrefix validates a topic prefix from the configuration: one or
// more levels of [A-Za-z0-9_-], separated by '/'.
func checkPrefix(name, p string) error {
	if len(p) > 128 {
		return fmt.Errorf("mqtt: %s is longer than 128 bytes", name)
	}
	for _, level := range strings.Split(p, "/") {
		if level == "" {
			return fmt.Errorf("mqtt: %s %q has an empty level", name, p)
		}
		for i := 0; i < len(level); i++ {
			c := level[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return fmt.Errorf("mqtt: %s %q: levels may hold only A-Z, a-z, 0-9, '-' and '_'", name, p)
			}
		}
	}
	return nil
}

// topics are the topics of one gateway. Every level comes from the
// configuration (checked) or from a sanitised id.
type topics struct {
	base, status, state, events, cmdScan, cmdAck, devices string
	haPrefix, haStatus, haNode                            string
}

func newTopics(prefix, gateway, haPrefix string) topics {
	base := prefix + "/" + gateway
	return topics{
		base:     base,
		status:   base + "/status",
		state:    base + "/state",
		events:   base + "/events",
		cmdScan:  base + "/cmd/scan",
		cmdAck:   base + "/cmd/ack",
		devices:  base + "/devices/",
		haPrefix: haPrefix,
		haStatus: haPrefix + "/status",
		haNode:   "nvrguard-" + gateway,
	}
}

// haConfigPrefix is where the gateway's discovery configs of a component
// live: <ha prefix>/<component>/<node id>/.
func (t topics) haConfigPrefix(component string) string {
	return t.haPrefix + "/" + component + "/" + t.haNode + "/"
}

// haConfig is the discovery config topic of one entity; object is
// topic-safe ([a-z0-9-]).
func (t topics) haConfig(component, object string) string {
	return t.haConfigPrefix(component) + object + "/config"
}

// device is the retained topic of a device; id must be a SafeID.
func (t topics) device(id string) string { return t.devices + id }

package banner

import (
	"bytes"
	"errors"
	"net/netip"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/nvrguard/nvrguard/drivers/identity"
)

// ParseRTSP reads what an RTSP server said and returns it as one identity
// of source "rtsp". It accepts a single response, a transcript of several
// request/response exchanges (requests are skipped), a header block or a
// lone WWW-Authenticate header line or value, and a lone one-line Server
// value such as "Dahua Rtsp Server". Facts: server, realm, auth-scheme, url
// (Content-Base, whose host also becomes Addr) and the SDP lines that name
// their maker (s=, o=, a=Media_header, a=appversion, a=packetization-supported,
// a=rtppayload-supported, a=tool and a=x-*) as sdp facts.
func ParseRTSP(b []byte) ([]identity.Identity, error) {
	return parseOne(b, identity.SourceRTSP, parseRTSPInto)
}

func isRTSPStart(line string) bool {
	return isStatusLine(line, "RTSP") || isRequestLine(line, "RTSP")
}

func parseRTSPInto(id *identity.Identity, t []byte) error {
	if len(t) == 0 {
		return errors.New("banner: empty input")
	}
	first, _ := nextLine(t, 0)
	switch {
	case isRTSPStart(first):
		return parseRTSPTranscript(id, t)
	case isStatusLine(first, "HTTP"):
		return errors.New("banner: not an RTSP response (an HTTP response)")
	case isRequestLine(first, "HTTP"):
		return errors.New("banner: not an RTSP response (an HTTP request)")
	case bytes.HasPrefix(t, []byte("-----BEGIN")), strings.ContainsRune("<{[", rune(t[0])):
		return errors.New("banner: not an RTSP response")
	case !utf8.Valid(t):
		return errors.New("banner: not an RTSP response (input is not UTF-8 text)")
	}
	if s, ok := singleLine(t); ok && !isHeaderLine(s) {
		if bareChallenge(s) {
			addChallenges(id, s)
			return nil
		}
		if err := fragment(s); err != nil {
			return err
		}
		id.Add(identity.FieldProtocol, TellRTSPFragment)
		id.Add(identity.FieldServer, s)
		return nil
	}
	hs, pos, err := readHeaders(t, 0, false, nil)
	if err != nil || len(hs) == 0 {
		return errors.New("banner: not an RTSP response or header block")
	}
	addRTSPMessage(id, hs, t[pos:])
	return nil
}

// parseRTSPTranscript reads RTSP messages in a row; only responses count.
// A body runs up to the next start line or the end of the input.
func parseRTSPTranscript(id *identity.Identity, b []byte) error {
	responses := 0
	err := eachMessage(b, isRTSPStart, "banner: malformed RTSP start line", func(line string, hs []header, body []byte) error {
		if isStatusLine(line, "RTSP") {
			if responses == 0 {
				id.Add(identity.FieldProtocol, TellRTSPResponse)
			}
			responses++
			addRTSPMessage(id, hs, body)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if responses == 0 {
		return errors.New("banner: RTSP transcript holds no response")
	}
	return nil
}

// addRTSPMessage records the facts of one RTSP header block and its body.
func addRTSPMessage(id *identity.Identity, hs []header, body []byte) {
	for _, h := range hs {
		switch strings.ToLower(h.name) {
		case "server":
			id.Add(identity.FieldServer, h.value)
		case "www-authenticate":
			addChallenges(id, h.value)
		case "content-base":
			id.Add(identity.FieldURL, h.value)
			if u, err := url.Parse(h.value); err == nil && !id.Addr.IsValid() {
				if a, err := netip.ParseAddr(u.Hostname()); err == nil {
					id.Addr = a.Unmap()
				}
			}
		}
	}
	if t := trimLead(body); bytes.HasPrefix(t, []byte("v=")) {
		addSDP(id, t)
	}
}

// sdpAttrs are the SDP attributes recorded whole as sdp facts; "x-"
// attributes are recorded too.
var sdpAttrs = map[string]bool{
	"media_header": true, "appversion": true, "packetization-supported": true,
	"rtppayload-supported": true, "tool": true,
}

// addSDP records the SDP lines that say who wrote the session description.
func addSDP(id *identity.Identity, sdp []byte) {
	for _, line := range strings.Split(string(sdp), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "s="), strings.HasPrefix(line, "o="):
			id.Add(identity.FieldSDP, line)
		case strings.HasPrefix(line, "a="):
			name, _, _ := strings.Cut(line[2:], ":")
			name = strings.ToLower(name)
			if sdpAttrs[name] || strings.HasPrefix(name, "x-") {
				id.Add(identity.FieldSDP, line)
			}
		}
	}
}

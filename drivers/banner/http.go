package banner

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/nvrguard/nvrguard/drivers/identity"
)

// ParseHTTP reads what an HTTP server said and returns it as one identity of
// source "http". It accepts a whole response as `curl -si` prints it (CRLF
// or LF, several responses in a row such as a 301 then a 200, all merged
// into one identity), a header block without a status line, a lone
// WWW-Authenticate value, a lone one-line Server or title value, and a body
// alone when it is a known identity document: Hikvision ISAPI <DeviceInfo>
// (XML or xmltodict-style JSON), Dahua magicBox key=value lines, a Reolink
// API JSON answer, or an HTML page. Anything else, including the answers of
// other protocols (SADP, DHIP, WS-Discovery, RTSP, PEM), is an error.
func ParseHTTP(b []byte) ([]identity.Identity, error) {
	return parseOne(b, identity.SourceHTTP, parseHTTPInto)
}

func parseHTTPInto(id *identity.Identity, t []byte) error {
	if len(t) == 0 {
		return errors.New("banner: empty input")
	}
	first, _ := nextLine(t, 0)
	switch {
	case isStatusLine(first, "HTTP"):
		return parseHTTPResponses(id, t)
	case isStatusLine(first, "RTSP"):
		return errors.New("banner: not an HTTP response (an RTSP response)")
	case isRequestLine(first, "HTTP"), isRequestLine(first, "RTSP"):
		return errors.New("banner: not an HTTP response (a request)")
	case bytes.HasPrefix(t, []byte("-----BEGIN")):
		return errors.New("banner: not an HTTP response (PEM data)")
	case t[0] == '<':
		return parseBareMarkup(id, t)
	case t[0] == '{' || t[0] == '[':
		err := addJSON(id, t)
		if err != nil {
			// "[Publisher Portal]WSO2 APIM" is a title, not JSON.
			if s, ok := singleLine(t); ok && !json.Valid(t) && fragment(s) == nil {
				return parseHTTPLine(id, s)
			}
		}
		return err
	case !utf8.Valid(t):
		return errors.New("banner: not an HTTP response (input is not UTF-8 text)")
	}
	if s, ok := singleLine(t); ok && !isHeaderLine(s) {
		return parseHTTPLine(id, s)
	}
	if kv, ok := magicBoxLines(t); ok {
		addMagicBox(id, kv)
		return nil
	}
	hs, pos, err := readHeaders(t, 0, false, nil)
	if err != nil || len(hs) == 0 {
		return errors.New("banner: not an HTTP response, header block or known identity document")
	}
	return addHTTPMessage(id, hs, t[pos:])
}

// parseHTTPLine reads a lone line: a WWW-Authenticate value, a magicBox
// answer such as "vendor=Dahua", or a Server/title fragment.
func parseHTTPLine(id *identity.Identity, s string) error {
	if bareChallenge(s) {
		addChallenges(id, s)
		return nil
	}
	if kv, ok := magicBoxLines([]byte(s)); ok {
		addMagicBox(id, kv)
		return nil
	}
	if err := fragment(s); err != nil {
		return err
	}
	id.Add(identity.FieldProtocol, TellHTTPFragment)
	id.Add(identity.FieldServer, s)
	id.Add(identity.FieldTitle, s)
	return nil
}

func isHTTPStatus(line string) bool { return isStatusLine(line, "HTTP") }

// parseHTTPResponses reads one or more responses in a row. A body runs up
// to the next status line or the end of the input.
func parseHTTPResponses(id *identity.Identity, b []byte) error {
	id.Add(identity.FieldProtocol, TellHTTPResponse)
	return eachMessage(b, isHTTPStatus, "banner: malformed HTTP status line", func(_ string, hs []header, body []byte) error {
		return addHTTPMessage(id, hs, body)
	})
}

// addHTTPMessage records the facts of one header block and its body.
func addHTTPMessage(id *identity.Identity, hs []header, body []byte) error {
	if hasHeader(hs, "usn") && (hasHeader(hs, "st") || hasHeader(hs, "nt")) {
		return errors.New("banner: not an HTTP response (an SSDP message)")
	}
	for _, h := range hs {
		switch strings.ToLower(h.name) {
		case "server":
			id.Add(identity.FieldServer, h.value)
		case "www-authenticate":
			addChallenges(id, h.value)
		case "location":
			id.Add(identity.FieldURL, h.value)
		}
	}
	id.Add(FieldHTTPStyle, headerStyle(hs, body))
	addBody(id, body)
	return nil
}

func hasHeader(hs []header, name string) bool {
	for _, h := range hs {
		if strings.EqualFold(h.name, name) {
			return true
		}
	}
	return false
}

// headerStyle returns StyleUppercaseBOM or StyleUppercase when most header
// names (at least two) are written in capitals, and "" otherwise.
func headerStyle(hs []header, body []byte) string {
	upper := 0
	for _, h := range hs {
		if strings.ToUpper(h.name) == h.name && strings.ToLower(h.name) != h.name {
			upper++
		}
	}
	if upper < 2 || 2*upper < len(hs) {
		return ""
	}
	if bytes.HasPrefix(body, utf8BOM) {
		return StyleUppercaseBOM
	}
	return StyleUppercase
}

// addBody records what a response body reveals, when it is a document this
// package knows; other bodies are ignored.
func addBody(id *identity.Identity, body []byte) {
	t := trimLead(body)
	switch {
	case len(t) == 0:
	case t[0] == '<':
		if isHTML(t) {
			addHTML(id, t)
			return
		}
		root, err := readXMLRoot(t)
		if err != nil && len(root.children) == 0 {
			return
		}
		if root.name == "DeviceInfo" {
			addDeviceInfo(id, root.space, root.get)
			return
		}
		id.Add(identity.FieldXMLNS, root.space)
	case t[0] == '{' || t[0] == '[':
		_ = addJSON(id, t)
	default:
		if kv, ok := magicBoxLines(t); ok {
			addMagicBox(id, kv)
		}
	}
}

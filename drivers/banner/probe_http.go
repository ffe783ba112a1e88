package banner

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/netip"

	"github.com/nvrguard/nvrguard/drivers/identity"
)

// probeHTTP sends one GET over a raw connection and reads the answer with
// the header and body caps. A raw exchange keeps the header names as the
// device wrote them (net/http would canonicalise CONNECTION: away) and
// never follows a redirect, uses a proxy or keeps the connection. It
// returns nil when nothing usable came back.
func (p *Prober) probeHTTP(ctx context.Context, ap netip.AddrPort, path string) *identity.Identity {
	var head, body []byte
	err := p.exchange(ctx, ap, func(_ context.Context, conn net.Conn) error {
		req := "GET " + path + " HTTP/1.1\r\nHost: " + hostPort(ap, 80) +
			"\r\nUser-Agent: nvrguard\r\nAccept: */*\r\nConnection: close\r\n\r\n"
		if _, err := io.WriteString(conn, req); err != nil {
			return err
		}
		r := bufio.NewReader(conn)
		var err error
		if head, err = readHead(r); err != nil {
			return err
		}
		body, err = readBody(r, head, p.maxBody(), true)
		return err
	})
	if len(head) == 0 || errors.Is(err, errHeaderTooLarge) {
		p.noAnswer("http", ap, path, err)
		return nil
	}
	id := &identity.Identity{Source: identity.SourceHTTP}
	if perr := addWireHTTP(id, head, body); perr != nil {
		p.noAnswer("http", ap, path, perr)
		return nil
	}
	return id
}

// addWireHTTP records one response read from the network: head is the
// status line and headers, body the decoded body.
func addWireHTTP(id *identity.Identity, head, body []byte) error {
	line, next := nextLine(head, 0)
	if !isHTTPStatus(line) {
		return errors.New("banner: not an HTTP response")
	}
	if err := checkText(line); err != nil {
		return err
	}
	hs, _, err := readHeaders(head, next, true, nil)
	if err != nil {
		return err
	}
	id.Add(identity.FieldProtocol, TellHTTPResponse)
	return addHTTPMessage(id, hs, body)
}

package banner

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/netip"
	"strings"

	"github.com/nvrguard/nvrguard/drivers/identity"
)

// rtspRequests are the two requests of an RTSP probe; neither carries an
// Authorization header.
func rtspRequests(url string) []string {
	return []string{
		"OPTIONS " + url + " RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: nvrguard\r\n\r\n",
		"DESCRIBE " + url + " RTSP/1.0\r\nCSeq: 2\r\nAccept: application/sdp\r\nUser-Agent: nvrguard\r\n\r\n",
	}
}

// probeRTSP sends OPTIONS then DESCRIBE on one connection and reads the
// answers. It returns nil when nothing usable came back.
func (p *Prober) probeRTSP(ctx context.Context, ap netip.AddrPort) *identity.Identity {
	var transcript []byte
	err := p.exchange(ctx, ap, func(_ context.Context, conn net.Conn) error {
		r := bufio.NewReader(conn)
		for _, req := range rtspRequests("rtsp://" + hostPort(ap, 0) + "/") {
			if _, err := io.WriteString(conn, req); err != nil {
				return err
			}
			head, err := readHead(r)
			transcript = append(transcript, head...)
			if err != nil {
				return err
			}
			body, err := readBody(r, head, p.maxBody(), false)
			transcript = append(transcript, body...)
			if err != nil {
				return err
			}
			if !strings.HasSuffix(string(transcript), "\n") {
				transcript = append(transcript, '\n')
			}
		}
		return nil
	})
	if len(transcript) == 0 {
		p.noAnswer("rtsp", ap, "", err)
		return nil
	}
	id := &identity.Identity{Source: identity.SourceRTSP}
	if perr := parseRTSPTranscript(id, transcript); perr != nil {
		p.noAnswer("rtsp", ap, "", perr)
		return nil
	}
	return id
}

// Package camsim simulates IP cameras on a real network: each Camera
// answers SADP, DHIP, WS-Discovery and SSDP probes on the real multicast
// groups and ports, and serves HTTP, RTSP and TLS, replaying answers that
// real devices gave (corpus/, sources in corpus/SOURCES.tsv). The capture's
// MAC and IP are replaced by the simulated camera's own, so that many
// cameras can be simulated from one capture.
//
// Cameras are meant to run in network namespaces (see ServeInNetns, the
// camsim command and scripts/camlan.sh), so that probes and answers cross a
// real bridge: the gateway under test sees them exactly as on a LAN.
package camsim

import (
	"bytes"
	"context"
	"crypto/x509/pkix"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/net/ipv4"

	"github.com/nvrguard/nvrguard/drivers/banner/bannertest"
	"github.com/nvrguard/nvrguard/drivers/dhip"
	"github.com/nvrguard/nvrguard/drivers/dhip/dhiptest"
	"github.com/nvrguard/nvrguard/drivers/discovery"
	"github.com/nvrguard/nvrguard/drivers/discovery/discoverytest"
	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/drivers/onvif"
	"github.com/nvrguard/nvrguard/drivers/onvif/onviftest"
	"github.com/nvrguard/nvrguard/drivers/sadp"
	"github.com/nvrguard/nvrguard/drivers/sadp/sadptest"
	"github.com/nvrguard/nvrguard/drivers/ssdp"
	"github.com/nvrguard/nvrguard/drivers/ssdp/ssdptest"
	"github.com/nvrguard/nvrguard/drivers/wsd"
	"github.com/nvrguard/nvrguard/drivers/wsd/wsdtest"
)

//go:embed corpus
var corpus embed.FS

// Profile is what one kind of camera answers, as captured from a real
// device. MAC and IP are the capture's own; a Camera replaces them.
type Profile struct {
	Name string
	MAC  string // as in the capture, "aa:bb:cc:dd:ee:ff"; empty when the capture has none
	IPs  []string
	SADP []byte            // a ProbeMatch
	DHIP []byte            // a notifyDevInfo JSON body
	WSD  []byte            // a ProbeMatches or Hello envelope
	SSDP []byte            // an M-SEARCH response (LOCATION is rewritten)
	UPnP []byte            // the description XML behind LOCATION
	HTTP map[string][]byte // path -> whole response
	RTSP [][]byte          // responses in order
	TLS  *pkix.Name
	// ONVIF is a GetDeviceInformationResponse, served by an ONVIF device
	// service at /onvif/device_service on port 80 (behind the camera's
	// ONVIFAccount when it has one).
	ONVIF []byte
	// Want is what a correct classifier says of this camera.
	Want Want
}

// Want is the expected verdict for a profile.
type Want struct {
	Verdict, Manufacturer, Brand, Entity string
}

func file(name string) []byte {
	b, err := corpus.ReadFile("corpus/" + name)
	if err != nil {
		panic("camsim: missing corpus file " + name) // a build defect, caught by the package tests
	}
	return b
}

// Profiles returns the camera profiles, by name.
func Profiles() map[string]Profile {
	return map[string]Profile{
		"hikvision": {
			Name: "hikvision", MAC: "58:50:ed:1f:e3:85", IPs: []string{"192.168.124.40", "192.168.124.1", "192.168.10.147"},
			SADP: file("sadp-003.xml"),
			HTTP: map[string][]byte{
				"/":                         withoutArtefact(file("http-hik-401-001.txt")),
				"/ISAPI/System/deviceInfo":  withoutArtefact(file("http-hik-401-001.txt")),
				"/doc/page/login.asp":       withoutArtefact(file("http-hik-401-001.txt")),
				"/ISAPI/Security/userCheck": withoutArtefact(file("http-hik-401-001.txt")),
			},
			RTSP: [][]byte{file("rtsp-001.resp1.txt"), file("rtsp-001.resp2.txt"), file("rtsp-001.resp3.txt")},
			TLS:  &pkix.Name{CommonName: "www.hikvision.com", OrganizationalUnit: []string{"DVRNVR"}, Organization: []string{"HIKVISION"}, Locality: []string{"HangZhou"}, Province: []string{"ZheJiang"}, Country: []string{"CN"}},
			Want: Want{Verdict: "restricted", Manufacturer: "Hikvision", Entity: "Hikvision"},
		},
		"dahua": {
			Name: "dahua", MAC: "4c:11:bf:c2:0b:9d", IPs: []string{"218.5.136.140", "218.5.136.1", "192.168.1.45"},
			DHIP:  file("dhip-001.json"),
			WSD:   file("wsd-004.xml"),
			RTSP:  [][]byte{file("rtsp-003.txt"), file("rtsp-003.txt")},
			ONVIF: file("onvif-devinfo-dahua.xml"),
			Want:  Want{Verdict: "restricted", Manufacturer: "Dahua", Entity: "Dahua"},
		},
		"lorex": {
			Name: "lorex", MAC: "00:1f:54:a9:2e:58", IPs: []string{"192.168.86.81", "192.168.86.1"},
			DHIP: file("dhip-003.wire.json"),
			Want: Want{Verdict: "restricted", Manufacturer: "Dahua", Brand: "Lorex", Entity: "Dahua"},
		},
		"axis": {
			Name: "axis", MAC: "ac:cc:8e:27:0a:d8", IPs: []string{"192.168.0.90", "192.168.1.102", "169.254.209.66"},
			WSD:  file("wsd-003.xml"),
			SSDP: file("ssdp-001.txt"),
			UPnP: file("upnp-desc-001.xml"),
			HTTP: map[string][]byte{"/": []byte("HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: " +
				strings.TrimSpace(string(file("www-auth-001.txt"))) + "\r\nContent-Length: 0\r\n\r\n")},
			Want: Want{Verdict: "clear", Manufacturer: "Axis"},
		},
		"silent": {
			Name: "silent",
			Want: Want{Verdict: "unknown"},
		},
		// flood carries valid answers of all four protocols (the captures
		// of the hikvision, dahua and axis profiles, under one MAC): with
		// Camera.Flood it floods them, a new random MAC in each.
		"flood": {
			Name: "flood", MAC: floodMAC,
			SADP: []byte(replaceMAC(string(file("sadp-003.xml")), "58:50:ed:1f:e3:85", floodMAC)),
			DHIP: []byte(replaceMAC(string(file("dhip-001.json")), "4c:11:bf:c2:0b:9d", floodMAC)),
			WSD:  []byte(replaceMAC(string(file("wsd-004.xml")), "4c:11:bf:c2:0b:9d", floodMAC)),
			SSDP: []byte(replaceMAC(string(file("ssdp-001.txt")), "ac:cc:8e:27:0a:d8", floodMAC)),
			Want: Want{Verdict: "restricted"},
		},
		// slow answers SSDP and WS-Discovery (the axis and dahua
		// captures): run with Camera.Slow, its LOCATION and XAddr trickle.
		"slow": {
			Name: "slow", MAC: "ac:cc:8e:27:0a:d8", IPs: []string{"192.168.0.90", "192.168.1.102", "169.254.209.66", "218.5.136.140", "218.5.136.1", "192.168.1.45"},
			SSDP: file("ssdp-001.txt"),
			WSD:  file("wsd-004.xml"),
			Want: Want{Verdict: "unknown"},
		},
		// hostile answers every probe with malformed, oversized or
		// wrong-protocol bytes: the gateway must drop them and carry on.
		"hostile": {
			Name: "hostile",
			SADP: []byte("<?xml version=\"1.0\"?><ProbeMatch><Uuid>x</Uuid><DeviceDescription>DS-2CD"),
			DHIP: []byte(`{"method":"client.notifyDevInfo","params":{"deviceInfo":{"DeviceType":"IPC-HFW`),
			WSD: []byte(`<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>` +
				`<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>&lol2;</s:Body></s:Envelope>`),
			SSDP: append([]byte("HTTP/1.1 200 OK\r\nSERVER: "), bytes.Repeat([]byte{0xff, 'A'}, 30000)...),
			HTTP: map[string][]byte{"/": append([]byte("HTTP/1.1 200 OK\r\nServer: \x00\x01\x02\r\n\r\n"), bytes.Repeat([]byte{0x00, 0xfe}, 70000)...)},
			RTSP: [][]byte{[]byte("RTSP/1.0 200 OK\r\nCSeq: 1\r\nWWW-Authenticate: Digest realm=\"IP Camera(\r\n\r\n")},
			Want: Want{Verdict: "unknown"},
		},
	}
}

// floodMAC is the flood profile's MAC, replaced in every answer it sends.
const floodMAC = "02:f1:00:d0:00:01"

// withoutArtefact drops the "## Server:" line that a PDF-to-text conversion
// left in the capture: a camera never sent it.
func withoutArtefact(b []byte) []byte {
	var out [][]byte
	for _, l := range bytes.Split(b, []byte("\n")) {
		if !bytes.HasPrefix(l, []byte("## ")) {
			out = append(out, l)
		}
	}
	return bytes.Join(out, []byte("\n"))
}

// Camera is one simulated camera: a profile with its own MAC and IP.
type Camera struct {
	Profile Profile
	MAC     net.HardwareAddr
	IP      netip.Addr
	// ONVIFAccount, when its Username is set, is the one account the
	// camera's ONVIF device service answers GetDeviceInformation to;
	// anonymous requests get ter:NotAuthorized, as on most real cameras.
	ONVIFAccount onvif.Credentials
	// Flaky, when set, makes the camera ignore the probes of every other
	// sweep (a busy camera, a lossy link): probes after a quiet gap of at
	// least Flaky begin a new sweep window, and the windows alternate,
	// answered first. Its HTTP, RTSP and TLS servers keep answering.
	Flaky time.Duration
	// Flood, when set, makes the camera a flooder: it answers every
	// discovery probe with Flood valid answers, each naming a new device
	// (a random MAC in every notation the capture uses).
	Flood int
	// Slow, when set, makes the camera a slowloris: its port 80 (the
	// LOCATION of its SSDP answers, the XAddr of its WS-Discovery ones)
	// accepts every connection and trickles one byte of a response per
	// Slow, for ever. It serves no other banner.
	Slow   time.Duration
	Logger *slog.Logger

	flakyMu   sync.Mutex
	lastProbe time.Time
	deafNow   bool
}

// deaf reports whether a flaky camera ignores a probe that came now.
func (c *Camera) deaf(now time.Time) bool {
	if c.Flaky <= 0 {
		return false
	}
	c.flakyMu.Lock()
	defer c.flakyMu.Unlock()
	if !c.lastProbe.IsZero() && now.Sub(c.lastProbe) >= c.Flaky {
		c.deafNow = !c.deafNow // a new sweep window
	}
	c.lastProbe = now
	return c.deafNow
}

// flooder wraps a responder: every answer is sent Flood times, each with a
// random locally administered MAC in place of the camera's.
func (c *Camera) flooder(h discoverytest.Handler) discoverytest.Handler {
	return func(req []byte, from netip.AddrPort) [][]byte {
		var out [][]byte
		for _, b := range h(req, from) {
			for range c.Flood {
				mac := net.HardwareAddr{0x02, byte(rand.Uint32()), byte(rand.Uint32()), byte(rand.Uint32()), byte(rand.Uint32()), byte(rand.Uint32())}
				out = append(out, []byte(replaceMAC(string(b), c.MAC.String(), mac.String())))
			}
		}
		return out
	}
}

// replaceMAC replaces the MAC old with mac in every notation captures use.
func replaceMAC(s, old, mac string) string {
	old, mac = strings.ToLower(old), strings.ToLower(mac)
	for _, pair := range [][2]string{
		{old, mac},
		{strings.ReplaceAll(old, ":", "-"), strings.ReplaceAll(mac, ":", "-")},
		{strings.ToUpper(strings.ReplaceAll(old, ":", "")), strings.ToUpper(strings.ReplaceAll(mac, ":", ""))},
		{strings.ReplaceAll(old, ":", ""), strings.ReplaceAll(mac, ":", "")},
	} {
		s = caseInsensitiveReplace(s, pair[0], pair[1])
	}
	return s
}

// localize replaces the capture's MAC (in every notation) and IPv4
// addresses with the camera's own.
func (c *Camera) localize(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	s := string(b)
	if p := c.Profile.MAC; p != "" && c.MAC != nil {
		s = replaceMAC(s, p, c.MAC.String())
	}
	if c.IP.IsValid() {
		for _, ip := range c.Profile.IPs {
			s = regexp.MustCompile(`\b`+regexp.QuoteMeta(ip)+`\b`).ReplaceAllLiteralString(s, c.IP.String())
		}
	}
	return []byte(s)
}

func caseInsensitiveReplace(s, old, repl string) string {
	re := regexp.MustCompile(`(?i)` + regexp.QuoteMeta(old))
	return re.ReplaceAllLiteralString(s, repl)
}

// wire turns a captured HTTP/RTSP response into what goes on the wire:
// CRLF line ends in the head, and a Content-Length that fits the body.
func wire(b []byte) []byte {
	s := strings.ReplaceAll(string(b), "\r\n", "\n")
	head, body, hasBody := strings.Cut(s, "\n\n")
	if !hasBody {
		head = strings.TrimRight(head, "\n")
	}
	lines := strings.Split(head, "\n")
	out := lines[:0]
	for _, l := range lines {
		if strings.HasPrefix(strings.ToLower(l), "content-length:") {
			continue
		}
		out = append(out, l)
	}
	if body != "" {
		body = strings.ReplaceAll(body, "\n", "\r\n")
	}
	out = append(out, "Content-Length: "+strconv.Itoa(len(body)))
	return []byte(strings.Join(out, "\r\n") + "\r\n\r\n" + body)
}

// Serve runs the camera in the current network namespace until ctx ends:
// UDP responders on every multicast-capable interface and HTTP/RTSP/TLS on
// the camera's IP. It returns once everything is listening; the servers
// stop when ctx ends.
func (c *Camera) Serve(ctx context.Context) error {
	log := c.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := c.Profile
	type udp struct {
		port  int
		group netip.Addr
		h     discoverytest.Handler
	}
	var udps []udp
	if p.SADP != nil {
		udps = append(udps, udp{sadp.Port, sadp.Group(), sadptest.Handler(c.localize(p.SADP))})
	}
	if p.DHIP != nil {
		udps = append(udps, udp{dhip.Port, dhip.Group(), dhiptest.Handler(c.localize(p.DHIP))})
	}
	if p.WSD != nil {
		udps = append(udps, udp{wsd.Port, wsd.Group(), wsdtest.Handler(c.localize(p.WSD))})
	}
	httpResp := map[string][]byte{}
	for path, r := range p.HTTP {
		httpResp[path] = wire(c.localize(r))
	}
	if p.SSDP != nil {
		loc := fmt.Sprintf("http://%s:80/rootdesc1.xml", c.IP)
		udps = append(udps, udp{ssdp.Port, ssdp.Group(), ssdptest.HandlerWithLocation(c.localize(p.SSDP), loc)})
		if p.UPnP != nil {
			desc := c.localize(p.UPnP)
			httpResp["/rootdesc1.xml"] = []byte(fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: %d\r\n\r\n%s", len(desc), desc))
		}
	}
	for _, u := range udps {
		conn, err := listenUDP(u.port, u.group)
		if err != nil {
			return fmt.Errorf("camsim: %s: udp %d: %w", p.Name, u.port, err)
		}
		if u.port == wsd.Port && isHello(p.WSD) {
			// A WS-Discovery device announces itself when it joins the
			// network; the interfaces are read here, in the camera's
			// namespace.
			ifs := multicastInterfaces()
			hello := c.localize(p.WSD)
			go announce(ctx, conn, ifs, hello, log)
		}
		h := u.h
		if c.Flood > 0 {
			h = c.flooder(h)
		}
		if c.Flaky > 0 {
			h = func(req []byte, from netip.AddrPort) [][]byte {
				if c.deaf(time.Now()) {
					return nil
				}
				return u.h(req, from)
			}
		}
		go func() {
			if err := discoverytest.Serve(ctx, conn, h); err != nil {
				log.Warn("udp responder stopped", "camera", p.Name, "port", u.port, "err", err)
			}
		}()
	}
	var post map[string]func([]byte) []byte
	if p.ONVIF != nil {
		dev := &onviftest.Device{Info: c.localize(p.ONVIF), Username: c.ONVIFAccount.Username, Password: c.ONVIFAccount.Password}
		post = map[string]func([]byte) []byte{"/onvif/device_service": func(body []byte) []byte {
			status, env := dev.Respond(body)
			return fmt.Appendf(nil, "HTTP/1.1 %d %s\r\nContent-Type: application/soap+xml; charset=utf-8\r\nContent-Length: %d\r\n\r\n%s",
				status, http.StatusText(status), len(env), env)
		}}
	}
	if c.Slow > 0 {
		return c.trickle(ctx, log)
	}
	if len(httpResp) > 0 || post != nil || len(p.RTSP) > 0 || p.TLS != nil {
		bc := &bannertest.Camera{HTTP: httpResp, Post: post}
		for _, r := range p.RTSP {
			bc.RTSP = append(bc.RTSP, wire(c.localize(r)))
		}
		httpPort, rtspPort, tlsPort := -1, -1, -1
		if len(httpResp) > 0 || post != nil {
			httpPort = 80
		}
		if len(p.RTSP) > 0 {
			rtspPort = 554
		}
		if p.TLS != nil {
			bc.TLSSubject = *p.TLS
			tlsPort = 443
		}
		if _, err := bc.Start(ctx, c.IP, httpPort, rtspPort, tlsPort); err != nil {
			return fmt.Errorf("camsim: %s: banners: %w", p.Name, err)
		}
	}
	return nil
}

// trickle serves port 80 of a slow camera: every connection gets a valid
// beginning of an HTTP response, one byte per Slow.
func (c *Camera) trickle(ctx context.Context, log *slog.Logger) error {
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp4", netip.AddrPortFrom(c.IP, 80).String())
	if err != nil {
		return fmt.Errorf("camsim: %s: slow http: %w", c.Profile.Name, err)
	}
	context.AfterFunc(ctx, func() { l.Close() })
	resp := []byte("HTTP/1.1 200 OK\r\nServer: slow\r\nContent-Type: text/xml\r\nContent-Length: 100000\r\n\r\n<?xml version=\"1.0\"?>" + strings.Repeat(" ", 100000))
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				log.Debug("slow http stopped", "err", err)
				return
			}
			go func() {
				defer conn.Close()
				_ = conn.SetReadDeadline(time.Now().Add(time.Second))
				_, _ = conn.Read(make([]byte, 4096))
				t := time.NewTicker(c.Slow)
				defer t.Stop()
				for _, b := range resp {
					if _, err := conn.Write([]byte{b}); err != nil {
						return
					}
					select {
					case <-ctx.Done():
						return
					case <-t.C:
					}
				}
			}()
		}
	}()
	return nil
}

// listenUDP opens a socket on 0.0.0.0:port (so that broadcast probes
// arrive too) that has joined group on every up, multicast-capable,
// non-loopback interface.
func listenUDP(port int, group netip.Addr) (*net.UDPConn, error) {
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
		})
		return errors.Join(err, serr)
	}}
	pc, err := lc.ListenPacket(context.Background(), "udp4", fmt.Sprintf("0.0.0.0:%d", port))
	if err != nil {
		return nil, err
	}
	conn := pc.(*net.UDPConn)
	ifs, err := net.Interfaces()
	if err != nil {
		conn.Close()
		return nil, err
	}
	p := ipv4.NewPacketConn(conn)
	joined := 0
	for _, ifi := range ifs {
		if ifi.Flags&net.FlagUp == 0 || ifi.Flags&net.FlagMulticast == 0 || ifi.Flags&net.FlagLoopback != 0 {
			continue
		}
		if err := p.JoinGroup(&ifi, &net.UDPAddr{IP: group.AsSlice()}); err == nil {
			joined++
		}
	}
	if joined == 0 && !slices.ContainsFunc(ifs, func(i net.Interface) bool { return i.Flags&net.FlagLoopback != 0 }) {
		conn.Close()
		return nil, errors.New("no interface could join the group")
	}
	return conn, nil
}

// isHello says whether a captured WS-Discovery message is a Hello.
func isHello(b []byte) bool {
	ids, err := wsd.Parse(b)
	return err == nil && len(ids) > 0 && ids[0].Get(identity.FieldProtocol) == "wsd-hello"
}

// multicastInterfaces lists the up, multicast-capable, non-loopback IPv4
// interfaces of the current namespace, as the gateway finds them.
func multicastInterfaces() []net.Interface {
	ifs, _ := discovery.Interfaces(nil) // none: the camera announces nothing
	var out []net.Interface
	for _, ifc := range ifs {
		if ifc.Multicast {
			out = append(out, net.Interface{Index: ifc.Index, Name: ifc.Name})
		}
	}
	return out
}

// announce sends hello to the WS-Discovery group from every interface,
// twice (UDP loses datagrams), as a camera does when it comes up.
func announce(ctx context.Context, conn *net.UDPConn, ifs []net.Interface, hello []byte, log *slog.Logger) {
	p := ipv4.NewPacketConn(conn)
	dst := &net.UDPAddr{IP: wsd.Group().AsSlice(), Port: wsd.Port}
	for round := range 2 {
		if round > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(300 * time.Millisecond):
			}
		}
		for _, ifi := range ifs {
			if err := p.SetMulticastInterface(&ifi); err != nil {
				log.Debug("hello", "iface", ifi.Name, "err", err)
				continue
			}
			if _, err := conn.WriteToUDP(hello, dst); err != nil {
				log.Debug("hello", "iface", ifi.Name, "err", err)
			}
		}
	}
}

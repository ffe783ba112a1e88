package ssdptest

import (
	"bytes"
	"context"
	"net/http"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/nvrguard/nvrguard/drivers/discovery/discoverytest"
	"github.com/nvrguard/nvrguard/drivers/ssdp"
)

// TestLoopback runs the whole SSDP path on 127.0.0.1: the real M-SEARCH
// probes over UDP to a simulated Axis camera, its response, then the
// description fetched from the LOCATION it gave.
func TestLoopback(t *testing.T) {
	reply, err := os.ReadFile("../testdata/ssdp-001.txt")
	if err != nil {
		t.Fatal(err)
	}
	desc, err := os.ReadFile("../testdata/upnp-desc-001.xml")
	if err != nil {
		t.Fatal(err)
	}
	srv := DescriptionServer(desc)
	defer srv.Close()

	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	lo := discoverytest.NewLoopback(t, HandlerWithLocation(reply, srv.URL+"/rootdesc1.xml"))
	spec := ssdp.Spec()
	probes := spec.Probes()
	lo.Send([]byte("NOTIFY * HTTP/1.1\r\nNTS: ssdp:alive\r\n\r\n"), reply) // noise first
	lo.Send(probes...)
	for range probes {
		answer, from := lo.Receive(3 * time.Second)
		ids, err := spec.Parse(from, answer)
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		if len(ids) != 1 || ids[0].Addr != from.Addr() || ids[0].Get("uuid-mac") != "ac:cc:8e:27:0a:d8" {
			t.Fatalf("identities = %+v", ids)
		}
		location := ids[0].Get("url")
		if location != srv.URL+"/rootdesc1.xml" {
			t.Fatalf("LOCATION = %q, want the test server", location)
		}
		descs, err := ssdp.FetchDescription(ctx, http.DefaultClient, location, from.Addr())
		if err != nil {
			t.Fatalf("FetchDescription: %v", err)
		}
		if len(descs) != 1 || descs[0].Source != "upnp" || descs[0].Addr != from.Addr() ||
			descs[0].Get("manufacturer") != "AXIS" || descs[0].Get("model") != "AXIS M1014" || descs[0].Get("server") != "ssdptest/1.0 UPnP/1.0" {
			t.Errorf("description identities = %+v", descs)
		}
	}
	lo.Silent(200 * time.Millisecond)
}

func TestHandler(t *testing.T) {
	reply, err := os.ReadFile("../testdata/ssdp-001.txt")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		h        discoverytest.Handler
		req      []byte
		want     []byte
		answered bool
	}{
		{"m-search", Handler(reply), ssdp.MSearch("ssdp:all", 1), reply, true},
		{"LF m-search", Handler(reply), []byte("M-SEARCH * HTTP/1.1\nST: ssdp:all\n\n"), reply, true},
		{"rewritten", HandlerWithLocation(reply, "http://127.0.0.1:8/d.xml\r\nX: 1"), ssdp.MSearch("ssdp:all", 1),
			bytes.Replace(reply, []byte("LOCATION: http://192.168.1.102:45895/rootdesc1.xml\r\n"), []byte("LOCATION: http://127.0.0.1:8/d.xmlX: 1\r\n"), 1), true}, // no header injection
		{"notify", Handler(reply), []byte("NOTIFY * HTTP/1.1\r\nNTS: ssdp:alive\r\n\r\n"), nil, false},
		{"a response", Handler(reply), reply, nil, false},
		{"junk", Handler(reply), []byte{0xff, 0x00}, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := tc.h(tc.req, netip0)
			if (len(out) == 1) != tc.answered || len(out) > 1 {
				t.Fatalf("got %d answers", len(out))
			}
			if tc.answered && !bytes.Equal(out[0], tc.want) {
				t.Errorf("answer = %q, want %q", out[0], tc.want)
			}
		})
	}
}

var netip0 = netip.MustParseAddrPort("127.0.0.1:9")

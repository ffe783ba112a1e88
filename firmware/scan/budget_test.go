package scan

import (
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/nvrguard/nvrguard/drivers/banner"
	"github.com/nvrguard/nvrguard/drivers/identity"
)

// serveOn serves h on addr until the test ends.
func serveOn(t *testing.T, addr string, h http.Handler) int {
	t.Helper()
	l, err := net.Listen("tcp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { srv.Close() })
	return l.Addr().(*net.TCPAddr).Port
}

// TestEnrichSlowHostKeepsItsBudget: 127.0.0.2 trickles its UPnP
// description, its ONVIF answer and its banner, a byte every 300 ms;
// 127.0.0.3 answers at once. The fast host's banner is read, and the slow
// one costs its own budget only.
func TestEnrichSlowHostKeepsItsBudget(t *testing.T) {
	trickle := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server", "slow")
		w.WriteHeader(http.StatusOK)
		for range 100 {
			if _, err := w.Write([]byte("<")); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(300 * time.Millisecond):
			}
		}
	})
	port := serveOn(t, "127.0.0.2:0", trickle)
	serveOn(t, "127.0.0.3:"+strconv.Itoa(port), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server", "App-webs/")
		w.WriteHeader(http.StatusUnauthorized)
	}))
	slow, fast := netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("127.0.0.3")
	base := "http://127.0.0.2:" + strconv.Itoa(port)
	var ids []identity.Identity
	for i := range 3 { // several SSDP answers with their own LOCATIONs
		id := identity.Identity{Source: identity.SourceSSDP, Addr: slow}
		id.Add(identity.FieldURL, base+"/desc"+strconv.Itoa(i)+".xml")
		ids = append(ids, id)
	}
	w := identity.Identity{Source: identity.SourceWSD, Addr: slow}
	w.Add(identity.FieldURL, base+"/onvif/device_service")
	ids = append(ids, w, identity.Identity{Source: identity.SourceARP, Addr: fast})

	p := banner.NewProber()
	p.HTTPPorts = []int{port}
	p.RTSPPort, p.TLSPort = 1, 1 // refused at once
	o := Options{Prober: p, HostBudget: 2 * time.Second}
	ctx := t.Context()
	start := time.Now()
	got := enrich(ctx, o, ids, addresses(ids), slog.New(slog.DiscardHandler))
	took := time.Since(start)
	if took > 3*time.Second {
		t.Errorf("enrichment took %v; the slow host's budget is 2 s", took)
	}
	ok := false
	for _, id := range got {
		if id.Addr == fast && id.Source == identity.SourceHTTP && id.Get(identity.FieldServer) == "App-webs/" {
			ok = true
		}
	}
	if !ok {
		t.Errorf("the fast host's banner was not read beside the slow host: %+v", got)
	}
}

package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/mqtt/mqtttest"
)

// TestIntegrationWatchShared: a camera two gateways see (the same MAC) is
// one row listing both gateways, with the more alarming record; devices
// known only by a local id (ip-…) stay one row per gateway.
func TestIntegrationWatchShared(t *testing.T) {
	b := mqtttest.Start(t, "mochi")
	cam := watchDevice("mac-bcad28000001", identity.Restricted, "DS-2CD2143G0-I")
	camSuspect := cam
	camSuspect.Verdict = identity.Suspect
	local := watchDevice("ip-192-168-1-10", identity.Unknown, "cam")
	gateway(t, b.URL(), "gw-a", camSuspect, local)
	gateway(t, b.URL(), "gw-b", cam, local)
	var out, errb bytes.Buffer
	if code := run([]string{"watch", "--broker", b.URL(), "--once"}, nil, &out, &errb); code != exitRestricted {
		t.Fatalf("exit %d: %s\n%s", code, errb.String(), out.String())
	}
	var camRows, localRows []string
	for _, l := range strings.Split(out.String(), "\n") {
		switch {
		case strings.Contains(l, "mac-bcad28000001"):
			camRows = append(camRows, l)
		case strings.Contains(l, "ip-192-168-1-10"):
			localRows = append(localRows, l)
		}
	}
	if len(camRows) != 1 || !strings.HasPrefix(camRows[0], "gw-a,gw-b ") || strings.Fields(camRows[0])[1] != "restricted" {
		t.Errorf("camera rows %q, want one row for gw-a,gw-b, restricted:\n%s", camRows, out.String())
	}
	if len(localRows) != 2 {
		t.Errorf("local-id rows %q, want one per gateway", localRows)
	}
	// Each gateway still counts what it sees.
	for _, want := range []string{"gw-a: online, 2 device(s): 0 restricted, 1 suspect", "gw-b: online, 2 device(s): 1 restricted, 0 suspect"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if code := run([]string{"watch", "--broker", b.URL(), "--once", "--json"}, nil, &out, &errb); code != exitRestricted {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var first struct {
		Gateway  string          `json:"gateway"`
		Gateways []string        `json:"gateways"`
		Device   identity.Device `json:"device"`
	}
	line, _, _ := strings.Cut(out.String(), "\n")
	if err := json.Unmarshal([]byte(line), &first); err != nil || first.Device.ID != cam.ID || strings.Join(first.Gateways, ",") != "gw-a,gw-b" ||
		first.Gateway != "gw-a" || first.Device.Verdict != identity.Restricted {
		t.Errorf("first JSON line %s (%v)", line, err)
	}
}

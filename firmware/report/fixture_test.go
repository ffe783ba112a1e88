package report

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/firmware/register"
	"github.com/nvrguard/nvrguard/mqtt"
)

var t0 = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

func device(id, ip, maker, model string, v identity.Verdict, entity string, reasons ...identity.Reason) identity.Device {
	return identity.Device{ID: id, IP: ip, MAC: "bc:ad:28:" + id[len(id)-6:len(id)-4] + ":" + id[len(id)-4:len(id)-2] + ":" + id[len(id)-2:],
		Manufacturer: maker, Model: model, Sources: []string{"sadp", "oui"}, Verdict: v, Entity: entity, Profile: "ndaa889",
		Reasons: reasons, FirstSeen: t0, LastSeen: t0}
}

var (
	sadpModel = identity.Reason{Source: "sadp", Field: "model", Value: "DS-2CD2143G0-I", Rule: "model/hikvision-ds"}
	ouiHik    = identity.Reason{Source: "oui", Field: "mac", Value: "bc:ad:28:12:34:56", Rule: "oui/BCAD28"}
	dhipVend  = identity.Reason{Source: "dhip", Field: "vendor", Value: "General", Rule: "maker/dahua"}
)

// fixture builds two gateways' data through real registers, the way the
// daemon would: gw-a (lobby) finds a Hikvision camera that stays, a
// Dahua recorder that is removed, a suspect, and a camera whose strings
// are hostile (HTML and a spreadsheet formula); gw-b (warehouse) finds a
// Hikvision camera that is removed a day later and a clear camera.
func fixture(t *testing.T) Input {
	t.Helper()
	dir := t.TempDir()
	hik := device("mac-bcad28123456", "192.168.1.64", "Hikvision", "DS-2CD2143G0-I", identity.Restricted, "Hikvision", sadpModel, ouiHik)
	dahua := device("mac-3ce36b000010", "192.168.1.108", "Dahua", "DHI-NVR4108HS", identity.Restricted, "Dahua", dhipVend)
	dahua.Sources = []string{"dhip"}
	sus := device("mac-e0508b000020", "192.168.1.90", "", "IPC-HFW1230S", identity.Suspect, "Dahua",
		identity.Reason{Source: "http", Field: "realm", Value: "Login to 2K0A1234", Rule: "realm/dahua-login"})
	evil := device("mac-c056e3000030", "192.168.1.77", `<script>alert("x")</script>`, `=HYPERLINK("http://evil.example/","click")`,
		identity.Restricted, "Hikvision", identity.Reason{Source: "onvif", Field: "model", Value: "<b>bold</b>", Rule: "model/hikvision-ds"})
	gwa, err := register.Open(filepath.Join(dir, "a.json"), "gw-a")
	if err != nil {
		t.Fatal(err)
	}
	mustObserve := func(r *register.Register, now time.Time, devs, lost []identity.Device) {
		t.Helper()
		if _, err := r.Observe(now, devs, lost); err != nil {
			t.Fatal(err)
		}
	}
	mustObserve(gwa, t0, []identity.Device{hik, dahua, sus, evil}, nil)
	if _, err := gwa.Ack(t0.Add(time.Hour), "Facilities: J. Smith"); err != nil {
		t.Fatal(err)
	}
	mustObserve(gwa, t0.Add(48*time.Hour), []identity.Device{hik, sus, evil}, []identity.Device{dahua})

	clear := device("mac-00408c000040", "10.1.0.20", "Axis", "P3245-V", identity.Clear, "")
	clear.Reasons = []identity.Reason{}
	hikB := device("mac-bcad28654321", "10.1.0.64", "Hikvision", "DS-2CD2T47G2-L", identity.Restricted, "Hikvision", sadpModel)
	hikB.FirstSeen, hikB.LastSeen = t0.Add(2*time.Hour), t0.Add(25*time.Hour)
	gwb, err := register.Open(filepath.Join(dir, "b.json"), "gw-b")
	if err != nil {
		t.Fatal(err)
	}
	mustObserve(gwb, t0.Add(2*time.Hour), []identity.Device{hikB, clear}, nil)
	mustObserve(gwb, t0.Add(26*time.Hour), []identity.Device{clear}, []identity.Device{hikB})

	last := t0.Add(72 * time.Hour)
	for _, d := range []*identity.Device{&hik, &sus, &evil} {
		d.LastSeen = last // the live records are from the last sweep
	}
	fail := t0.Add(71 * time.Hour)
	retry := t0.Add(77 * time.Hour)
	return Input{
		Generated: t0.Add(72*time.Hour + 5*time.Minute),
		Source:    "broker tcp://127.0.0.1:1883, prefix nvrguard",
		Gateways: []Gateway{
			{ID: "gw-a", Status: "online", Devices: []identity.Device{hik, sus, evil}, Register: gwa.Entries(),
				Summary: &mqtt.Summary{Gateway: "gw-a", LastScan: &last, PolicyVersion: "2026.11.1", Acknowledged: true,
					Sources: map[string]mqtt.SourceHealth{
						"sadp":             {Status: "ok", LastOK: &last},
						"nvr:192.168.1.20": {Status: "error", Error: "login refused: the account is locked", LastRun: &fail, RetryAt: &retry},
					}}},
			{ID: "gw-b", Status: "offline", Devices: []identity.Device{clear}, Register: gwb.Entries(),
				Summary: &mqtt.Summary{Gateway: "gw-b", LastScan: &fail, PolicyVersion: "2026.11.1",
					Sources: map[string]mqtt.SourceHealth{"sadp": {Status: "ok"}}}},
		},
	}
}

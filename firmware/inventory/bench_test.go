package inventory

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/nvrguard/nvrguard/drivers/identity"
)

// sweep250 is one sweep of 250 cameras as the daemon reads it: a
// neighbour entry, a vendor answer, an HTTP and an RTSP banner each.
func sweep250() []identity.Identity {
	var ids []identity.Identity
	for i := range 250 {
		ip := fmt.Sprintf("10.99.%d.%d", i/200, 10+i%200)
		mac := fmt.Sprintf("58:50:ed:00:%02x:%02x", i/256, i%256)
		ids = append(ids,
			ident("arp", ip, mac),
			ident("sadp", ip, mac, identity.FieldProtocol, "sadp-probematch", identity.FieldModel, "DS-2CD2143G0-I",
				identity.FieldSerial, fmt.Sprintf("DS-2CD2143G0-I20200414AAWRE%08d", i), identity.FieldFirmware, "V5.5.0 build 170725"),
			ident("http", ip, "", identity.FieldServer, "App-webs/", identity.FieldRealm, "IP Camera(C2875)"),
			ident("rtsp", ip, "", identity.FieldServer, "HIKVISION RTSP Server"))
	}
	return ids
}

// BenchmarkApplySweep250 is one sweep of 250 cameras into an inventory
// that knows them, and the state file written after it.
func BenchmarkApplySweep250(b *testing.B) {
	p := loadPolicy(b)
	inv := New(3)
	ids := sweep250()
	inv.Apply(Observation{Slot: "network", IDs: ids, Complete: true, At: t0}, p, t0)
	store := &Store{Path: filepath.Join(b.TempDir(), "inventory.json")}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		at := t0.Add(time.Duration(i+1) * time.Minute)
		inv.Apply(Observation{Slot: "network", IDs: ids, Complete: true, At: at}, p, at)
		if _, err := store.Save(inv.Entries()); err != nil {
			b.Fatal(err)
		}
	}
}

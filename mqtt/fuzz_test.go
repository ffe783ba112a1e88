package mqtt

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParseCommand: any payload gives a command or a one-line error, and
// what a command carries is clean, bounded text.
func FuzzParseCommand(f *testing.F) {
	f.Add([]byte(`{"by":"operator 7","request_id":"r-1"}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		cmd, err := ParseCommand(CmdScan, payload)
		if err != nil {
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("error is not one line: %q", err)
			}
			return
		}
		for _, s := range []string{cmd.By, cmd.RequestID} {
			if len(s) > 64 || !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
				t.Fatalf("command carries %q", s)
			}
		}
		if cmd.Name != CmdScan {
			t.Fatalf("name %q", cmd.Name)
		}
	})
}

// FuzzDecodeMessage: any topic and payload decode to an update with
// topic-safe ids, or to an error; never a panic.
func FuzzDecodeMessage(f *testing.F) {
	f.Add("nvrguard/gw1/devices/mac-bcad28123456", []byte(`{"id":"mac-bcad28123456","sources":[],"verdict":"restricted","reasons":[]}`))
	f.Fuzz(func(t *testing.T, topic string, payload []byte) {
		u, err := DecodeMessage("nvrguard", topic, payload, false)
		if err != nil {
			return
		}
		if !ValidID(u.Gateway) {
			t.Fatalf("gateway %q", u.Gateway)
		}
		switch u.Kind {
		case UpdateDevice:
			if u.Device == nil || u.Device.ID != u.DeviceID || !ValidID(u.DeviceID) {
				t.Fatalf("device update %+v", u)
			}
		case UpdateDeviceGone:
			if !ValidID(u.DeviceID) || len(payload) != 0 {
				t.Fatalf("gone update %+v", u)
			}
		case UpdateEvent:
			if u.Event == nil || u.Event.Seq == 0 || !ValidID(u.Event.Device.ID) || !validEvent(u.Event.Type) {
				t.Fatalf("event update %+v", u)
			}
		case UpdateState:
			if u.State == nil {
				t.Fatal("state update without state")
			}
		case UpdateStatus:
			if u.Status != "online" && u.Status != "offline" {
				t.Fatalf("status %q", u.Status)
			}
		default:
			t.Fatalf("kind %d", u.Kind)
		}
	})
}

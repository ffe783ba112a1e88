package nvr

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/nvrguard/nvrguard/drivers/identity"
)

// The seed corpora are in testdata/fuzz/<target>: the recorder samples of
// nvrtest/testdata and hand-made edge cases.

// checkChannels checks what every parser promises about channels: a Via
// with the channel number, clean fact values, no credential.
func checkChannels(t *testing.T, chans []Channel) {
	t.Helper()
	for _, c := range chans {
		id := c.Identity
		if id.Via == nil || id.Via.Channel != c.Number || c.Number < 0 || id.Source != identity.SourceNVR {
			t.Fatalf("channel %+v", c)
		}
		if len(id.Facts) > identity.MaxFacts {
			t.Fatalf("%d facts", len(id.Facts))
		}
		for _, f := range id.Facts {
			if f.Value == "" || f.Value != identity.Clean(f.Value) || !utf8.ValidString(f.Value) {
				t.Fatalf("fact %q=%q not clean", f.Field, f.Value)
			}
			if f.Field == identity.FieldName {
				t.Fatalf("channel title as a name fact")
			}
		}
		if id.Addr.IsValid() && (id.Addr.IsUnspecified() || id.Addr.Zone() != "") {
			t.Fatalf("addr %v", id.Addr)
		}
	}
}

func FuzzParseChallenges(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		cs, err := ParseChallenges(strings.Split(s, "\n"))
		if err != nil {
			if cs != nil {
				t.Fatal("challenges with an error")
			}
			return
		}
		if len(cs) > maxChallenges {
			t.Fatalf("%d challenges", len(cs))
		}
		for _, c := range cs {
			if c.Scheme == "" {
				t.Fatal("empty scheme")
			}
		}
		if c := pickDigest(cs); c != nil {
			d, err := newDigest(c, "u", "p")
			if err != nil {
				t.Fatal(err)
			}
			// Parameters never carry control characters, so the header
			// cannot be split.
			if h := d.authorize("GET", "/ISAPI/System/deviceInfo"); !strings.HasPrefix(h, "Digest username=") || strings.ContainsAny(h, "\r\n\x00") {
				t.Fatalf("authorization %q", h)
			}
		}
	})
}

func FuzzParseISAPIChannelsXML(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		chans, err := ParseISAPIChannels(b)
		if err == nil {
			checkChannels(t, chans)
		}
		if st, err := ParseISAPIChannelStatus(b); err == nil {
			for _, s := range st {
				if s.Number <= 0 || s.State != identity.Clean(s.State) {
					t.Fatalf("status %+v", s)
				}
			}
		}
		if id, err := ParseISAPIDeviceInfo(b); err == nil && id.Get(identity.FieldProtocol) == "" {
			t.Fatal("deviceInfo without its tell")
		}
	})
}

func FuzzParseISAPIChannelsText(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		chans, err := ParseISAPIChannels(b)
		if err == nil {
			checkChannels(t, chans)
		}
		_, _ = ParseISAPIDeviceInfo(b)
	})
}

func FuzzParseDahuaKV(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		chans, err := ParseDahuaChannels(b)
		if err == nil {
			checkChannels(t, chans)
		}
		if st, err := ParseDahuaCameraState(b); err == nil {
			for _, s := range st {
				if s.Number <= 0 {
					t.Fatalf("status %+v", s)
				}
			}
		}
		if lines, err := splitKV(b); err == nil {
			for _, l := range lines {
				if isSecret(l.key) {
					t.Fatalf("secret line %q kept", l.key)
				}
			}
		}
		_, _ = ParseMagicBox(b)
	})
}

func FuzzParseDahuaRPC(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		if r, err := ParseRPCReply(b); err == nil {
			if r.Lock.UnlockIn < 0 || r.Lock.UnlockIn > maxUnlock {
				t.Fatalf("unlock %v", r.Lock.UnlockIn)
			}
			for k := range flatten(r.params) {
				if isSecret(k) {
					t.Fatalf("secret %q kept", k)
				}
			}
		}
		if chans, err := ParseDahuaChannels(b); err == nil {
			checkChannels(t, chans)
		}
		_, _ = ParseDahuaCameraState(b)
		if m, err := rpcMethod(b); err == nil && m == "" {
			t.Fatal("empty method accepted")
		}
	})
}

func FuzzParseISAPILock(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		l, ok := ParseISAPILock(b)
		if !ok && (l.Locked || l.UnlockIn != 0) {
			t.Fatal("lock state from a non-userCheck body")
		}
		if l.UnlockIn < 0 || l.UnlockIn > maxUnlock || l.RetriesLeft < -1 {
			t.Fatalf("lock %+v", l)
		}
	})
}

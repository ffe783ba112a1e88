package inventory

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/nvrguard/nvrguard/drivers/identity"
)

// stateVersion is the format version of the state file: 2 keeps each
// device's evidence; a version 1 file (records only) is still read.
const stateVersion = 2

// State is what the daemon keeps across restarts.
type State struct {
	Version int     `json:"version"`
	Entries []Entry `json:"devices"`
}

// stateV1 is the state file of nvrguard before evidence was kept.
type stateV1 struct {
	Version int `json:"version"`
	Entries []struct {
		Device identity.Device `json:"device"`
		Missed int             `json:"missed"`
	} `json:"devices"`
}

// upgrade turns a version 1 state into entries: each device under the key
// its id names, its record standing until the first reading brings
// evidence.
func (v stateV1) upgrade() State {
	st := State{Version: stateVersion}
	for _, old := range v.Entries {
		d := old.Device
		e := Entry{Device: d, Missed: old.Missed}
		ip, _ := netip.ParseAddr(d.IP)
		switch {
		case strings.HasPrefix(d.ID, "mac-") && d.MAC != "":
			e.Key, e.LinkMAC, e.Addr = "link:"+identity.NormalizeMAC(d.MAC), identity.NormalizeMAC(d.MAC), ip
		case ip.IsValid():
			e.Key, e.Addr = "addr:"+ip.String(), ip
		default:
			e.Key = "id:" + d.ID
		}
		st.Entries = append(st.Entries, e)
	}
	return st
}

// Store keeps the inventory in one file, written atomically (a temporary
// file, fsync, rename, fsync of the directory) and only when its content
// changes: SD cards wear, and a power cut at any instant leaves either the
// old or the new file, never a torn one.
type Store struct {
	Path string
	last []byte
}

// ErrNoState means there is no state file yet (a first start).
var ErrNoState = errors.New("inventory: no state file")

// Load reads the state file. A missing file is ErrNoState; a file that does
// not parse is an error that names it (the caller decides whether to start
// empty).
func (s *Store) Load() (State, error) {
	// Temporary files of writes that a power cut interrupted.
	if stale, err := filepath.Glob(filepath.Join(filepath.Dir(s.Path), "."+filepath.Base(s.Path)+".tmp*")); err == nil {
		for _, f := range stale {
			os.Remove(f)
		}
	}
	b, err := os.ReadFile(s.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return State{}, ErrNoState
	}
	if err != nil {
		return State{}, fmt.Errorf("inventory: %w", err)
	}
	var head struct {
		Version int `json:"version"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return State{}, fmt.Errorf("inventory: state file %s: %w", s.Path, err)
	}
	var st State
	if head.Version == 1 {
		var v1 stateV1
		if err := strictDecode(b, &v1); err != nil {
			return State{}, fmt.Errorf("inventory: state file %s: %w", s.Path, err)
		}
		s.last = nil
		return v1.upgrade(), nil
	}
	if err := strictDecode(b, &st); err != nil {
		return State{}, fmt.Errorf("inventory: state file %s: %w", s.Path, err)
	}
	if st.Version != stateVersion {
		return State{}, fmt.Errorf("inventory: state file %s has version %d, want %d", s.Path, st.Version, stateVersion)
	}
	s.last = b
	return st, nil
}

func strictDecode(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// Save writes the state if it differs from what was last loaded or saved.
// It reports whether it wrote.
func (s *Store) Save(entries []Entry) (bool, error) {
	b, err := json.Marshal(State{Version: stateVersion, Entries: entries})
	if err != nil {
		return false, fmt.Errorf("inventory: %w", err)
	}
	b = append(b, '\n')
	if bytes.Equal(b, s.last) {
		return false, nil
	}
	if err := WriteFileAtomic(s.Path, b, 0o640); err != nil {
		return false, err
	}
	s.last = b
	return true, nil
}

// WriteFileAtomic replaces path with data so that a crash at any point
// leaves either the old content or the new one.
func WriteFileAtomic(path string, data []byte, perm fs.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("inventory: %w", err)
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("inventory: write %s: %w", tmp, err)
	}
	if err := f.Chmod(perm); err != nil {
		return fmt.Errorf("inventory: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("inventory: fsync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("inventory: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("inventory: %w", err)
	}
	ok = true
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("inventory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("inventory: fsync %s: %w", dir, err)
	}
	return nil
}

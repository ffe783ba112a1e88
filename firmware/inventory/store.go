package inventory

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// stateVersion is the format version of the state file.
const stateVersion = 1

// State is what the daemon keeps across restarts.
type State struct {
	Version int     `json:"version"`
	Entries []Entry `json:"devices"`
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
	var st State
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		return State{}, fmt.Errorf("inventory: state file %s: %w", s.Path, err)
	}
	if st.Version != stateVersion {
		return State{}, fmt.Errorf("inventory: state file %s has version %d, want %d", s.Path, st.Version, stateVersion)
	}
	s.last = b
	return st, nil
}

// Save writes the state if it differs from what was last loaded or saved.
// It reports whether it wrote.
func (s *Store) Save(entries []Entry) (bool, error) {
	b, err := json.MarshalIndent(State{Version: stateVersion, Entries: entries}, "", " ")
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

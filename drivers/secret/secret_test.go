package secret

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	for content, want := range map[string]string{
		"hunter2\n": "hunter2", "hunter2\r\n": "hunter2", "hunter2": "hunter2", "": "", " pass with spaces \n": " pass with spaces ",
		"one\ntwo\n": "!", "one\r\ntwo": "!", "a\rtwo": "!",
	} {
		p := filepath.Join(dir, "s")
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := ReadFile(p)
		switch {
		case want == "!" && !errors.Is(err, ErrMultiLine):
			t.Errorf("%q: %v, want ErrMultiLine", content, err)
		case want != "!" && (err != nil || got.Reveal() != want):
			t.Errorf("%q: %q, %v; want %q", content, got.Reveal(), err, want)
		}
		if err != nil && strings.Contains(err.Error(), "two") {
			t.Errorf("the error shows the file's content: %v", err)
		}
	}
	if _, err := ReadFile(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestNeverPrints(t *testing.T) {
	s := Secret("hunter2")
	j, _ := json.Marshal(struct{ P Secret }{s})
	for _, out := range []string{fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s", s, s, s, s), string(j)} {
		if strings.Contains(out, "hunter2") {
			t.Errorf("printed: %s", out)
		}
	}
}

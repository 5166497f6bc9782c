package migrations

import (
	"fmt"
	"io/fs"
	"testing"
)

// TestNumbering: migrations are numbered 0001, 0002, … with no number
// used twice or skipped, so that two branches that each add "the next"
// migration cannot both land unnoticed.
func TestNumbering(t *testing.T) {
	names, err := fs.Glob(FS, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	if len(names) == 0 {
		t.Fatal("no migrations embedded")
	}
	for i, name := range names { // fs.Glob returns them sorted
		if want := fmt.Sprintf("%04d_", i+1); len(name) < 5 || name[:5] != want {
			t.Errorf("migration %d is %s, want a name starting %s (numbers unique and contiguous)", i+1, name, want)
		}
	}
}

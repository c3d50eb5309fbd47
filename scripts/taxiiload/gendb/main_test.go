package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"bulwark"
	"bulwark/internal/sharing"
	"bulwark/internal/sharing/sharingtest"
	"bulwark/internal/sqlstore"
)

func TestGendbMakesTheBenchCollection(t *testing.T) {
	path := filepath.Join(t.TempDir(), "taxii-12.db")
	if err := run([]string{"-db", path, "-objects", "12"}); err != nil {
		t.Fatal(err)
	}
	// Generating again into the same file would duplicate: refused.
	if err := run([]string{"-db", path, "-objects", "12"}); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("second run on the same file: %v", err)
	}
	st, err := sqlstore.Open(context.Background(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	u, err := st.FindUserByEmail(context.Background(), sharingtest.BenchReader)
	if err != nil {
		t.Fatal(err)
	}
	// The reader sees the GREEN nine in ten: 11 of 12 (index 9 is AMBER+STRICT).
	ctx := bulwark.WithPrincipal(context.Background(), bulwark.Principal{UserID: u.ID, Org: u.Org, Role: u.Role})
	n, err := sharing.New(st, nil).Count(ctx, sharingtest.BenchCollection, sharing.Query{})
	if err != nil || n != 11 {
		t.Errorf("reader sees %d objects (%v), want 11", n, err)
	}
}

func TestGendbRefusesBadArguments(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		args []string
		want string
	}{
		{nil, "usage"},
		{[]string{"-db", filepath.Join(dir, "a.db"), "-objects", "0"}, "between 1 and"},
		{[]string{"-db", filepath.Join(dir, "a.db"), "-objects", "-5"}, "between 1 and"},
		{[]string{"-db", filepath.Join(dir, "a.db"), "-objects", "1000000000"}, "between 1 and"},
		{[]string{"-db", filepath.Join(dir, "a.db"), "extra"}, "usage"},
		{[]string{"-objects", "lots"}, "invalid value"},
	}
	for _, tt := range tests {
		if err := run(tt.args); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: %v, want an error saying %q", tt.args, err, tt.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "a.db")); err == nil {
		t.Error("a refused run left a database behind")
	}
}

package main

import (
	"flag"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestOperationsTableMatchesTheFlags: docs/operations.md's table of flags
// has a row for every long flag the binary defines, with its variable and
// its default, and none for a flag it does not define.
func TestOperationsTableMatchesTheFlags(t *testing.T) {
	text, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	o, err := parseFlags(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	rows := flagTableRows(t, string(text))
	long := regexp.MustCompile("`--([a-z-]+)`")
	documented := map[string]bool{}
	for _, row := range rows {
		m := long.FindStringSubmatch(row[0])
		if m == nil {
			t.Errorf("row %q names no long flag", row[0])
			continue
		}
		name := m[1]
		documented[name] = true
		f := o.flags.Lookup(name)
		if f == nil {
			if name != "help" {
				t.Errorf("row %q: redrtc has no --%s", row[0], name)
			}
			continue
		}
		wantVar := "`" + envVar(name) + "`"
		if notFromEnv[name] {
			wantVar = "—"
		}
		if row[1] != wantVar {
			t.Errorf("--%s: variable %q, want %q", name, row[1], wantVar)
		}
		if notFromEnv[name] {
			continue
		}
		wantDefault := f.DefValue
		if wantDefault == "" || wantDefault == "false" {
			wantDefault = "off"
		}
		if got := strings.Trim(row[2], "`"); got != wantDefault {
			t.Errorf("--%s: default %q, want %q", name, got, wantDefault)
		}
	}
	o.flags.VisitAll(func(f *flag.Flag) {
		if len(f.Name) > 1 && !documented[f.Name] {
			t.Errorf("docs/operations.md's table has no row for --%s", f.Name)
		}
	})
}

// flagTableRows returns the rows, as trimmed cells, of the table whose
// header is "flag | variable | default | meaning".
func flagTableRows(t *testing.T, text string) [][]string {
	t.Helper()
	var rows [][]string
	in := false
	for line := range strings.Lines(text) {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "|") {
			if in {
				break
			}
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		switch {
		case slices.Equal(cells, []string{"flag", "variable", "default", "meaning"}):
			in = true
		case in && strings.Trim(strings.Join(cells, ""), "-: ") != "":
			rows = append(rows, cells)
		}
	}
	if len(rows) == 0 {
		t.Fatal("docs/operations.md has no table headed flag | variable | default | meaning")
	}
	return rows
}

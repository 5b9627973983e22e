package main

import (
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/redrtc/redrtc/loop"
)

// Each limit's flag takes its whole range, which Config then accepts, and
// refuses a value either side of it; --help gives the range and default.
func TestEveryLimitsFlagTakesItsRange(t *testing.T) {
	var help strings.Builder
	printUsage(&help)
	for _, l := range loop.Limits() {
		if l.Flag == "" {
			continue
		}
		t.Run(l.Flag, func(t *testing.T) {
			for _, v := range []int{l.Min, l.Default, l.Max} {
				o, err := parseFlags([]string{"--" + l.Flag, strconv.Itoa(v)}, io.Discard)
				if err != nil {
					t.Fatalf("--%s %d: %v", l.Flag, v, err)
				}
				if err := o.cfg.Validate(); err != nil {
					t.Errorf("--%s %d: Config refuses it: %v", l.Flag, v, err)
				}
			}
			for _, v := range []int{l.Min - 1, l.Max + 1} {
				_, err := parseFlags([]string{"--" + l.Flag, strconv.Itoa(v)}, io.Discard)
				if err == nil || !strings.HasPrefix(err.Error(), "--"+l.Flag+" must be ") {
					t.Errorf("--%s %d: got %v, want an error naming the flag", l.Flag, v, err)
				}
			}
			names := "--" + l.Flag + " " + l.Arg
			if l.Short != "" {
				names = "-" + l.Short + ", " + names
			}
			// Wrapping may break a line between the range and the default.
			text := strings.Join(strings.Fields(help.String()), " ")
			for _, want := range []string{names, strconv.Itoa(l.Min) + "-" + strconv.Itoa(l.Max), "default " + strconv.Itoa(l.Default) + ")"} {
				if !strings.Contains(text, want) {
					t.Errorf("--help does not say %q:\n%s", want, help.String())
				}
			}
		})
	}
}

package loop

import (
	"strings"
	"testing"
	"time"
)

func TestConfigDefaultsAreTheLimitsDefaults(t *testing.T) {
	c := Config{}.withDefaults()
	for _, l := range limits {
		want := int64(l.Default) * l.scale()
		if l.ZeroKept {
			want = 0
		}
		if got := l.raw(&c); got != want {
			t.Errorf("%s: default %d, want %d", l.name(), got, want)
		}
	}
	if err := c.validate(MinTimeout); err != nil {
		t.Errorf("the defaults do not validate: %v", err)
	}
}

func TestConfigRefusesEachLimitOutOfRange(t *testing.T) {
	for _, l := range limits {
		t.Run(l.name(), func(t *testing.T) {
			lo := int64(l.Min) * l.scale()
			if l.ZeroKept {
				lo = 0
			}
			hi := int64(l.Max) * l.scale()
			valid := []int64{lo, int64(l.Default) * l.scale()}
			invalid := []int64{}
			if l.Max != 0 {
				valid = append(valid, hi)
				invalid = append(invalid, hi+1)
			}
			if !l.ZeroOff { // below a ZeroOff limit's 0 is "off"
				invalid = append(invalid, lo-1)
			}
			for _, v := range valid {
				c := Config{}.withDefaults()
				l.setRaw(&c, v)
				if err := c.validate(MinTimeout); err != nil {
					t.Errorf("%d refused: %v", v, err)
				}
			}
			for _, v := range invalid {
				c := Config{}.withDefaults()
				l.setRaw(&c, v)
				err := c.validate(MinTimeout)
				if err == nil || !strings.HasPrefix(err.Error(), l.name()+" must be ") {
					t.Errorf("%d: got %v, want an error naming %s", v, err, l.name())
				}
			}
		})
	}
}

// The command line's errors, which redrtc's tests pin, and Config's, which
// word a duration as Go does.
func TestLimitErrorsSayTheRange(t *testing.T) {
	byName := map[string]Limit{}
	for _, l := range limits {
		byName[l.name()] = l
	}
	tests := []struct {
		err  error
		want string
	}{
		{byName["--clients"].Check(0), "--clients must be 1-65536, got 0"},
		{byName["--timeout"].Check(29), "--timeout must be at least 30 seconds, got 29s"},
		{byName["--timeout"].Check(86401), "--timeout must be at most 86400 seconds, got 86401s"},
		{byName["--rate-kick"].Check(86401), "--rate-kick must be 1-86400, got 86401"},
		{byName["--rate-kick"].NotANumber("1m"), `--rate-kick must be a whole number, 1-86400 seconds, got "1m"`},
		{byName["--rate"].NotANumber("fast"), `--rate must be a whole number, 0-1000000, got "fast"`},
		{Config{Port: -1}.Validate(), "--port must be 0-65535, got -1"},
		{Config{Timeout: 1500 * time.Millisecond}.Validate(), "--timeout must be at least 30 seconds, got 1.5s"},
		{Config{MaxMessage: 1000}.Validate(), "max message size must be at least 1024 bytes, got 1000"},
		{Config{Rate: 1_000_001}.Validate(), "--rate must be 0-1000000, got 1000001"},
	}
	for _, tc := range tests {
		if tc.err == nil || tc.err.Error() != tc.want {
			t.Errorf("got %v, want %q", tc.err, tc.want)
		}
	}
	if err := (Config{Rate: -5}).Validate(); err != nil {
		t.Errorf("a negative rate, which turns the limit off, refused: %v", err)
	}
}

func TestSetReadsTheCommandLinesUnits(t *testing.T) {
	var c Config
	for _, l := range limits {
		switch l.Flag {
		case "timeout":
			l.Set(&c, 90)
		case "rate":
			l.Set(&c, 0)
		case "max-outbound":
			l.Set(&c, 70000)
		}
	}
	if c.Timeout != 90*time.Second || c.Rate != -1 || c.MaxOutbound != 70000 {
		t.Errorf("Timeout %v, Rate %d, MaxOutbound %d; want 1m30s, -1 (off), 70000", c.Timeout, c.Rate, c.MaxOutbound)
	}
}

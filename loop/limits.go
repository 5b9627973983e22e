package loop

import (
	"fmt"
	"slices"
	"strconv"
	"time"
)

// Unit is what a Limit's numbers count.
type Unit uint8

// Units of a Limit.
const (
	UnitCount Unit = iota
	UnitBytes
	// UnitSeconds: the command line gives whole seconds; Config holds a
	// time.Duration.
	UnitSeconds
)

func (u Unit) String() string {
	switch u {
	case UnitBytes:
		return "bytes"
	case UnitSeconds:
		return "seconds"
	}
	return ""
}

// Limit is one bounded numeric setting of Config: its flag, range, default
// and help. The table of them (Limits) is where each is written down once:
// Config's defaults and validation, redrtc's flags and --help, and the test
// that the README's and docs/security.md's tables agree all read it.
type Limit struct {
	// Flag is the long command-line name, without dashes, and Short the
	// one-letter one ("" when there is none). Name is what errors call a
	// limit that has no flag.
	Flag, Short, Name string
	// Arg names the flag's value in --help: N or SEC.
	Arg  string
	Unit Unit
	// Default, Min and Max are in Unit. Max 0 means no upper bound.
	Default, Min, Max int
	// AtLeast words errors "at least Min"/"at most Max", as --timeout's
	// always have, rather than "Min-Max".
	AtLeast bool
	// ZeroOff makes 0 on the command line turn the limit off, which Config
	// says with a negative value, as its 0 means the default.
	ZeroOff bool
	// ZeroKept makes Config's 0 a value of its own (for the port: any free
	// port) rather than "the default"; Default is the command line's.
	ZeroKept bool
	// Help is --help's text before the range and default; Note follows
	// them.
	Help, Note string

	// testMin lets start's minTimeout lower Min, so that tests of timeouts
	// need not wait 30 s.
	testMin  bool
	intField func(*Config) *int
	durField func(*Config) *time.Duration
}

// limits is the table; its order is that of --help and of validation.
var limits = []Limit{
	{Flag: "port", Short: "p", Arg: "N", Default: 8080, Min: 1, Max: 65535, ZeroKept: true,
		Help:     "TCP port to listen on",
		intField: func(c *Config) *int { return &c.Port }},
	{Flag: "clients", Short: "c", Arg: "N", Default: DefaultClients, Min: 1, Max: MaxClients,
		Help:     "most clients connected at once",
		intField: func(c *Config) *int { return &c.Clients }},
	{Flag: "rooms", Short: "r", Arg: "N", Default: DefaultRooms, Min: 1, Max: MaxRooms,
		Help:     "most rooms open at once",
		intField: func(c *Config) *int { return &c.Rooms }},
	{Flag: "timeout", Short: "t", Arg: "SEC", Unit: UnitSeconds, AtLeast: true, testMin: true,
		Default: int(DefaultTimeout / time.Second), Min: int(MinTimeout / time.Second), Max: maxSeconds,
		Help:     "close a client silent for SEC seconds",
		Note:     "pings go out at a third of it",
		durField: func(c *Config) *time.Duration { return &c.Timeout }},
	{Flag: "rate", Arg: "N", Default: DefaultRate, Min: 0, Max: 1_000_000, ZeroOff: true,
		Help:     "messages per second each client may send, each started 4 KiB counting as one",
		intField: func(c *Config) *int { return &c.Rate }},
	{Flag: "burst", Arg: "N", Default: DefaultBurst, Min: 1, Max: 1_000_000,
		Help:     "messages a client may send at once, before --rate paces it",
		intField: func(c *Config) *int { return &c.Burst }},
	{Flag: "rate-kick", Arg: "SEC", Unit: UnitSeconds,
		Default: int(DefaultRateKick / time.Second), Min: 1, Max: maxSeconds,
		Help:     "close a client over its rate for SEC seconds",
		durField: func(c *Config) *time.Duration { return &c.RateKick }},
	{Flag: "max-outbound", Arg: "N", Unit: UnitBytes, Default: DefaultMaxOutbound, Min: 64 << 10, Max: 1 << 30,
		Help:     "close a client with more than N bytes waiting to be sent to it",
		intField: func(c *Config) *int { return &c.MaxOutbound }},
	{Flag: "join-timeout", Arg: "SEC", Unit: UnitSeconds, AtLeast: true, testMin: true,
		Default: int(DefaultJoinTimeout / time.Second), Min: int(MinTimeout / time.Second), Max: maxSeconds,
		Help:     "close a client in no room for SEC seconds",
		durField: func(c *Config) *time.Duration { return &c.JoinTimeout }},
	{Flag: "resume-grace", Arg: "SEC", Unit: UnitSeconds, ZeroOff: true,
		Default: int(DefaultResumeGrace / time.Second), Min: 0, Max: maxSeconds,
		Help:     "keep a dropped client's session SEC seconds for it to resume",
		Note:     "0 turns resume off",
		durField: func(c *Config) *time.Duration { return &c.ResumeGrace }},
	{Name: "max message size", Unit: UnitBytes, AtLeast: true, Default: DefaultMaxMessage, Min: 1024,
		Help:     "largest message, fragments included",
		intField: func(c *Config) *int { return &c.MaxMessage }},
}

// maxSeconds bounds the timeouts: a day is longer than any of them needs to
// be, and far from where seconds overflow a time.Duration.
const maxSeconds = 86400

// Limits returns the table of limits, in the order of --help.
func Limits() []Limit { return slices.Clone(limits) }

// Set sets l's field of c to v, given in l.Unit as on the command line.
func (l Limit) Set(c *Config, v int) {
	switch {
	case l.ZeroOff && v == 0:
		l.setRaw(c, -1)
	default:
		l.setRaw(c, int64(v)*l.scale())
	}
}

// Check refuses a command-line value out of l's range.
func (l Limit) Check(v int) error {
	if v >= l.Min && (l.Max == 0 || v <= l.Max) {
		return nil
	}
	got := strconv.Itoa(v)
	if l.AtLeast && l.Unit == UnitSeconds {
		got += "s" // "at least 30 seconds, got 29s"
	}
	return l.outOfRange(l.Min, v < l.Min, got)
}

// NotANumber is the error for a command-line value that is not a whole
// number.
func (l Limit) NotANumber(s string) error {
	valid := fmt.Sprintf("%d-%d", l.Min, l.Max)
	if l.Unit == UnitSeconds {
		valid += " seconds"
	}
	return fmt.Errorf("%s must be a whole number, %s, got %q", l.name(), valid, s)
}

// withDefault fills in l's field of c when it is zero.
func (l Limit) withDefault(c *Config) {
	if !l.ZeroKept && l.raw(c) == 0 {
		l.setRaw(c, int64(l.Default)*l.scale())
	}
}

// validate refuses c's value of l when it is out of range; testMin limits
// take minTimeout as their minimum.
func (l Limit) validate(c *Config, minTimeout time.Duration) error {
	v := l.raw(c)
	if l.ZeroOff && v < 0 {
		v = 0
	}
	lo, hi := int64(l.Min)*l.scale(), int64(l.Max)*l.scale()
	switch {
	case l.ZeroKept:
		lo = 0
	case l.testMin:
		lo = int64(minTimeout)
	}
	if v >= lo && (l.Max == 0 || v <= hi) {
		return nil
	}
	got := strconv.FormatInt(v, 10)
	if l.Unit == UnitSeconds {
		got = time.Duration(v).String()
	}
	return l.outOfRange(int(lo/l.scale()), v < lo, got)
}

func (l Limit) outOfRange(lo int, below bool, got string) error {
	switch {
	case !l.AtLeast:
		return fmt.Errorf("%s must be %d-%d, got %s", l.name(), lo, l.Max, got)
	case below:
		return fmt.Errorf("%s must be at least %d %s, got %s", l.name(), lo, l.Unit, got)
	}
	return fmt.Errorf("%s must be at most %d %s, got %s", l.name(), l.Max, l.Unit, got)
}

func (l Limit) name() string {
	if l.Flag == "" {
		return l.Name
	}
	return "--" + l.Flag
}

// scale is the size of one Unit in the Config field: a second for a
// duration, 1 for the rest.
func (l Limit) scale() int64 {
	if l.durField != nil {
		return int64(time.Second)
	}
	return 1
}

func (l Limit) raw(c *Config) int64 {
	if l.durField != nil {
		return int64(*l.durField(c))
	}
	return int64(*l.intField(c))
}

func (l Limit) setRaw(c *Config, v int64) {
	if l.durField != nil {
		*l.durField(c) = time.Duration(v)
		return
	}
	*l.intField(c) = int(v)
}

package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"reflect"
	"strings"
)

// envPrefix starts the environment variable of every long flag:
// --allowed-origins is REDRTC_ALLOWED_ORIGINS.
const envPrefix = "REDRTC_"

// notFromEnv are the flags that ask for something once rather than
// configure the server, and so have no variable: a REDRTC_VERSION left in a
// container's environment must not turn the server into a version printer.
var notFromEnv = map[string]bool{"help": true, "h": true, "version": true}

// readOwnVariable are the flags whose variable is read where the flag is
// used (secretFrom), after the command line: a --auth-secret-file given
// there must win over REDRTC_AUTH_SECRET, not clash with it.
var readOwnVariable = map[string]bool{"auth-secret": true, "turn-secret": true}

// envVar is a flag's environment variable: --rate-kick is REDRTC_RATE_KICK.
func envVar(flagName string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// fromEnv records which flags took their value from the environment, so
// that an error about one names the variable that set it.
type fromEnv map[string]string // flag name -> variable

// applyEnv sets each long flag not given on the command line from its
// REDRTC_ variable, when that is set (even to ""); a flag on the command
// line, under either of its names, wins. It works from the FlagSet alone,
// so a flag added later gets its variable with no more code. Short names
// share their long name's Value, which is how a flag given as -p counts as
// --port given.
func applyEnv(fs *flag.FlagSet, lookup func(string) (string, bool)) (fromEnv, error) {
	given := map[flag.Value]bool{}
	fs.Visit(func(f *flag.Flag) {
		if comparable(f.Value) {
			given[f.Value] = true
		}
	})
	from := fromEnv{}
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if err != nil || len(f.Name) == 1 || notFromEnv[f.Name] || readOwnVariable[f.Name] {
			return
		}
		if comparable(f.Value) && given[f.Value] {
			return
		}
		name := envVar(f.Name)
		v, ok := lookup(name)
		if !ok {
			return
		}
		if e := fs.Set(f.Name, v); e != nil {
			if !mentionsFlag(e.Error(), f.Name) {
				e = fmt.Errorf("invalid value %q for --%s: %w", v, f.Name, e)
			}
			err = &envError{err: e, variable: name}
			return
		}
		from[f.Name] = name
	})
	return from, err
}

// comparable reports whether v can be a map key: every flag.Value of the
// standard library and of this package is a pointer, but a Value need not be.
func comparable(v flag.Value) bool { return reflect.TypeOf(v).Comparable() }

// blame adds to an error about a flag that took its value from the
// environment the variable it came from: "--port must be 1-65535, got 0
// (from REDRTC_PORT)". Errors name flags as --name, and so does this.
func (from fromEnv) blame(err error) error {
	var already *envError
	if err == nil || errors.As(err, &already) {
		return err
	}
	for flagName, v := range from {
		if mentionsFlag(err.Error(), flagName) {
			return &envError{err: err, variable: v}
		}
	}
	return err
}

// mentionsFlag reports whether msg names --name as a whole flag (not
// --name-more).
func mentionsFlag(msg, name string) bool {
	for rest := msg; ; {
		i := strings.Index(rest, "--"+name)
		if i < 0 {
			return false
		}
		rest = rest[i+2+len(name):]
		if rest == "" || !(rest[0] == '-' || rest[0] >= 'a' && rest[0] <= 'z') {
			return true
		}
	}
}

// envError is an error about a flag set from the environment.
type envError struct {
	err      error
	variable string
}

func (e *envError) Error() string { return fmt.Sprintf("%v (from %s)", e.err, e.variable) }
func (e *envError) Unwrap() error { return e.err }

// printEnvironment ends --help with every flag's variable, from the flag set
// itself, so that the list cannot miss one.
func printEnvironment(w io.Writer, fs *flag.FlagSet) {
	var b strings.Builder
	b.WriteString("\nEvery option can also be set in the environment, as REDRTC_ and its long\nname in capitals, - as _ (true or false for a switch); an option on the\ncommand line wins:\n")
	fs.VisitAll(func(f *flag.Flag) {
		if len(f.Name) > 1 && !notFromEnv[f.Name] {
			writeOption(&b, envVar(f.Name), "--"+f.Name)
		}
	})
	_, _ = io.WriteString(w, b.String())
}

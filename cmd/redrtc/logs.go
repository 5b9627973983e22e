package main

import (
	"time"

	"github.com/rs/zerolog"
)

// logStarting is the first line of a server's log: what is running.
func logStarting(log *zerolog.Logger) {
	log.Info().Str("version", version).Str("commit", builtCommit()).Str("go", goVersion()).Msg("starting")
}

// logStopped is the last line of a graceful shutdown, begun at since.
func logStopped(log *zerolog.Logger, since time.Time) {
	log.Info().Float64("seconds", time.Since(since).Round(time.Millisecond).Seconds()).Msg("stopped")
}

package loop

import (
	"strings"

	"github.com/rs/zerolog"
)

// gnetLogger routes gnet's own logs into zerolog.
type gnetLogger struct{ log zerolog.Logger }

// staleEventFormat starts the warning gnet logs for an event whose descriptor
// it has already closed. Here that is routine: when rooms drop at once, a
// write to a reset room-mate makes gnet close it in the middle of an
// epoll_wait batch that still holds the room-mate's own event, which gnet
// then drops safely. One warning per such client would flood the log at
// every mass disconnect (TestMassDisconnectLogsNoWarnings), so these go to
// debug.
const staleEventFormat = "received event[fd=%d|ev=%d|flags=%d] of a stale connection"

func (l gnetLogger) Debugf(format string, args ...any) { l.log.Debug().Msgf(format, args...) }

// Infof logs at debug level: gnet's information ("Starting gnet client
// with 2 event loops") is about its own insides, which the "listening" line
// already sums up for an operator.
func (l gnetLogger) Infof(format string, args ...any)  { l.log.Debug().Msgf(format, args...) }
func (l gnetLogger) Errorf(format string, args ...any) { l.log.Error().Msgf(format, args...) }

func (l gnetLogger) Warnf(format string, args ...any) {
	if strings.HasPrefix(format, staleEventFormat) {
		l.log.Debug().Msgf(format, args...)
		return
	}
	l.log.Warn().Msgf(format, args...)
}

// Fatalf logs at error level rather than exiting the process: the caller
// decides what a failed engine means.
func (l gnetLogger) Fatalf(format string, args ...any) { l.log.Error().Msgf(format, args...) }

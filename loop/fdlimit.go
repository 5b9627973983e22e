package loop

import (
	"golang.org/x/sys/unix"
)

// fdOverhead is the descriptors the process needs besides its clients: the
// listener, epoll instances and eventfds, stdio, and some slack.
const fdOverhead = 64

// checkFileLimit raises the soft open-files limit to the hard one, since each
// client is one descriptor, and warns when --clients cannot fit under it.
func (s *Server) checkFileLimit() {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		s.log.Warn().Err(err).Msg("cannot read the open-files limit")
		return
	}
	if lim.Cur < lim.Max {
		raised := lim
		raised.Cur = lim.Max
		if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &raised); err != nil {
			s.log.Warn().Err(err).Uint64("soft", lim.Cur).Uint64("hard", lim.Max).Msg("cannot raise the open-files limit")
		} else {
			lim = raised
		}
	}
	if need := uint64(s.cfg.Clients) + fdOverhead; lim.Cur < need {
		s.log.Warn().Int("clients", s.cfg.Clients).Uint64("open_files_limit", lim.Cur).
			Msgf("--clients %d cannot be reached: the open-files limit is %d and each client takes one; "+
				"raise it (ulimit -n %d, or LimitNOFILE=%d in the systemd unit) or lower --clients",
				s.cfg.Clients, lim.Cur, need, need)
	}
}

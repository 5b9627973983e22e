package loop

// Why a resume was refused: each is one value of the reason label of
// redrtc_resume_failures_total.
const (
	resumeOff          = iota // --resume-grace 0
	resumeOutOfOrder          // after join-room or ack
	resumeNoSession           // a wrong token, or a session that ended
	resumeNotResumable        // the session's client never sent ack
	resumeSeqAhead            // lastSeq past the last event sent
	resumeRaced               // another resume took the session first
	resumeFailureCount
)

var resumeFailureNames = [resumeFailureCount]string{
	resumeOff:          "off",
	resumeOutOfOrder:   "out_of_order",
	resumeNoSession:    "no_session",
	resumeNotResumable: "not_resumable",
	resumeSeqAhead:     "seq_ahead",
	resumeRaced:        "raced",
}

// resumeRefusal is why a resume was refused: what the client is told, and
// the reason counted.
type resumeRefusal struct {
	reason int
	why    string
}

var (
	refusedResumeOff        = resumeRefusal{resumeOff, "resume is off on this server"}
	refusedResumeOutOfOrder = resumeRefusal{resumeOutOfOrder, "resume must come before join-room and ack"}
	refusedResumeNoSession  = resumeRefusal{resumeNoSession, "no session to resume with this clientId and resumeToken"}
	refusedResumeNoAck      = resumeRefusal{resumeNotResumable, "the session is not resumable: its client never sent ack"}
	refusedResumeSeqAhead   = resumeRefusal{resumeSeqAhead, "lastSeq is ahead of the last event sent"}
	refusedResumeRaced      = resumeRefusal{resumeRaced, "the session was resumed by another connection"}
)

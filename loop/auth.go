package loop

import (
	"time"

	"github.com/redrtc/redrtc/auth"
	"github.com/redrtc/redrtc/proto"
	"github.com/redrtc/redrtc/registry"
)

// Access tokens are checked once, where a client offers one: at the upgrade
// (?token= or Authorization: Bearer) and in join-room's data.token. Nothing
// per relayed message. The rules, which docs/security.md states:
//   - With Config.Auth nil, tokens are ignored wherever they appear.
//   - A bad token at the upgrade gets 401 before it; no token there is fine,
//     and then every join needs a token of its own.
//   - A good token at the upgrade is remembered (rareState.grant): it
//     authorises joins to its room (or any room, for "*") made before it
//     expires, with the verifier's leeway.
//   - A token in join-room decides that join alone, even where the
//     connection's own token would have allowed it, so that a client never
//     gets in on a credential other than the one it presented.
//   - Expiry is checked when a client joins, never after: a member whose
//     token expires stays in its room until it leaves or is closed.

// upgradeAuthorized checks the token in the request r, when access
// tokens are on. A bad one is answered with 401 and a short reason, and the
// connection closed; the caller then consumes the request and stops.
func (s *Server) upgradeAuthorized(c *conn, r *httpRequest) bool {
	v := s.cfg.Auth
	if v == nil {
		return true
	}
	tok, why := upgradeToken(r)
	switch {
	case why != "":
	case tok == nil:
		return true
	default:
		g, err := v.Verify(string(tok))
		if err == nil {
			c.rareState().grant = &g
			return true
		}
		why = err.Error()
	}
	s.log.Debug().Str("reason", why).Msg("upgrade refused: token")
	s.httpReply(c, false, "401 Unauthorized", why+"\n")
	return false
}

// joinAuthorized checks a join to room against the rules above, answering a
// refusal with an unauthorized error; the connection stays usable.
func (c *conn) joinAuthorized(m *proto.Message, room []byte) bool {
	v := c.ls.srv.cfg.Auth
	if v == nil {
		return true
	}
	why := ""
	switch g := c.connectGrant(); {
	case m.Token != nil:
		if _, err := v.VerifyRoom(string(m.Token), room); err != nil {
			why = err.Error()
		}
	case g == nil:
		why = "join-room needs a token for the room"
	case !g.Allows(room):
		why = auth.ErrWrongRoom.Error()
	case time.Now().After(g.Expires.Add(v.Leeway())):
		why = "the connection's token has expired; send one with join-room"
	}
	if why == "" {
		return true
	}
	c.sendError(proto.Problem{Code: proto.CodeUnauthorized, Message: why, Event: proto.EventJoinRoom})
	return false
}

// connectGrant is what the token given at the upgrade allows, or nil.
func (c *conn) connectGrant() *auth.Grant {
	if c.rare == nil {
		return nil
	}
	return c.rare.grant
}

// appendRoomJoined encodes room-joined for joiner, with iceServers when
// they are configured: the STUN URIs, and the TURN URIs with a credential
// minted for this client (coturn's use-auth-secret scheme).
func (ls *loopState) appendRoomJoined(dst []byte, r *registry.Room, joiner *registry.Client, ids []proto.ClientID) []byte {
	ice := ls.srv.cfg.ICE
	if ice == nil {
		return proto.AppendRoomJoined(dst, r.ID, r.Name, ids)
	}
	servers := proto.ICEServers{STUN: ice.STUN(), TURN: ice.TURN()}
	var idBuf [36]byte
	var userBuf, credBuf [64]byte
	if len(servers.TURN) > 0 {
		servers.Username = ice.AppendUsername(userBuf[:0], joiner.ID.AppendText(idBuf[:0]), time.Now())
		servers.Credential = ice.AppendCredential(credBuf[:0], servers.Username)
	}
	return proto.AppendRoomJoinedICE(dst, r.ID, r.Name, ids, &servers)
}

package login

import (
	"context"
	"crypto/subtle"
	"errors"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/greyrouter/greyrouter/internal/apperr"
)

// TokenIssuer signs access tokens (see Issuer).
type TokenIssuer interface {
	Issue(c AccessClaims) (string, AccessClaims, error)
}

// TokenVerifier verifies access tokens (login/verify.Verifier).
type TokenVerifier interface {
	Verify(ctx context.Context, token string) (Principal, error)
}

// RevocationSink is the in-process revocation state of this process's own
// verifier; the service applies its revocations there at once, before the
// feed carries them to other processes.
type RevocationSink interface {
	Apply(rs ...Revocation)
}

// ServiceConfig holds the session and token policy.
type ServiceConfig struct {
	// SessionIdle ends a session that was not used (by cookie or refresh)
	// for this long.
	SessionIdle time.Duration
	// SessionLifetime ends every session this long after login, however
	// active; refresh tokens expire with their session.
	SessionLifetime time.Duration
	// MaxSessionsPerUser, when positive, evicts a user's oldest sessions
	// at login beyond this many.
	MaxSessionsPerUser int
	// MaxTokenLifetime is the longest an access token lives (plus clock
	// leeway): how long a revocation event must be remembered.
	MaxTokenLifetime time.Duration
}

// ServiceDeps are the Service's collaborators; all are required except
// Sink and TenantExists.
type ServiceDeps struct {
	Users         UserStore
	Clients       ClientStore
	Sessions      SessionStore
	Revocations   RevocationStore
	Feed          RevocationFeed
	Sink          RevocationSink
	Authenticator *Authenticator
	Hasher        *Hasher
	Issuer        TokenIssuer
	Verifier      TokenVerifier
	Audit         Auditor
	// TenantExists returns NotFound for an unknown tenant.
	TenantExists func(ctx context.Context, tenant string) error
	Log          *slog.Logger
	Now          func() time.Time
}

// Service is the login service: it turns passwords and client secrets into
// sessions and tokens, and revokes them.
type Service struct {
	ServiceDeps
	cfg ServiceConfig

	mu      sync.Mutex
	pending []Revocation // recorded but not yet published; retried by Maintain
}

// NewService returns a Service.
func NewService(cfg ServiceConfig, d ServiceDeps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.TenantExists == nil {
		d.TenantExists = func(context.Context, string) error { return nil }
	}
	return &Service{ServiceDeps: d, cfg: cfg}
}

// Grant is what a login or refresh hands out. SessionCredential and
// CSRFToken are set only at login.
type Grant struct {
	AccessToken       string    `json:"access_token"`
	TokenType         string    `json:"token_type"`
	ExpiresIn         int       `json:"expires_in"`
	ExpiresAt         time.Time `json:"-"`
	RefreshToken      string    `json:"refresh_token,omitempty"`
	SessionCredential string    `json:"-"`
	CSRFToken         string    `json:"-"`
	Session           Session   `json:"session,omitzero"`
}

// Login checks a password and starts a new session.
func (s *Service) Login(ctx context.Context, at Attempt) (Grant, error) {
	u, err := s.Authenticator.Authenticate(ctx, at)
	if err != nil {
		return Grant{}, err
	}
	now := s.Now().UTC()
	sess := Session{
		ID: NewSessionID(), Tenant: u.Tenant, UserID: u.ID, Username: u.Username,
		Platform: u.Platform, Admin: u.Admin, Generation: u.Generation,
		IP: validIPString(at), UserAgent: truncate(at.UserAgent, 256), CSRFToken: NewSecret(),
		CreatedAt: now, LastSeenAt: now,
		IdleExpiresAt: minTime(now.Add(s.cfg.SessionIdle), now.Add(s.cfg.SessionLifetime)),
		ExpiresAt:     now.Add(s.cfg.SessionLifetime),
	}
	cred := NewCredential(SessionCredential, u.ID, sess.ID)
	refresh := NewCredential(RefreshToken, u.ID, sess.ID)
	evicted, err := s.Sessions.CreateSession(ctx, sess, cred.Hash(), refresh.Hash(), s.cfg.MaxSessionsPerUser)
	if err != nil {
		return Grant{}, err
	}
	for _, e := range evicted {
		s.audit(ctx, AuditEvent{Kind: "session_revoked", Reason: "session_limit", Tenant: e.Tenant, Username: e.Username, UserID: e.UserID, SessionID: e.ID, At: now})
		if err := s.revoke(ctx, s.sessionRevocation(e, "session_limit", now)); err != nil {
			return Grant{}, err
		}
	}
	g, err := s.issue(sess)
	if err != nil {
		return Grant{}, err
	}
	g.RefreshToken, g.SessionCredential, g.CSRFToken, g.Session = refresh.String(), cred.String(), sess.CSRFToken, sess
	return g, nil
}

// issue signs an access token for a session.
func (s *Service) issue(sess Session) (Grant, error) {
	tok, c, err := s.Issuer.Issue(AccessClaims{
		Tenant: sess.Tenant, SessionID: sess.ID, Generation: sess.Generation, Name: sess.Username,
		Platform: sess.Platform, Admin: sess.Admin,
		RegisteredClaims: registered(sess.UserID),
	})
	if err != nil {
		return Grant{}, err
	}
	return grant(tok, c, s.Now()), nil
}

// Refresh exchanges a refresh token for a new access token and a new
// refresh token. A token presented twice revokes its session.
func (s *Service) Refresh(ctx context.Context, token string, meta RequestMeta) (Grant, error) {
	cred, ok := ParseCredential(token, RefreshToken)
	if !ok {
		return Grant{}, ErrSessionNotFound
	}
	now := s.Now().UTC()
	next := NewCredential(RefreshToken, cred.UserID, cred.SessionID)
	sess, err := s.Sessions.RotateRefresh(ctx, cred.UserID, cred.SessionID, cred.Hash(), next.Hash(), now, s.cfg.SessionIdle)
	if errors.Is(err, ErrRefreshReused) {
		s.audit(ctx, AuditEvent{Kind: "refresh_reused", Tenant: sess.Tenant, Username: sess.Username, UserID: sess.UserID, SessionID: sess.ID, IP: meta.IP, UserAgent: meta.UserAgent, At: now})
		if rerr := s.revoke(ctx, s.sessionRevocation(sess, "refresh_reused", now)); rerr != nil {
			s.Log.Warn("could not publish a session revocation", "err", rerr)
		}
		return Grant{}, err
	}
	if err != nil {
		return Grant{}, err
	}
	// The session outlives nothing its user lost: a password change or a
	// disable bumps the generation (and deletes sessions, but this check
	// holds even if that deletion failed).
	u, err := s.Users.GetUserByID(ctx, sess.UserID)
	if err != nil || u.Status != UserActive || u.Generation != sess.Generation || u.Tenant != sess.Tenant {
		if _, derr := s.Sessions.DeleteSession(ctx, sess.UserID, sess.ID); derr != nil && !errors.Is(derr, ErrSessionNotFound) {
			s.Log.Warn("could not delete a stale session", "err", derr)
		}
		if err != nil && !apperr.Is(err, apperr.NotFound) {
			return Grant{}, apperr.Wrap(apperr.Unavailable, err, "refresh temporarily unavailable")
		}
		return Grant{}, ErrSessionNotFound
	}
	g, err := s.issue(sess)
	if err != nil {
		return Grant{}, err
	}
	g.RefreshToken = next.String()
	return g, nil
}

// RequestMeta describes the client of a request, for the audit trail.
type RequestMeta struct {
	IP        string
	UserAgent string
}

// AuthenticateSession returns the principal of a session credential (the
// web UI's cookie) and extends the session's idle timeout.
func (s *Service) AuthenticateSession(ctx context.Context, credential string) (Principal, Session, error) {
	cred, ok := ParseCredential(credential, SessionCredential)
	if !ok {
		return Principal{}, Session{}, ErrSessionNotFound
	}
	sess, err := s.Sessions.UseSession(ctx, cred.UserID, cred.SessionID, cred.Hash(), s.Now().UTC(), s.cfg.SessionIdle)
	if err != nil {
		return Principal{}, Session{}, err
	}
	// Revocations delete sessions, but a deletion can fail while the
	// generation bump in the database did not: check it here too (cookie
	// requests are few; the database answers in well under a millisecond).
	u, err := s.Users.GetUserByID(ctx, sess.UserID)
	if err != nil || u.Status != UserActive || u.Generation != sess.Generation || u.Tenant != sess.Tenant {
		if err != nil && !apperr.Is(err, apperr.NotFound) {
			return Principal{}, Session{}, apperr.Wrap(apperr.Unavailable, err, "session check temporarily unavailable")
		}
		if _, derr := s.Sessions.DeleteSession(ctx, sess.UserID, sess.ID); derr != nil && !errors.Is(derr, ErrSessionNotFound) {
			s.Log.Warn("could not delete a stale session", "err", derr)
		}
		return Principal{}, Session{}, ErrSessionNotFound
	}
	return Principal{
		Kind: PrincipalUser, Subject: sess.UserID, Tenant: sess.Tenant, Name: sess.Username,
		SessionID: sess.ID, Platform: sess.Platform, Admin: sess.Admin, Generation: sess.Generation,
		ExpiresAt: sess.ExpiresAt,
	}, sess, nil
}

// AuthenticateToken verifies an access token.
func (s *Service) AuthenticateToken(ctx context.Context, token string) (Principal, error) {
	return s.Verifier.Verify(ctx, token)
}

// Logout ends the principal's session and every token issued in it.
func (s *Service) Logout(ctx context.Context, p Principal, meta RequestMeta) error {
	if p.SessionID == "" {
		return apperr.New(apperr.Invalid, "this credential has no session to log out of")
	}
	sess, err := s.Sessions.DeleteSession(ctx, p.Subject, p.SessionID)
	if err != nil && !errors.Is(err, ErrSessionNotFound) {
		return err
	}
	now := s.Now().UTC()
	s.audit(ctx, AuditEvent{Kind: "logout", Tenant: p.Tenant, Username: p.Name, UserID: p.Subject, SessionID: p.SessionID, IP: meta.IP, UserAgent: meta.UserAgent, At: now})
	if sess.ID == "" {
		sess = Session{ID: p.SessionID, Tenant: p.Tenant, UserID: p.Subject}
	}
	return s.revoke(ctx, s.sessionRevocation(sess, "logout", now))
}

// ListSessions returns the live sessions of a user of tenant.
func (s *Service) ListSessions(ctx context.Context, tenant, userID string) ([]Session, error) {
	if _, err := s.GetUser(ctx, tenant, userID); err != nil {
		return nil, err
	}
	return s.Sessions.ListSessions(ctx, userID, s.Now().UTC())
}

// RevokeSession ends one session of a user of tenant.
func (s *Service) RevokeSession(ctx context.Context, actor Principal, tenant, userID, sid string) error {
	if !ValidSessionID(sid) {
		return apperr.New(apperr.NotFound, "session %q not found", sid)
	}
	if _, err := s.GetUser(ctx, tenant, userID); err != nil {
		return err
	}
	sess, err := s.Sessions.DeleteSession(ctx, userID, sid)
	if errors.Is(err, ErrSessionNotFound) {
		return apperr.New(apperr.NotFound, "session %q not found", sid)
	}
	if err != nil {
		return err
	}
	now := s.Now().UTC()
	s.audit(ctx, AuditEvent{Kind: "session_revoked", Tenant: sess.Tenant, Username: sess.Username, UserID: sess.UserID, SessionID: sess.ID, Actor: actor.Actor(), At: now})
	return s.revoke(ctx, s.sessionRevocation(sess, "session_revoked", now))
}

// LogoutEverywhere ends every session of a user of tenant and every access
// token issued to it, by bumping its generation.
func (s *Service) LogoutEverywhere(ctx context.Context, actor Principal, tenant, userID string) error {
	u, err := s.GetUser(ctx, tenant, userID)
	if err != nil {
		return err
	}
	return s.bumpUser(ctx, actor, u, "logout_everywhere", func(*User) {})
}

// bumpUser applies change to u, increments its generation and stores it;
// then ends all of its sessions and publishes the revocation of every
// token issued under older generations. The database write comes first:
// it is the truth that refresh checks, even if Redis is briefly away.
func (s *Service) bumpUser(ctx context.Context, actor Principal, u User, kind string, change func(*User)) error {
	now := s.Now().UTC()
	change(&u)
	u.Generation++
	u.UpdatedAt = now
	if err := s.Users.UpdateUser(ctx, u); err != nil {
		return err
	}
	s.audit(ctx, AuditEvent{Kind: kind, Tenant: u.Tenant, Username: u.Username, UserID: u.ID, Actor: actor.Actor(), At: now})
	rerr := s.revoke(ctx, Revocation{Kind: RevokeSubject, Subject: u.ID, Generation: u.Generation, Tenant: u.Tenant,
		Reason: kind, At: now, ExpiresAt: now.Add(s.cfg.MaxTokenLifetime)})
	if _, err := s.Sessions.DeleteUserSessions(ctx, u.ID); err != nil {
		return errors.Join(err, rerr)
	}
	return rerr
}

// NewUser is a request to create a user.
type NewUser struct {
	Tenant      string
	Username    string
	Password    string
	DisplayName string
	Email       string
	Admin       bool
	Platform    bool
}

// CreateUser creates an active user with a password that passes the
// password policy.
func (s *Service) CreateUser(ctx context.Context, actor Principal, n NewUser) (User, error) {
	now := s.Now().UTC()
	u := User{
		ID: NewUserID(), Tenant: n.Tenant, Username: NormalizeUsername(n.Username),
		DisplayName: n.DisplayName, Email: n.Email, Status: UserActive,
		Platform: n.Platform, Admin: n.Admin && !n.Platform,
		PasswordChangedAt: now, CreatedAt: now, UpdatedAt: now,
	}
	if err := u.Validate(); err != nil {
		return User{}, err
	}
	if !u.Platform {
		if err := s.TenantExists(ctx, u.Tenant); err != nil {
			return User{}, err
		}
	}
	if err := CheckNewPassword(n.Password, u.Username); err != nil {
		return User{}, err
	}
	h, err := s.Hasher.Hash(ctx, n.Password)
	if err != nil {
		return User{}, err
	}
	u.PasswordHash = h
	if err := s.Users.CreateUser(ctx, u); err != nil {
		return User{}, err
	}
	s.audit(ctx, AuditEvent{Kind: "user_created", Tenant: u.Tenant, Username: u.Username, UserID: u.ID, Actor: actor.Actor(), At: now})
	return u, nil
}

// GetUser returns the user with id in tenant; a user of another tenant is
// NotFound.
func (s *Service) GetUser(ctx context.Context, tenant, id string) (User, error) {
	u, err := s.Users.GetUserByID(ctx, id)
	if err == nil && (u.Tenant != tenant || u.Platform != (tenant == "")) {
		err = apperr.New(apperr.NotFound, "user %q not found", id)
	}
	return u, err
}

// UserUpdate changes a user's profile, status or admin flag; nil fields
// stay as they are.
type UserUpdate struct {
	DisplayName *string
	Email       *string
	Status      *UserStatus
	Admin       *bool
}

// UpdateUser applies an update. Disabling or locking a user revokes all of
// its sessions and tokens at once.
func (s *Service) UpdateUser(ctx context.Context, actor Principal, tenant, id string, up UserUpdate) (User, error) {
	u, err := s.GetUser(ctx, tenant, id)
	if err != nil {
		return User{}, err
	}
	next := u
	if up.DisplayName != nil {
		next.DisplayName = *up.DisplayName
	}
	if up.Email != nil {
		next.Email = *up.Email
	}
	if up.Status != nil {
		next.Status = *up.Status
	}
	if up.Admin != nil {
		next.Admin = *up.Admin && !next.Platform
	}
	if err := next.Validate(); err != nil {
		return User{}, err
	}
	if actor.Subject == u.ID && (next.Status != UserActive || next.Admin != u.Admin) {
		return User{}, apperr.New(apperr.Forbidden, "administrators cannot disable themselves or change their own admin flag")
	}
	// Losing rights or access revokes what was issued with them.
	if next.Status != UserActive && u.Status == UserActive || u.Admin && !next.Admin {
		kind := "user_" + string(next.Status)
		if next.Status == UserActive {
			kind = "user_demoted"
		}
		err := s.bumpUser(ctx, actor, u, kind, func(x *User) { *x = next })
		next.Generation = u.Generation + 1
		return next, err
	}
	next.UpdatedAt = s.Now().UTC()
	if err := s.Users.UpdateUser(ctx, next); err != nil {
		return User{}, err
	}
	if next.Status != u.Status {
		s.audit(ctx, AuditEvent{Kind: "user_" + string(next.Status), Tenant: u.Tenant, Username: u.Username, UserID: u.ID, Actor: actor.Actor(), At: next.UpdatedAt})
	}
	return next, nil
}

// SetPassword replaces a user's password and revokes everything issued to
// it. With current set (the user changing its own password) the current
// password must match; an administrator's reset passes "".
func (s *Service) SetPassword(ctx context.Context, actor Principal, tenant, id, current, password string, reset bool) error {
	u, err := s.GetUser(ctx, tenant, id)
	if err != nil {
		return err
	}
	if !reset {
		// The current-password check is throttled like a login, so that a
		// stolen session cannot guess the password at hashing speed.
		th := s.Authenticator.throttle
		wait, err := th.Allow(ctx, u.Tenant, u.Username, netip.Addr{})
		if err != nil {
			return apperr.Wrap(apperr.Unavailable, err, "password change temporarily unavailable")
		}
		if wait > 0 {
			return throttled(wait)
		}
		ok, _, err := s.Hasher.Verify(ctx, current, u.PasswordHash)
		if err != nil {
			return err
		}
		if !ok {
			if _, err := th.Failed(ctx, u.Tenant, u.Username, netip.Addr{}); err != nil {
				s.Log.Warn("could not record a failed password check", "err", err)
			}
			return apperr.New(apperr.Unprocessable, "the current password is wrong")
		}
	}
	if err := CheckNewPassword(password, u.Username); err != nil {
		return err
	}
	h, err := s.Hasher.Hash(ctx, password)
	if err != nil {
		return err
	}
	kind := "password_changed"
	if reset {
		kind = "password_reset"
	}
	return s.bumpUser(ctx, actor, u, kind, func(x *User) {
		x.PasswordHash, x.PasswordChangedAt = h, s.Now().UTC()
	})
}

// ListUsers returns a page of tenant's users.
func (s *Service) ListUsers(ctx context.Context, tenant string, p UserPage) ([]User, error) {
	return s.Users.ListUsers(ctx, tenant, p)
}

// RevokeToken implements RFC 7009 for every credential the service hands
// out. Unknown, invalid and already revoked tokens are not an error: the
// result is the same, the token does not work.
func (s *Service) RevokeToken(ctx context.Context, token string, meta RequestMeta) error {
	now := s.Now().UTC()
	if cred, ok := ParseCredential(token, RefreshToken); ok {
		// Proving possession consumes the token; then end its session.
		sess, err := s.Sessions.RotateRefresh(ctx, cred.UserID, cred.SessionID, cred.Hash(), HashSecret(NewSecret()), now, s.cfg.SessionIdle)
		if err != nil && !errors.Is(err, ErrRefreshReused) {
			return ignoreNotFound(err)
		}
		return s.endSession(ctx, sess, "token_revoked", meta, now)
	}
	if cred, ok := ParseCredential(token, SessionCredential); ok {
		sess, err := s.Sessions.UseSession(ctx, cred.UserID, cred.SessionID, cred.Hash(), now, s.cfg.SessionIdle)
		if err != nil {
			return ignoreNotFound(err)
		}
		return s.endSession(ctx, sess, "token_revoked", meta, now)
	}
	p, err := s.Verifier.Verify(ctx, token)
	if err != nil {
		return ignoreNotFound(err)
	}
	s.audit(ctx, AuditEvent{Kind: "token_revoked", Tenant: p.Tenant, Username: p.Name, UserID: p.Subject, SessionID: p.SessionID, IP: meta.IP, UserAgent: meta.UserAgent, At: now})
	return s.revoke(ctx, Revocation{Kind: RevokeToken, Subject: p.TokenID, Tenant: p.Tenant, Reason: "token_revoked",
		At: now, ExpiresAt: p.ExpiresAt.Add(time.Minute)})
}

// endSession deletes a session (if still there) and publishes its
// revocation.
func (s *Service) endSession(ctx context.Context, sess Session, reason string, meta RequestMeta, now time.Time) error {
	if _, err := s.Sessions.DeleteSession(ctx, sess.UserID, sess.ID); err != nil && !errors.Is(err, ErrSessionNotFound) {
		return err
	}
	s.audit(ctx, AuditEvent{Kind: reason, Tenant: sess.Tenant, Username: sess.Username, UserID: sess.UserID, SessionID: sess.ID, IP: meta.IP, UserAgent: meta.UserAgent, At: now})
	return s.revoke(ctx, s.sessionRevocation(sess, reason, now))
}

// ignoreNotFound maps "that credential is not valid" to nil.
func ignoreNotFound(err error) error {
	if apperr.Is(err, apperr.Unauthenticated) || apperr.Is(err, apperr.NotFound) {
		return nil
	}
	return err
}

// Introspection is an RFC 7662 introspection answer.
type Introspection struct {
	Active    bool   `json:"active"`
	Subject   string `json:"sub,omitempty"`
	Tenant    string `json:"tid,omitempty"`
	SessionID string `json:"sid,omitempty"`
	ClientID  string `json:"client_id,omitempty"`
	Username  string `json:"username,omitempty"`
	TokenType string `json:"token_type,omitempty"`
	JTI       string `json:"jti,omitempty"`
	Exp       int64  `json:"exp,omitempty"`
	Kind      string `json:"principal_kind,omitempty"`
}

// Introspect reports whether an access token is active and for whom. Only
// access tokens are introspected; any other string is inactive. A
// tenant-bound caller sees tokens of its own tenant only.
func (s *Service) Introspect(ctx context.Context, caller Principal, token string) Introspection {
	p, err := s.Verifier.Verify(ctx, token)
	if err != nil || (!caller.Platform && caller.Tenant != p.Tenant) {
		return Introspection{}
	}
	in := Introspection{Active: true, Subject: p.Subject, Tenant: p.Tenant, SessionID: p.SessionID,
		Username: p.Name, TokenType: "Bearer", JTI: p.TokenID, Exp: p.ExpiresAt.Unix(), Kind: string(p.Kind)}
	if p.Kind == PrincipalClient {
		in.ClientID = p.Subject
	}
	return in
}

// sessionRevocation is the event that ends the tokens of a session.
func (s *Service) sessionRevocation(sess Session, reason string, now time.Time) Revocation {
	return Revocation{Kind: RevokeSession, Subject: sess.ID, Tenant: sess.Tenant, Reason: reason,
		At: now, ExpiresAt: now.Add(s.cfg.MaxTokenLifetime)}
}

// revoke records revocations durably, applies them to this process's
// verifier and publishes them to every other process. A failed publish is
// kept and retried by Maintain; the error is returned so the caller knows
// the revocation has not reached everyone yet.
func (s *Service) revoke(ctx context.Context, rs ...Revocation) error {
	for _, r := range rs {
		if err := s.Revocations.AddRevocation(ctx, r); err != nil {
			return apperr.Wrap(apperr.Unavailable, err, "record revocation")
		}
	}
	if s.Sink != nil {
		s.Sink.Apply(rs...)
	}
	if err := s.Feed.Publish(ctx, rs...); err != nil {
		s.mu.Lock()
		s.pending = append(s.pending, rs...)
		s.mu.Unlock()
		return apperr.Wrap(apperr.Unavailable, err, "publish revocation (recorded; publishing is retried)")
	}
	return nil
}

// RepublishRevocations publishes the recorded revocations that still
// matter, for when the feed lost them (Redis flushed or replaced), and
// retries failed publishes.
func (s *Service) RepublishRevocations(ctx context.Context, all bool) (int, error) {
	s.mu.Lock()
	rs := s.pending
	s.pending = nil
	s.mu.Unlock()
	if all {
		active, err := s.Revocations.ActiveRevocations(ctx, s.Now().UTC())
		if err != nil {
			s.requeue(rs)
			return 0, err
		}
		rs = active
	}
	if len(rs) == 0 && !all {
		return 0, nil
	}
	// With all set and nothing to publish, an empty Publish still
	// (re)creates the feed, so that its absence keeps meaning "lost".
	if err := s.Feed.Publish(ctx, rs...); err != nil {
		s.requeue(rs)
		return 0, err
	}
	return len(rs), nil
}

func (s *Service) requeue(rs []Revocation) {
	s.mu.Lock()
	s.pending = append(rs, s.pending...)
	s.mu.Unlock()
}

func (s *Service) audit(ctx context.Context, e AuditEvent) {
	if s.Audit != nil {
		s.Audit.Record(ctx, e)
	}
}

// NewClient is a request to create a machine client.
type NewClient struct {
	Tenant   string
	Name     string
	Admin    bool
	Platform bool
}

// CreateClient creates a machine client and returns it with its secret,
// which is not stored and cannot be shown again.
func (s *Service) CreateClient(ctx context.Context, actor Principal, n NewClient) (Client, string, error) {
	now := s.Now().UTC()
	secret := NewSecret()
	c := Client{ID: NewClientID(), Tenant: n.Tenant, Name: strings.TrimSpace(n.Name), Status: UserActive,
		Platform: n.Platform, Admin: n.Admin, SecretHash: HashSecret(secret), CreatedAt: now, UpdatedAt: now}
	if c.Platform {
		c.Tenant = ""
	}
	if err := c.Validate(); err != nil {
		return Client{}, "", err
	}
	if !c.Platform {
		if err := s.TenantExists(ctx, c.Tenant); err != nil {
			return Client{}, "", err
		}
	}
	if err := s.Clients.CreateClient(ctx, c); err != nil {
		return Client{}, "", err
	}
	s.audit(ctx, AuditEvent{Kind: "client_created", Tenant: c.Tenant, Username: c.Name, UserID: c.ID, Actor: actor.Actor(), At: now})
	return c, secret, nil
}

// GetClient returns the client id of tenant; a client of another tenant
// is NotFound.
func (s *Service) GetClient(ctx context.Context, tenant, id string) (Client, error) {
	c, err := s.Clients.GetClient(ctx, id)
	if err == nil && (c.Tenant != tenant || c.Platform != (tenant == "")) {
		err = apperr.New(apperr.NotFound, "client %q not found", id)
	}
	return c, err
}

// ListClients returns tenant's clients.
func (s *Service) ListClients(ctx context.Context, tenant string) ([]Client, error) {
	return s.Clients.ListClients(ctx, tenant)
}

// UpdateClient rotates a client's secret (rotate true; the new secret is
// returned) and/or sets its status. Both revoke its tokens.
func (s *Service) UpdateClient(ctx context.Context, actor Principal, tenant, id string, status *UserStatus, rotate bool) (Client, string, error) {
	c, err := s.GetClient(ctx, tenant, id)
	if err != nil {
		return Client{}, "", err
	}
	now := s.Now().UTC()
	var secret string
	if rotate {
		secret = NewSecret()
		c.SecretHash = HashSecret(secret)
	}
	if status != nil {
		c.Status = *status
	}
	if err := c.Validate(); err != nil {
		return Client{}, "", err
	}
	c.Generation++
	c.UpdatedAt = now
	if err := s.Clients.UpdateClient(ctx, c); err != nil {
		return Client{}, "", err
	}
	s.audit(ctx, AuditEvent{Kind: "client_updated", Tenant: c.Tenant, Username: c.Name, UserID: c.ID, Actor: actor.Actor(), At: now})
	err = s.revoke(ctx, Revocation{Kind: RevokeSubject, Subject: c.ID, Generation: c.Generation, Tenant: c.Tenant,
		Reason: "client_updated", At: now, ExpiresAt: now.Add(s.cfg.MaxTokenLifetime)})
	return c, secret, err
}

// DeleteClient deletes a client and revokes its tokens.
func (s *Service) DeleteClient(ctx context.Context, actor Principal, tenant, id string) error {
	c, err := s.GetClient(ctx, tenant, id)
	if err != nil {
		return err
	}
	if err := s.Clients.DeleteClient(ctx, tenant, id); err != nil {
		return err
	}
	now := s.Now().UTC()
	s.audit(ctx, AuditEvent{Kind: "client_deleted", Tenant: c.Tenant, Username: c.Name, UserID: c.ID, Actor: actor.Actor(), At: now})
	return s.revoke(ctx, Revocation{Kind: RevokeSubject, Subject: c.ID, Generation: c.Generation + 1, Tenant: c.Tenant,
		Reason: "client_deleted", At: now, ExpiresAt: now.Add(s.cfg.MaxTokenLifetime)})
}

// ErrInvalidClient is the one answer for an unknown client, a wrong secret
// and a disabled client.
var ErrInvalidClient = apperr.New(apperr.Unauthenticated, "invalid client credentials")

// ClientToken implements the client credentials grant: a client id and
// secret for a short-lived access token. There is no refresh token.
func (s *Service) ClientToken(ctx context.Context, id, secret string, meta RequestMeta) (Grant, error) {
	now := s.Now().UTC()
	c, err := s.Clients.GetClient(ctx, id)
	if err != nil && !apperr.Is(err, apperr.NotFound) {
		return Grant{}, apperr.Wrap(apperr.Unavailable, err, "token endpoint temporarily unavailable")
	}
	got, want := HashSecret(secret), c.SecretHash
	if len(want) != len(got) {
		want = strings.Repeat("0", len(got))
	}
	match := subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
	if err != nil || !match || c.Status != UserActive {
		s.audit(ctx, AuditEvent{Kind: "client_token_failure", Tenant: c.Tenant, UserID: c.ID, IP: meta.IP, UserAgent: meta.UserAgent, At: now})
		return Grant{}, ErrInvalidClient
	}
	tok, claims, err := s.Issuer.Issue(AccessClaims{
		Tenant: c.Tenant, Generation: c.Generation, Name: c.Name, Platform: c.Platform, Admin: c.Admin,
		ClientID: c.ID, RegisteredClaims: registered(c.ID),
	})
	if err != nil {
		return Grant{}, err
	}
	s.audit(ctx, AuditEvent{Kind: "client_token", Tenant: c.Tenant, Username: c.Name, UserID: c.ID, IP: meta.IP, UserAgent: meta.UserAgent, At: now})
	return grant(tok, claims, now), nil
}

func grant(tok string, c AccessClaims, now time.Time) Grant {
	g := Grant{AccessToken: tok, TokenType: "Bearer"}
	if c.ExpiresAt != nil {
		g.ExpiresAt = c.ExpiresAt.Time
		g.ExpiresIn = int(c.ExpiresAt.Sub(now).Round(time.Second).Seconds())
	}
	return g
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

func validIPString(at Attempt) string {
	if !at.IP.IsValid() {
		return ""
	}
	return at.IP.String()
}

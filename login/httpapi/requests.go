package httpapi

import (
	"net/url"

	"github.com/greyrouter/greyrouter/login"
)

// loginRequest is the body of POST /api/v1/login. Tenant is empty for
// platform administrators.
type loginRequest struct {
	Tenant        string `json:"tenant"`
	Username      string `json:"username"`
	Password      string `json:"password"`
	SessionCookie bool   `json:"session_cookie"`
}

func (r *loginRequest) Valid() map[string]string {
	p := map[string]string{}
	required(p, "username", r.Username)
	required(p, "password", r.Password)
	return p
}

// tokenRequest is the body of POST /api/v1/token (RFC 6749 sections 4.4
// and 6). Scope is accepted for compatibility and ignored: tokens carry
// the principal's rights, not scopes.
type tokenRequest struct {
	GrantType    string `json:"grant_type"`
	RefreshToken string `json:"refresh_token"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	Scope        string `json:"scope"`
}

func (r *tokenRequest) setForm(f url.Values) {
	r.GrantType, r.RefreshToken, r.Scope = f.Get("grant_type"), f.Get("refresh_token"), f.Get("scope")
	r.ClientID, r.ClientSecret = f.Get("client_id"), f.Get("client_secret")
}

func (r *tokenRequest) Valid() map[string]string {
	p := map[string]string{}
	required(p, "grant_type", r.GrantType)
	if r.GrantType == grantRefresh {
		required(p, "refresh_token", r.RefreshToken)
	}
	return p
}

// tokenRef is the body of the revocation (RFC 7009) and introspection
// (RFC 7662) endpoints. The hint is accepted and not needed: every kind of
// token is recognized by its shape.
type tokenRef struct {
	Token         string `json:"token"`
	TokenTypeHint string `json:"token_type_hint"`
}

func (r *tokenRef) setForm(f url.Values) {
	r.Token, r.TokenTypeHint = f.Get("token"), f.Get("token_type_hint")
}

func (r *tokenRef) Valid() map[string]string {
	p := map[string]string{}
	required(p, "token", r.Token)
	return p
}

// passwordChange is the body of POST /api/v1/me/password.
type passwordChange struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

func (r *passwordChange) Valid() map[string]string {
	p := map[string]string{}
	required(p, "current_password", r.CurrentPassword)
	required(p, "new_password", r.NewPassword)
	return p
}

// passwordReset is the body of an administrator's password reset.
type passwordReset struct {
	Password string `json:"password"`
}

func (r *passwordReset) Valid() map[string]string {
	p := map[string]string{}
	required(p, "password", r.Password)
	return p
}

// newUserRequest is the body of a user creation; the service checks the
// username's shape and the password policy.
type newUserRequest struct {
	Username    string `json:"username"`
	Password    string `json:"password"`
	DisplayName string `json:"display_name"`
	Email       string `json:"email"`
	Admin       bool   `json:"admin"`
}

func (r *newUserRequest) Valid() map[string]string {
	p := map[string]string{}
	required(p, "username", r.Username)
	required(p, "password", r.Password)
	return p
}

// userPatch is the body of a user update; absent fields stay as they are.
type userPatch struct {
	DisplayName *string           `json:"display_name"`
	Email       *string           `json:"email"`
	Status      *login.UserStatus `json:"status"`
	Admin       *bool             `json:"admin"`
}

func (r *userPatch) Valid() map[string]string {
	p := map[string]string{}
	if r.DisplayName == nil && r.Email == nil && r.Status == nil && r.Admin == nil {
		p["body"] = "must set at least one of display_name, email, status, admin"
	}
	return p
}

// newClientRequest is the body of a client creation.
type newClientRequest struct {
	Name  string `json:"name"`
	Admin bool   `json:"admin"`
}

func (r *newClientRequest) Valid() map[string]string {
	p := map[string]string{}
	required(p, "name", r.Name)
	return p
}

// clientPatch is the body of a client update.
type clientPatch struct {
	Status       *login.UserStatus `json:"status"`
	RotateSecret bool              `json:"rotate_secret"`
}

func (r *clientPatch) Valid() map[string]string {
	p := map[string]string{}
	if r.Status == nil && !r.RotateSecret {
		p["body"] = "must set status or rotate_secret"
	}
	return p
}

package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/greyrouter/greyrouter/login"
)

// clientSecret is a client with its secret, which the service does not
// keep: the one response that carries it is the only place it is shown.
type clientSecret struct {
	Client       login.Client `json:"client"`
	ClientSecret string       `json:"client_secret,omitempty"`
	Warning      string       `json:"warning,omitempty"`
}

func (a *API) listClients(c *gin.Context) {
	cs, err := a.svc.ListClients(c.Request.Context(), scope(c))
	if err != nil {
		a.fail(c, err)
		return
	}
	if cs == nil {
		cs = []login.Client{}
	}
	c.JSON(http.StatusOK, gin.H{"items": cs})
}

func (a *API) createClient(c *gin.Context) {
	var req newClientRequest
	if err := decode(c, &req); err != nil {
		a.fail(c, err)
		return
	}
	tenant := scope(c)
	cl, secret, err := a.svc.CreateClient(c.Request.Context(), principal(c), login.NewClient{
		Tenant: tenant, Name: req.Name, Admin: req.Admin, Platform: tenant == "",
	})
	if err != nil {
		a.fail(c, err)
		return
	}
	noStore(c)
	c.Header("Location", c.Request.URL.Path+"/"+cl.ID)
	c.JSON(http.StatusCreated, clientSecret{Client: cl, ClientSecret: secret})
}

func (a *API) getClient(c *gin.Context) {
	cl, err := a.svc.GetClient(c.Request.Context(), scope(c), c.Param("client"))
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, cl)
}

// patchClient sets a client's status and/or rotates its secret; either
// revokes its tokens.
func (a *API) patchClient(c *gin.Context) {
	var req clientPatch
	if err := decode(c, &req); err != nil {
		a.fail(c, err)
		return
	}
	cl, secret, err := a.svc.UpdateClient(c.Request.Context(), principal(c), scope(c), c.Param("client"), req.Status, req.RotateSecret)
	if err != nil && cl.ID == "" {
		a.fail(c, err)
		return
	}
	res := clientSecret{Client: cl, ClientSecret: secret}
	if err != nil {
		// The change is stored and the revocation recorded; only its
		// publication failed, and the service retries it. Failing now
		// would lose a new secret that cannot be shown again.
		a.log.Warn("client updated but its revocation is not yet published", "client", cl.ID, "err", err)
		res.Warning = "tokens issued before may be accepted by other replicas until the revocation is republished"
	}
	noStore(c)
	c.JSON(http.StatusOK, res)
}

func (a *API) deleteClient(c *gin.Context) {
	if err := a.svc.DeleteClient(c.Request.Context(), principal(c), scope(c), c.Param("client")); err != nil {
		a.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

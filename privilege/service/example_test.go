package service_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/greyrouter/greyrouter/internal/dbx"
	"github.com/greyrouter/greyrouter/privilege"
	"github.com/greyrouter/greyrouter/privilege/service"
	"github.com/greyrouter/greyrouter/privilege/sqlstore"
)

// Example writes a role and an assignment, then checks: the first answer
// is loaded and compiled from the database (l3), the repeat comes from
// the in-process cache (l1), and after a revocation the write's revision
// token guarantees an answer at least that fresh.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "privilege-example")
	defer os.RemoveAll(dir)
	db, err := dbx.Open(ctx, "sqlite:"+filepath.Join(dir, "example.db"), "", nil)
	if err != nil {
		panic(err)
	}
	defer db.Close()
	if _, err := dbx.Up(ctx, db); err != nil {
		panic(err)
	}
	svc, err := service.New(ctx, sqlstore.New(db.Gorm), service.Options{}) // Redis: none, one replica
	if err != nil {
		panic(err)
	}
	defer svc.Close()

	_, err = svc.Write(ctx, "acme", "admin@acme", "readers read orders", func(tx privilege.Tx) error {
		if err := tx.PutRole(ctx, privilege.Role{Tenant: "acme", Name: "reader",
			Permissions: []privilege.Permission{{Resource: "orders/*", Action: "read"}}}); err != nil {
			return err
		}
		return tx.PutAssignment(ctx, privilege.Assignment{Tenant: "acme", Subject: "alice", Role: "reader"})
	})
	if err != nil {
		panic(err)
	}
	req := privilege.Request{Tenant: "acme", Subject: privilege.Subject{ID: "alice"}, Action: "read",
		Resource: privilege.Resource{Name: "orders/42"}}
	for range 2 {
		d, _ := svc.Check(ctx, req, service.CheckOptions{})
		fmt.Println(d.Allowed, d.Tier, d.Reason)
	}

	tok, _ := svc.Write(ctx, "acme", "admin@acme", "", func(tx privilege.Tx) error {
		return tx.DeleteAssignment(ctx, "alice", "reader")
	})
	d, _ := svc.Check(ctx, req, service.CheckOptions{AtLeast: &tok})
	fmt.Println(tok, d.Allowed, d.PolicyVersion)
	// Output:
	// true l3 allowed by permission orders/*:read of role reader (via [reader])
	// true l1 allowed by permission orders/*:read of role reader (via [reader])
	// pv1.2.0.acme false 2
}

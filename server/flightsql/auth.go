package flightsql

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/qry-dev/qry/server/auth"
)

// validator lets token holders in through Flight's basic-auth handshake and
// bearer tokens.
type validator struct{ tokens auth.Checker }

var _ flight.BasicAuthValidator = validator{}

// Validate implements flight.BasicAuthValidator: the basic-auth handshake
// takes a holder's name and token and answers with the token as bearer.
func (v validator) Validate(user, password string) (string, error) {
	if v.tokens.Check(user, password) {
		return password, nil
	}
	return "", status.Error(codes.Unauthenticated, "unknown user or token")
}

// IsValid implements flight.BasicAuthValidator.
func (v validator) IsValid(bearer string) (any, error) {
	if name, ok := v.tokens.Lookup(bearer); ok {
		return name, nil
	}
	return nil, status.Error(codes.Unauthenticated, "invalid token")
}

// AuthMiddleware requires a token of tokens on every call but the
// handshake: "authorization: Bearer <token>", or basic auth (holder name and
// token) through the handshake, which answers with the bearer token.
func AuthMiddleware(tokens auth.Checker) flight.ServerMiddleware {
	return flight.CreateServerBasicAuthMiddleware(validator{tokens})
}

// User is the name of the token holder making the call, or "" without
// authentication.
func User(ctx context.Context) string {
	name, _ := flight.AuthFromContext(ctx).(string)
	return name
}

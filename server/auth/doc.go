// Package auth holds what both of qry's servers (Flight SQL and HTTP) use to
// let clients in: bearer tokens with their holders and expiry dates, and TLS
// configuration (with client certificates for mTLS).
package auth

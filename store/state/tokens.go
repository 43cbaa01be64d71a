package state

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Token scopes: what a bearer token may do over the REST API.
const (
	ScopeRead  = "read"  // GET routes only
	ScopeWrite = "write" // everything
)

// Token is the record of an API token. The token itself is shown once, when created; the
// workspace keeps only its SHA-256.
type Token struct {
	ID       string
	Name     string
	Scope    string
	Created  time.Time
	LastUsed time.Time
	Revoked  bool
}

const tokenPrefix = "slc_"

// CreateToken makes a new token with the given name and scope (ScopeRead or ScopeWrite) and
// returns its text, "slc_<id>_<secret>", which is not stored anywhere.
func (w *Workspace) CreateToken(ctx context.Context, name, scope string) (string, *Token, error) {
	if scope != ScopeRead && scope != ScopeWrite {
		return "", nil, fmt.Errorf("token scope %q: want %s or %s", scope, ScopeRead, ScopeWrite)
	}
	var idb [6]byte
	var secret [32]byte
	if _, err := rand.Read(idb[:]); err != nil {
		return "", nil, fmt.Errorf("token: %w", err)
	}
	if _, err := rand.Read(secret[:]); err != nil {
		return "", nil, fmt.Errorf("token: %w", err)
	}
	t := &Token{ID: hex.EncodeToString(idb[:]), Name: name, Scope: scope, Created: time.Now()}
	text := tokenPrefix + t.ID + "_" + base64.RawURLEncoding.EncodeToString(secret[:])
	if _, err := w.db.ExecContext(ctx, `INSERT INTO tokens (id, name, hash, scope, created) VALUES (?, ?, ?, ?, ?)`,
		t.ID, name, tokenHash(text), scope, nanos(t.Created)); err != nil {
		return "", nil, fmt.Errorf("token: %w", err)
	}
	return text, t, nil
}

func tokenHash(text string) string {
	h := sha256.Sum256([]byte(text))
	return hex.EncodeToString(h[:])
}

// dummyHash is compared against when a token's id is unknown, so that the work done does not
// tell unknown ids from wrong secrets.
var dummyHash = tokenHash("slc_000000000000_unknown")

// VerifyToken checks a bearer token's text against the stored hashes, in constant time, and
// returns its record. Unknown, malformed and revoked tokens are ErrUnauthorized.
func (w *Workspace) VerifyToken(ctx context.Context, text string) (*Token, error) {
	id := ""
	if rest, ok := strings.CutPrefix(text, tokenPrefix); ok {
		id, _, _ = strings.Cut(rest, "_")
	}
	t := &Token{ID: id}
	var hash string
	var created, lastUsed int64
	err := w.db.QueryRowContext(ctx, `SELECT name, hash, scope, created, last_used, revoked FROM tokens WHERE id=?`, id).
		Scan(&t.Name, &hash, &t.Scope, &created, &lastUsed, &t.Revoked)
	if errors.Is(err, sql.ErrNoRows) {
		hash, t.Revoked = dummyHash, true
	} else if err != nil {
		return nil, fmt.Errorf("token: %w", err)
	}
	got := tokenHash(text)
	if subtle.ConstantTimeCompare([]byte(got), []byte(hash)) != 1 || t.Revoked {
		return nil, ErrUnauthorized
	}
	t.Created, t.LastUsed = fromNanos(created), fromNanos(lastUsed)
	if time.Since(t.LastUsed) > time.Minute { // at most one write a minute per token
		_, _ = w.db.ExecContext(ctx, `UPDATE tokens SET last_used=? WHERE id=?`, now(), id)
	}
	return t, nil
}

// ListTokens returns every token record (never the tokens), oldest first.
func (w *Workspace) ListTokens(ctx context.Context) ([]*Token, error) {
	rows, err := w.db.QueryContext(ctx, `SELECT id, name, scope, created, last_used, revoked FROM tokens ORDER BY created, id`)
	if err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	defer rows.Close()
	var out []*Token
	for rows.Next() {
		t := &Token{}
		var created, lastUsed int64
		if err := rows.Scan(&t.ID, &t.Name, &t.Scope, &created, &lastUsed, &t.Revoked); err != nil {
			return nil, fmt.Errorf("tokens: %w", err)
		}
		t.Created, t.LastUsed = fromNanos(created), fromNanos(lastUsed)
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken revokes the token with the given id (or name, when exactly one live token has
// it); ErrNotFound when none matches. Revocation takes effect on the next request.
func (w *Workspace) RevokeToken(ctx context.Context, idOrName string) (*Token, error) {
	toks, err := w.ListTokens(ctx)
	if err != nil {
		return nil, err
	}
	var match []*Token
	for _, t := range toks {
		if t.ID == idOrName {
			match = []*Token{t}
			break
		}
		if t.Name == idOrName && !t.Revoked {
			match = append(match, t)
		}
	}
	if len(match) != 1 {
		if len(match) > 1 {
			return nil, fmt.Errorf("token %q: %d tokens have that name; revoke by id", idOrName, len(match))
		}
		return nil, fmt.Errorf("token %q: %w", idOrName, ErrNotFound)
	}
	if _, err := w.db.ExecContext(ctx, `UPDATE tokens SET revoked=1 WHERE id=?`, match[0].ID); err != nil {
		return nil, fmt.Errorf("token: %w", err)
	}
	match[0].Revoked = true
	return match[0], nil
}

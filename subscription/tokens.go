package subscription

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/fhirbell/fhirbell/auth"
)

// Token errors.
var (
	// ErrTokenInvalid: no such token or ticket (never issued, already used
	// ticket, or pruned). Deliberately indistinguishable from one another.
	ErrTokenInvalid = errors.New("invalid token")
	// ErrTokenExpired: the token was issued but its time is up.
	ErrTokenExpired = errors.New("token expired")
)

// Token kinds.
const (
	// KindBindingToken is a $get-ws-binding-token token: presented in a
	// bind-with-token message, reusable until it expires.
	KindBindingToken = "binding-token"
	// KindTicket is a $websocket-ticket: part of the socket URL, valid for
	// one connection only.
	KindTicket = "ticket"
)

// Grant is what a token or ticket entitles its bearer to: binding the
// listed subscriptions, for a principal, with that principal's
// authorization (its scopes and patient context, as the access token it
// was issued under granted them), until that authorization ends. A socket
// that binds with it is authorised by Holder, never by more.
type Grant struct {
	Kind            string
	SubscriptionIDs []string  // sorted
	Expires         time.Time // when the token itself stops being accepted
	AuthExpires     time.Time // when the authorization behind it ends (zero: never, auth mode none)
	Subject         string    // the principal the token was issued to ("" in auth mode none)
	ClientID        string    // its client
	Scope           string    // its granted scopes, space-separated
	Patient         string    // its SMART patient context ("" when none)
}

// Holder is the principal a grant was issued to, with the authorization
// it had then: what a socket bound with the grant is authorised by.
func (g Grant) Holder() auth.Principal {
	scopes := auth.ParseScopes(g.Scope)
	p := auth.Principal{Kind: auth.KindSystem, Subject: g.Subject, ClientID: g.ClientID, Scopes: scopes, Patient: g.Patient, Expires: g.AuthExpires}
	if g.Patient != "" || slices.ContainsFunc(scopes.Levels(), func(l string) bool { return l == auth.LevelPatient || l == auth.LevelUser }) {
		p.Kind = auth.KindUser
	}
	return p
}

// StoredToken is a token as a TokenStore keeps it: only the SHA-256 of the
// secret, so a leaked database does not leak usable tokens.
type StoredToken struct {
	Hash [sha256.Size]byte
	Grant
}

// TokenStore keeps binding tokens and tickets where every node can redeem
// them. Implementations are safe for concurrent use.
type TokenStore interface {
	// PutToken stores a new token.
	PutToken(ctx context.Context, t StoredToken) error
	// LookupToken returns the token with hash h; when consume is set it also
	// deletes it, atomically, so that of concurrent consumers exactly one
	// succeeds. ErrTokenInvalid when there is none; ErrTokenExpired (and, for
	// consume, the token is deleted anyway) when now is past its Expires.
	LookupToken(ctx context.Context, h [sha256.Size]byte, consume bool, now time.Time) (Grant, error)
	// PruneTokens deletes the tokens that expired before before.
	PruneTokens(ctx context.Context, before time.Time) (int64, error)
}

// HashToken returns the hash under which a token secret is stored.
func HashToken(secret string) [sha256.Size]byte { return sha256.Sum256([]byte(secret)) }

// newSecret returns 32 random bytes, base64url-encoded: 256 bits, so
// guessing is hopeless and the secret is safe in a URL path.
func newSecret() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand panics on a broken source)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Token lifetimes (docs/protocol.md, Subscription operations).
const (
	BindingTokenTTL = 10 * time.Minute
	TicketTTL       = 60 * time.Second
)

// IssueToken creates a token of kind KindBindingToken or KindTicket for
// the given active websocket subscriptions, issued to holder (the caller;
// the zero Principal in auth mode none), and returns its secret, which is
// never stored and must never be logged. The grant records holder's
// subject, client, scopes and patient context, and its authorization ends
// when holder's does (Principal.Expires); its Expires is the kind's
// lifetime, capped by that end.
func (s *Service) IssueToken(ctx context.Context, kind string, subIDs []string, holder auth.Principal) (string, Grant, error) {
	authExpires := holder.Expires
	if len(subIDs) == 0 {
		return "", Grant{}, &ValidationError{Path: "id", Msg: "no subscription to issue a token for"}
	}
	ids := slices.Clone(subIDs)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	for _, id := range ids {
		// LookupActive, not the index alone: a subscription created on
		// another node a moment ago may not have reached this one yet.
		sub, ok, err := s.LookupActive(ctx, id)
		if err != nil {
			return "", Grant{}, err
		}
		if !ok {
			if _, err := s.Read(ctx, "Subscription", id); err != nil {
				return "", Grant{}, fmt.Errorf("subscription %s: %w", id, err)
			}
			if _, restHook := s.RestHookSubscription(id); restHook {
				return "", Grant{}, &ValidationError{Path: "Subscription.channel.type", Msg: fmt.Sprintf("Subscription/%s is a rest-hook subscription: it is delivered to its endpoint, not bound on a socket", id)}
			}
			return "", Grant{}, &ValidationError{Path: "Subscription.status", Code: "business-rule", Msg: fmt.Sprintf("Subscription/%s is not active", id)}
		}
		if p, ok := auth.PrincipalFrom(ctx); ok && !sub.Owner.MayManage(p) {
			// Someone else's subscription does not exist for the caller
			// (readable): the same answer as an unknown id.
			return "", Grant{}, fmt.Errorf("subscription %s: %w", id, ErrNotFound)
		}
		if sub.ChannelType != ChannelWebsocket {
			return "", Grant{}, &ValidationError{Path: "Subscription.channel.type", Msg: fmt.Sprintf("Subscription/%s is not a websocket subscription", id)}
		}
	}
	ttl := BindingTokenTTL
	if kind == KindTicket {
		ttl = TicketTTL
	}
	now := s.now()
	g := Grant{Kind: kind, SubscriptionIDs: ids, Expires: now.Add(ttl).UTC().Truncate(time.Millisecond), AuthExpires: authExpires,
		Subject: holder.Subject, ClientID: holder.ClientID, Scope: holder.Scopes.String(), Patient: holder.Patient}
	if !authExpires.IsZero() && authExpires.Before(g.Expires) {
		g.Expires = authExpires
	}
	secret := newSecret()
	if err := s.store.PutToken(ctx, StoredToken{Hash: HashToken(secret), Grant: g}); err != nil {
		return "", Grant{}, fmt.Errorf("store token: %w", err)
	}
	return secret, g, nil
}

// RedeemToken returns the grant of a binding token (reusable) or consumes a
// ticket (single use), by kind. ErrTokenInvalid or ErrTokenExpired when it
// cannot be used; a token of the other kind is ErrTokenInvalid. accept,
// when set, judges the grant before anything is consumed: its error is
// returned and the ticket stays redeemable, so that a request refused for
// its own reasons (another principal's bearer token beside the ticket)
// cannot burn the ticket of the one it was issued to, nor a binding token
// presented as a ticket be used up.
func (s *Service) RedeemToken(ctx context.Context, kind, secret string, accept func(Grant) error) (Grant, error) {
	h := HashToken(secret)
	g, err := s.store.LookupToken(ctx, h, false, s.now())
	if err != nil {
		return Grant{}, err
	}
	if g.Kind != kind {
		return Grant{}, ErrTokenInvalid
	}
	if accept != nil {
		if err := accept(g); err != nil {
			return Grant{}, err
		}
	}
	if kind != KindTicket {
		return g, nil
	}
	// Consumed only now, atomically: of concurrent redeemers exactly one
	// gets it, the others ErrTokenInvalid as for a used ticket.
	if g, err = s.store.LookupToken(ctx, h, true, s.now()); err != nil {
		return Grant{}, err
	}
	return g, nil
}

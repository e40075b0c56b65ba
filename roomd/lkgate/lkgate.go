// Package lkgate is roomd's gateway to LiveKit (roomd.Config.Gateway): a
// fleet of gateways, stateless behind a load balancer, verify joins as
// roomd does, share one Redis for the nonces they have seen, and hand each
// member a LiveKit URL and a short-lived access token whose grants follow
// its join. LiveKit's nodes share the same Redis among themselves and host
// each room on one node.
//
// It is apart from roomd so that voipd, which embeds roomd, links neither
// LiveKit's protocol nor a Redis client for it.
package lkgate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	"github.com/redis/go-redis/v9"

	"github.com/voipd/voipd/proto"
	"github.com/voipd/voipd/roomd"
)

// Config configures a Gateway.
type Config struct {
	// URL is LiveKit's signalling URL as devices reach it (ws:// or
	// wss://): a load balancer in front of the nodes, or one node; or
	// several, comma-separated, in order of preference: a join is sent to
	// the first whose node answers its health check (failover, not
	// balancing: put a load balancer first to balance).
	URL string
	// APIKey and APISecret are a key pair of LiveKit's keys: the secret
	// signs access tokens.
	APIKey, APISecret string
	// Redis is the nonce store the fleet's gateways share: host:port,
	// unix:/path/to/socket, or a redis:// or rediss:// URL.
	Redis string
	// TokenTTL is an access token's life (default 10 minutes): long
	// enough to connect, not the call's length (LiveKit refreshes a
	// connected participant's token itself).
	TokenTTL time.Duration
	// Logger gets the Redis client's own messages, at debug (what fails
	// reaches roomd's log through the joins it refuses).
	Logger *slog.Logger
}

// redisLog sends go-redis's messages (a process-wide setting) to a slog
// logger instead of stderr.
type redisLog struct{ log *slog.Logger }

func (r redisLog) Printf(ctx context.Context, format string, v ...any) {
	r.log.Debug("redis: " + fmt.Sprintf(format, v...))
}

var setRedisLog sync.Once

const (
	defaultTokenTTL = 10 * time.Minute
	// redisTimeout bounds one nonce check: a join waits no longer for
	// Redis.
	redisTimeout = 2 * time.Second
	// redisKeyPrefix namespaces the gateways' keys in a Redis they share
	// with LiveKit.
	redisKeyPrefix = "voipd:nonce:"
)

// Gateway is a roomd.Gateway onto LiveKit.
type Gateway struct {
	cfg  Config
	urls []string
	rdb  *redis.Client

	mu      sync.Mutex
	healthy []bool // per url, as its last health check said (true until one fails)
	stop    chan struct{}
	done    chan struct{}
}

const (
	healthEvery   = time.Second
	healthTimeout = time.Second
)

var _ roomd.Gateway = (*Gateway)(nil)

// New checks cfg and returns a Gateway; Ping says whether Redis answers.
func New(cfg Config) (*Gateway, error) {
	if cfg.URL == "" {
		return nil, errors.New("lkgate: the LiveKit URL is empty")
	}
	var urls []string
	for _, raw := range strings.Split(cfg.URL, ",") {
		raw = strings.TrimSpace(raw)
		u, err := url.Parse(raw)
		switch {
		case err != nil:
			return nil, fmt.Errorf("lkgate: the LiveKit URL: %w", err)
		case u.Scheme != "ws" && u.Scheme != "wss" || u.Host == "":
			return nil, fmt.Errorf("lkgate: the LiveKit URL %q is not ws:// or wss://", raw)
		}
		urls = append(urls, raw)
	}
	switch {
	case cfg.APIKey == "" || cfg.APISecret == "":
		return nil, errors.New("lkgate: the LiveKit API key and secret must both be set")
	case cfg.TokenTTL < 0:
		return nil, fmt.Errorf("lkgate: TokenTTL %v is negative", cfg.TokenTTL)
	}
	if cfg.TokenTTL == 0 {
		cfg.TokenTTL = defaultTokenTTL
	}
	opt, err := redisOptions(cfg.Redis)
	if err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	setRedisLog.Do(func() { redis.SetLogger(redisLog{cfg.Logger}) })
	g := &Gateway{cfg: cfg, urls: urls, rdb: redis.NewClient(opt), healthy: make([]bool, len(urls))}
	for i := range g.healthy {
		g.healthy[i] = true
	}
	if len(urls) > 1 {
		g.stop, g.done = make(chan struct{}), make(chan struct{})
		go g.watch()
	}
	return g, nil
}

// watch checks each node's health (LiveKit answers GET / with 200) every
// healthEvery, so that a join goes to a node that is up.
func (g *Gateway) watch() {
	defer close(g.done)
	c := &http.Client{Timeout: healthTimeout}
	t := time.NewTicker(healthEvery)
	defer t.Stop()
	for {
		for i, u := range g.urls {
			ok := healthy(c, u)
			g.mu.Lock()
			if g.healthy[i] != ok {
				g.cfg.Logger.Info("gateway: LiveKit node health", "url", u, "healthy", ok)
			}
			g.healthy[i] = ok
			g.mu.Unlock()
		}
		select {
		case <-g.stop:
			return
		case <-t.C:
		}
	}
}

func healthy(c *http.Client, wsURL string) bool {
	h := "http" + strings.TrimPrefix(wsURL, "ws")
	resp, err := c.Get(strings.TrimSuffix(h, "/") + "/")
	if err != nil {
		return false
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// pick is the URL a join goes to: the first whose node is healthy, else
// the first (the device fails and tries again).
func (g *Gateway) pick() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	for i, ok := range g.healthy {
		if ok {
			return g.urls[i]
		}
	}
	return g.urls[0]
}

// redisOptions reads addr: host:port, unix:/path, or a redis:// URL.
func redisOptions(addr string) (*redis.Options, error) {
	var opt *redis.Options
	switch {
	case addr == "":
		return nil, errors.New("lkgate: the Redis address is empty (host:port, unix:/path or redis://...)")
	case strings.HasPrefix(addr, "redis://"), strings.HasPrefix(addr, "rediss://"):
		var err error
		if opt, err = redis.ParseURL(addr); err != nil {
			// ParseURL's errors do not repeat the URL (which may hold a
			// password).
			return nil, fmt.Errorf("lkgate: the Redis URL: %w", err)
		}
	case strings.HasPrefix(addr, "unix:"):
		opt = &redis.Options{Network: "unix", Addr: strings.TrimPrefix(addr, "unix:")}
	default:
		opt = &redis.Options{Addr: addr}
	}
	opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout = redisTimeout, redisTimeout, redisTimeout
	return opt, nil
}

// Ping checks that Redis answers.
func (g *Gateway) Ping(ctx context.Context) error {
	if err := g.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("lkgate: redis: %w", err)
	}
	return nil
}

// Close stops the health checks and closes the Redis connections.
func (g *Gateway) Close() error {
	if g.stop != nil {
		close(g.stop)
		<-g.done
	}
	return g.rdb.Close()
}

// SpendNonce is SET key NX with the key's expiry at forgetAt: the first
// gateway to spend a nonce wins, and Redis forgets it when its timeStamp
// leaves the window. The key holds the app id and the nonce, neither a
// secret.
func (g *Gateway) SpendNonce(key string, forgetAt, now time.Time) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), redisTimeout)
	defer cancel()
	if !forgetAt.After(now) {
		forgetAt = now.Add(time.Second) // an expiry in the past is refused
	}
	err := g.rdb.SetArgs(ctx, redisKeyPrefix+key, 1, redis.SetArgs{Mode: "NX", ExpireAt: forgetAt}).Err()
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, redis.Nil): // NX: the key was there
		return false, nil
	default:
		return false, fmt.Errorf("redis: %w", err)
	}
}

// RoomName is the LiveKit room of a join: its kind, app and room, so that
// apps and kinds sharing a LiveKit never meet.
func RoomName(kind, appID, room string) string {
	return kind + ":" + appID + ":" + room
}

// RoomMeta is a LiveKit room's metadata, set by the token of the join
// that creates it: the room's type is its first joiner's, as on roomd.
type RoomMeta struct {
	Kind     string `json:"kind"`
	RoomType string `json:"roomType"`
}

// Admit mints the member's access token: join this one room as the
// member (identity = openid or userId), subscribe, publish where the join
// allows it. The token creates the room, when it does not exist yet,
// with the room's size and type.
func (g *Gateway) Admit(a roomd.Admission) (string, string, error) {
	ttl := g.cfg.TokenTTL
	if !a.Until.IsZero() {
		ttl = min(ttl, time.Until(a.Until))
		if ttl <= 0 {
			return "", "", errors.New("the join's token has expired")
		}
	}
	meta, err := json.Marshal(RoomMeta{Kind: a.Kind, RoomType: a.RoomType})
	if err != nil {
		return "", "", err
	}
	room := RoomName(a.Kind, a.AppID, a.Room)
	yes, publish := true, a.CanPublish
	grant := &auth.VideoGrant{
		RoomJoin: true, Room: room,
		CanPublish: &publish, CanPublishData: &publish, CanSubscribe: &yes,
	}
	if a.Kind == proto.KindVoIP && a.RoomType == proto.RoomVoice && publish {
		// A voice member sends its microphone only.
		grant.SetCanPublishSources([]livekit.TrackSource{livekit.TrackSource_MICROPHONE})
	}
	at := auth.NewAccessToken(g.cfg.APIKey, g.cfg.APISecret).
		SetIdentity(a.Member).SetName(a.Member).
		SetVideoGrant(grant).
		SetRoomConfig(&livekit.RoomConfiguration{Name: room, MaxParticipants: uint32(a.MaxMembers), Metadata: string(meta)}).
		SetValidFor(ttl)
	token, err := at.ToJWT()
	if err != nil {
		return "", "", fmt.Errorf("lkgate: access token: %w", err)
	}
	return g.pick(), token, nil
}

// The CallBus of two-party calls across gateways (roomd/callbus.go):
// Redis keys and pub/sub channels the gateways share.
var _ roomd.CallBus = (*Gateway)(nil)

func (g *Gateway) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), redisTimeout)
}

// Publish sends msg to channel's subscribers at every gateway.
func (g *Gateway) Publish(channel string, msg []byte) error {
	ctx, cancel := g.ctx()
	defer cancel()
	return g.rdb.Publish(ctx, channel, msg).Err()
}

// Subscribe calls fn with each message on channel, in order, until cancel
// (a message already being handled may still arrive); it returns once
// Redis confirmed the subscription, so that nothing published after it is
// missed.
func (g *Gateway) Subscribe(channel string, fn func([]byte)) (func(), error) {
	ps := g.rdb.Subscribe(context.Background(), channel)
	ctx, cancel := g.ctx()
	defer cancel()
	if _, err := ps.Receive(ctx); err != nil {
		ps.Close()
		return nil, fmt.Errorf("redis subscribe: %w", err)
	}
	ch := ps.Channel()
	go func() {
		for m := range ch {
			fn([]byte(m.Payload))
		}
	}()
	// cancel does not wait for fn: fn may cancel its own subscription.
	var once sync.Once
	return func() { once.Do(func() { ps.Close() }) }, nil
}

// SetKey sets key to val, expiring after ttl.
func (g *Gateway) SetKey(key, val string, ttl time.Duration) error {
	ctx, cancel := g.ctx()
	defer cancel()
	return g.rdb.Set(ctx, key, val, ttl).Err()
}

// GetDel reads and deletes key at once (ok false when it was not set).
func (g *Gateway) GetDel(key string) (string, bool, error) {
	ctx, cancel := g.ctx()
	defer cancel()
	v, err := g.rdb.GetDel(ctx, key).Result()
	switch {
	case errors.Is(err, redis.Nil):
		return "", false, nil
	case err != nil:
		return "", false, err
	}
	return v, true, nil
}

// Exists reports whether key is set.
func (g *Gateway) Exists(key string) (bool, error) {
	ctx, cancel := g.ctx()
	defer cancel()
	n, err := g.rdb.Exists(ctx, key).Result()
	return n > 0, err
}

// Del deletes key.
func (g *Gateway) Del(key string) error {
	ctx, cancel := g.ctx()
	defer cancel()
	return g.rdb.Del(ctx, key).Err()
}

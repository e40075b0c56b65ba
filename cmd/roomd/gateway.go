package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/voipd/voipd/roomd/lkgate"
)

// liveKitConfig is the config file's [livekit] table: gateway mode
// (roomd.Config.Gateway, package roomd/lkgate).
type liveKitConfig struct {
	URL           string   `toml:"url"`
	APIKey        string   `toml:"apiKey"`
	APISecret     string   `toml:"apiSecret"`
	APISecretFile string   `toml:"apiSecretFile"`
	Redis         string   `toml:"redis"`
	TokenTTL      duration `toml:"tokenTTL"`
}

// gatewayFlags are the command line's gateway settings.
type gatewayFlags struct {
	url, apiKey, apiSecret, apiSecretFile, redis string
}

func (f *flags) addGatewayFlags() {
	g := &f.gateway
	f.fs.StringVar(&g.url, "livekit-url", "", "gateway mode: LiveKit's ws(s):// URL as devices reach it, or several comma-separated (the first healthy one is used); roomd forwards no media")
	f.fs.StringVar(&g.apiKey, "livekit-api-key", "", "gateway mode: the LiveKit API key")
	f.fs.StringVar(&g.apiSecret, "livekit-api-secret", "",
		"gateway mode: the LiveKit API secret (visible in ps: prefer -livekit-api-secret-file or $ROOMD_LIVEKIT_API_SECRET)")
	f.fs.StringVar(&g.apiSecretFile, "livekit-api-secret-file", "", "gateway mode: file holding the LiveKit API secret (mode 0600)")
	f.fs.StringVar(&g.redis, "redis", "", "gateway mode: the Redis the gateways share for nonces (host:port, unix:/path or redis://...)")
}

// gatewayConfig merges the file's [livekit] table and the flags set over
// it; nil when neither asks for gateway mode.
func (f *flags) gatewayConfig(set map[string]bool, fc *liveKitConfig, getenv func(string) string) (*lkgate.Config, error) {
	g := f.gateway
	if set["livekit-url"] {
		fc.URL = g.url
	}
	if set["livekit-api-key"] {
		fc.APIKey = g.apiKey
	}
	if set["livekit-api-secret"] || set["livekit-api-secret-file"] {
		fc.APISecret, fc.APISecretFile = g.apiSecret, g.apiSecretFile
	}
	if set["redis"] {
		fc.Redis = g.redis
	}
	if fc.URL == "" {
		if fc.APIKey != "" || fc.APISecret != "" || fc.APISecretFile != "" || fc.Redis != "" {
			return nil, errors.New("the LiveKit key, secret and Redis are for gateway mode: set the LiveKit URL too (-livekit-url or [livekit] url)")
		}
		return nil, nil
	}
	secret := fc.APISecret
	switch {
	case fc.APISecret != "" && fc.APISecretFile != "":
		return nil, errors.New("give the LiveKit API secret or its file, not both")
	case fc.APISecretFile != "":
		s, err := readSecretFile(fc.APISecretFile)
		if err != nil {
			return nil, fmt.Errorf("the LiveKit API secret file: %w", err)
		}
		secret = s
	case secret == "":
		secret = getenv("ROOMD_LIVEKIT_API_SECRET")
	}
	if secret == "" {
		return nil, errors.New("gateway mode needs the LiveKit API secret: -livekit-api-secret-file, $ROOMD_LIVEKIT_API_SECRET or -livekit-api-secret")
	}
	if fc.Redis == "" {
		return nil, errors.New("gateway mode needs the Redis the gateways share: -redis or [livekit] redis")
	}
	return &lkgate.Config{URL: fc.URL, APIKey: fc.APIKey, APISecret: secret, Redis: fc.Redis, TokenTTL: time.Duration(fc.TokenTTL)}, nil
}

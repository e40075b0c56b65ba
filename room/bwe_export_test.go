package room

import "github.com/pion/webrtc/v4"

// WithSettings returns cfg with f adjusting its sessions' SettingEngine: the
// external tests' way to put an ICE agent on a lossy network.
func WithSettings(cfg Config, f func(*webrtc.SettingEngine)) Config {
	cfg.settings = f
	return cfg
}

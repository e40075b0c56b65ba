package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/voipd/voipd/daemon/config"
	"github.com/voipd/voipd/daemon/control"
	"github.com/voipd/voipd/daemon/session"
	"github.com/voipd/voipd/hw"
)

// noCameras is a camera system without a backend, as hw/camera's
// NoBackend on macOS: none listed, the reason given, every camera absent.
type noCameras struct{}

const noCamerasWhy = "no camera backend on this system"

func (noCameras) Cameras() ([]hw.CameraInfo, error) { return []hw.CameraInfo{}, nil }
func (noCameras) Unsupported() string               { return noCamerasWhy }
func (noCameras) OpenCamera(id string, _ hw.CameraRequest) (hw.Camera, error) {
	return nil, &hw.DeviceError{Op: "open camera", Device: id, Kind: hw.ErrAbsent, Err: errors.New(noCamerasWhy)}
}

// listDevices says why no camera is listed where there is no backend, and
// says "" where there is a backend; a video room then answers
// the seeds' camera error: -1000 "absent" in a group room, -20001 for a
// video call (this device lacks a camera).
func TestNoCameraBackend(t *testing.T) {
	d := New(Params{Config: config.Default(), Logger: slog.New(slog.DiscardHandler),
		Session: session.Params{Audio: fuzzAudio{}, Cameras: noCameras{}, Rooms: fuzzRooms{}}})
	res, err := d.listDevices(context.Background(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(res)
	if !strings.Contains(string(b), `"cameras":[]`) || !strings.Contains(string(b), `"camerasUnsupported":"`+noCamerasWhy+`"`) {
		t.Errorf("listDevices = %s, want no camera and why", b)
	}
	with, err := fuzzDaemon(false).listDevices(context.Background(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := json.Marshal(with); !strings.Contains(string(b), `"camerasUnsupported":""`) {
		t.Errorf("listDevices with a camera backend = %s: want camerasUnsupported \"\" (typed answers are always present)", b)
	}

	defer d.Shutdown(context.Background())
	peer := control.Peer{UID: 1000, GID: 1000}
	_, err = d.ServeRPC(context.Background(), &control.Request{ID: json.RawMessage("1"), Method: "joinVoIPChat",
		Params: json.RawMessage(`{"groupId":"g","signature":"s","nonceStr":"n","timeStamp":1,"roomType":"video"}`), Peer: peer, ClientID: 1})
	var ce *control.Error
	if !errors.As(err, &ce) || ce.Code != -1000 || !strings.Contains(ce.Message, noCamerasWhy) {
		t.Errorf("video room without a camera: %v, want -1000 naming the reason", err)
	} else if b, _ := json.Marshal(ce.Data); !strings.Contains(string(b), `"reason":"absent"`) {
		t.Errorf("video room without a camera: data %s, want reason absent", b)
	}
	_, err = d.ServeRPC(context.Background(), &control.Request{ID: json.RawMessage("2"), Method: "join1v1Chat",
		Params: json.RawMessage(`{"caller":{"nickname":"a","openid":"door-1"},"listener":{"nickname":"b","openid":"b"},"roomType":"video"}`), Peer: peer, ClientID: 1})
	if !errors.As(err, &ce) || ce.Code != -20001 {
		t.Errorf("video call without a camera: %v, want -20001", err)
	}
}

package audio

/*
#cgo LDFLAGS: -framework AVFoundation -framework Foundation
int voipd_mic_authorization(void);
*/
import "C"

// micAccessNow asks TCC, through AVFoundation, whether this process may
// record (permission_darwin.m).
func micAccessNow() micAccess { return accessOfAV(int(C.voipd_mic_authorization())) }

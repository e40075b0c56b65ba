// The microphone permission macOS keeps for this process (TCC), as
// AVFoundation reports it: an AVAuthorizationStatus (permission.go reads
// it). Asking does not prompt the user; recording does, the first time.
#import <AVFoundation/AVFoundation.h>

int voipd_mic_authorization(void) {
	@autoreleasepool {
		return (int)[AVCaptureDevice authorizationStatusForMediaType:AVMediaTypeAudio];
	}
}

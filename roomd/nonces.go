package roomd

import (
	"sync"
	"time"
)

// nonceStore remembers the nonces joins have used, each until its
// timeStamp leaves the window: a nonce is single-use across every server
// that shares the store.
type nonceStore interface {
	// SpendNonce records key as used until forgetAt and reports whether
	// it was fresh; an error means the store could not say.
	SpendNonce(key string, forgetAt, now time.Time) (fresh bool, err error)
}

// memNonces is one roomd's own store, in memory.
type memNonces struct {
	mu     sync.Mutex
	nonces map[string]time.Time // key → time after which it may be forgotten
	order  []nonceEntry         // the same, in insertion order, for pruning
}

type nonceEntry struct {
	key      string
	forgetAt time.Time
}

func newMemNonces() *memNonces { return &memNonces{nonces: map[string]time.Time{}} }

func (s *memNonces) SpendNonce(key string, forgetAt, now time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pruneLocked(now)
	if _, seen := s.nonces[key]; seen {
		return false, nil
	}
	s.nonces[key] = forgetAt
	s.order = append(s.order, nonceEntry{key: key, forgetAt: forgetAt})
	return true, nil
}

// pruneLocked forgets nonces whose timeStamps are out of the window. Entries
// are roughly time-ordered; one far in the future only delays pruning of
// those after it, never forgets a nonce early.
func (s *memNonces) pruneLocked(now time.Time) {
	i := 0
	for ; i < len(s.order) && now.After(s.order[i].forgetAt); i++ {
		if s.nonces[s.order[i].key] == s.order[i].forgetAt {
			delete(s.nonces, s.order[i].key)
		}
	}
	if i > 0 {
		s.order = append(s.order[:0], s.order[i:]...)
	}
}

package local

// WatchCh returns a channel that is closed at the next change to the
// services or checks (anything a reader of Services, Service or Checks
// could see), for blocking reads of local state: take it, read, wait.
func (l *State) WatchCh() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.watch == nil {
		l.watch = make(chan struct{})
	}
	return l.watch
}

// notifyLocked wakes the readers waiting on WatchCh. Call with l.mu held.
func (l *State) notifyLocked() {
	if l.watch != nil {
		close(l.watch)
		l.watch = nil
	}
}

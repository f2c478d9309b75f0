package gossip

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/hashicorp/memberlist"
)

// ErrNoEncryption is returned by key operations on a pool without a keyring.
var ErrNoEncryption = errors.New("gossip: encryption is not enabled on this pool (no keyring)")

// GenerateKey returns a new random 32-byte key, base64-encoded (`keygen`).
func GenerateKey() (string, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return "", fmt.Errorf("gossip: generating a key: %w", err)
	}
	return base64.StdEncoding.EncodeToString(key), nil
}

// DecodeKey decodes a base64 gossip key and checks its length (16, 24 or
// 32 bytes).
func DecodeKey(s string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("gossip: key is not valid base64: %w", err)
	}
	if err := memberlist.ValidateKey(key); err != nil {
		return nil, fmt.Errorf("gossip: %w", err)
	}
	return key, nil
}

func encodeKey(k []byte) string { return base64.StdEncoding.EncodeToString(k) }

// KeyOp is a keyring operation run on every member.
type KeyOp uint8

const (
	KeyList    KeyOp = KeyOp(opListKeys)
	KeyInstall KeyOp = KeyOp(opInstallKey)
	KeyUse     KeyOp = KeyOp(opUseKey)
	KeyRemove  KeyOp = KeyOp(opRemoveKey)
)

func (o KeyOp) String() string {
	switch o {
	case KeyList:
		return "list"
	case KeyInstall:
		return "install"
	case KeyUse:
		return "use"
	case KeyRemove:
		return "remove"
	}
	return fmt.Sprintf("keyop(%d)", uint8(o))
}

// KeyResponse is the outcome of a key operation across the pool, shaped
// like Consul's /v1/operator/keyring answer.
type KeyResponse struct {
	// NumNodes is the number of members asked (alive ones, this one
	// included); NumResp how many answered; NumErr how many failed.
	NumNodes, NumResp, NumErr int
	// Messages holds the error of each member that failed, by name.
	Messages map[string]string
	// Keys counts, for each base64 key, the members that have it;
	// PrimaryKeys the members that use it as primary.
	Keys        map[string]int
	PrimaryKeys map[string]int
}

// InstallKey adds key to every member's keyring.
func (p *Pool) InstallKey(key []byte) error {
	_, err := p.KeyOperation(KeyInstall, key)
	return err
}

// UseKey makes key, already installed, the primary key on every member.
func (p *Pool) UseKey(key []byte) error {
	_, err := p.KeyOperation(KeyUse, key)
	return err
}

// RemoveKey removes key from every member's keyring. Removing the primary
// key is refused.
func (p *Pool) RemoveKey(key []byte) error {
	_, err := p.KeyOperation(KeyRemove, key)
	return err
}

// ListKeys asks every member for its keyring and returns, for each base64
// key, how many members have it. When some members fail to answer in time,
// the counts so far are returned with an error.
func (p *Pool) ListKeys() (map[string]int, error) {
	r, err := p.KeyOperation(KeyList, nil)
	if r == nil {
		return nil, err
	}
	return r.Keys, err
}

// pendingQuery collects the answers to a query this member sent.
type pendingQuery struct {
	mu      sync.Mutex
	answers map[string]queryResponse
	changed chan struct{}
}

func (q *pendingQuery) record(r queryResponse) {
	q.mu.Lock()
	q.answers[r.From] = r
	q.mu.Unlock()
	select {
	case q.changed <- struct{}{}:
	default:
	}
}

// KeyOperation runs op on this member, then on every other alive member
// (a query gossiped encrypted with the current primary key; the answers come
// back over encrypted TCP streams), waiting up to the query timeout. It
// returns an error when this member refuses the operation (nothing is sent
// then), or when some member failed or did not answer.
func (p *Pool) KeyOperation(op KeyOp, key []byte) (*KeyResponse, error) {
	if p.keyring == nil {
		return nil, ErrNoEncryption
	}
	if err := p.usable(); err != nil {
		return nil, err
	}
	switch op {
	case KeyList:
	case KeyInstall, KeyUse, KeyRemove:
		if err := memberlist.ValidateKey(key); err != nil {
			return nil, fmt.Errorf("gossip: %s key: %w", op, err)
		}
	default:
		return nil, fmt.Errorf("gossip: unknown key operation %d", op)
	}

	local := p.applyKeyOp(op, key)
	if local.Err != "" {
		return nil, fmt.Errorf("gossip: %s key: %s", op, local.Err)
	}

	self := p.cfg.NodeName
	var expected []string
	p.mu.RLock()
	for name, m := range p.members {
		if name != self && (m.Status == StatusAlive || m.Status == StatusLeaving) {
			expected = append(expected, name)
		}
	}
	p.mu.RUnlock()

	ln := p.list().LocalNode()
	q := queryMsg{ID: uuid.NewString(), From: self, Addr: slices.Clone(ln.Addr), Port: ln.Port, Op: uint8(op), Key: key}
	pq := &pendingQuery{answers: map[string]queryResponse{}, changed: make(chan struct{}, 1)}
	local.ID, local.From = q.ID, self
	pq.record(local)
	if len(expected) > 0 {
		p.queriesMu.Lock()
		p.queries[q.ID] = pq
		p.queriesMu.Unlock()
		defer func() {
			p.queriesMu.Lock()
			delete(p.queries, q.ID)
			p.queriesMu.Unlock()
		}()
		p.mu.Lock()
		p.seenQueries.add(q.ID)
		p.mu.Unlock()
		p.queueMsg(p.control, "", 0, msgQuery, q, nil)

		timer := time.NewTimer(p.queryTimeout(len(expected) + 1))
		defer timer.Stop()
	wait:
		for {
			pq.mu.Lock()
			done := true
			for _, name := range expected {
				if _, ok := pq.answers[name]; !ok {
					done = false
					break
				}
			}
			pq.mu.Unlock()
			if done {
				break
			}
			select {
			case <-pq.changed:
			case <-timer.C:
				break wait
			case <-p.shutdownCh:
				return nil, ErrShutdown
			}
		}
	}

	pq.mu.Lock()
	defer pq.mu.Unlock()
	r := &KeyResponse{Messages: map[string]string{}, Keys: map[string]int{}, PrimaryKeys: map[string]int{}}
	asked := map[string]bool{self: true}
	for _, name := range expected {
		asked[name] = true
	}
	for name, a := range pq.answers {
		asked[name] = true
		r.NumResp++
		if a.Err != "" {
			r.NumErr++
			r.Messages[name] = a.Err
			continue
		}
		for _, k := range a.Keys {
			r.Keys[k]++
		}
		if a.Primary != "" {
			r.PrimaryKeys[a.Primary]++
		}
	}
	r.NumNodes = len(asked)
	var missing []string
	for name := range asked {
		if _, ok := pq.answers[name]; !ok {
			missing = append(missing, name)
		}
	}
	sort.Strings(missing)
	var problems []string
	if r.NumErr > 0 {
		var fails []string
		for name, msg := range r.Messages {
			fails = append(fails, fmt.Sprintf("%s: %s", name, msg))
		}
		sort.Strings(fails)
		problems = append(problems, fmt.Sprintf("%d member(s) failed (%s)", r.NumErr, strings.Join(fails, "; ")))
	}
	if len(missing) > 0 {
		problems = append(problems, fmt.Sprintf("%d member(s) did not answer in time (%s)", len(missing), strings.Join(missing, ", ")))
	}
	if len(problems) > 0 {
		err := fmt.Errorf("gossip: %s key: %s", op, strings.Join(problems, "; "))
		p.warnf("%v", err)
		return r, err
	}
	if op != KeyList {
		p.infof("%s key: done on all %d members", op, r.NumNodes)
	}
	return r, nil
}

// queryTimeout is GossipInterval * QueryTimeoutMult * ceil(log10(n+1)),
// at least a second.
func (p *Pool) queryTimeout(n int) time.Duration {
	t := p.cfg.Tuning
	scale := math.Ceil(math.Log10(float64(n) + 1))
	return max(time.Second, time.Duration(float64(t.GossipInterval)*float64(t.QueryTimeoutMult)*scale))
}

// applyKeyOp runs a key operation on this member's keyring and saves it.
func (p *Pool) applyKeyOp(op KeyOp, key []byte) queryResponse {
	var r queryResponse
	if p.keyring == nil {
		r.Err = ErrNoEncryption.Error()
		return r
	}
	p.keyringMu.Lock()
	defer p.keyringMu.Unlock()
	var err error
	switch op {
	case KeyList:
	case KeyInstall:
		err = p.keyring.AddKey(key)
	case KeyUse:
		err = p.keyring.UseKey(key)
	case KeyRemove:
		if bytes.Equal(key, p.keyring.GetPrimaryKey()) {
			err = errors.New("refusing to remove the primary key: make another key primary first")
		} else {
			err = p.keyring.RemoveKey(key)
		}
	default:
		err = fmt.Errorf("unknown key operation %d", op)
	}
	if err == nil && op != KeyList {
		err = p.saveKeyringLocked()
	}
	if err != nil {
		r.Err = err.Error()
	}
	for _, k := range p.keyring.GetKeys() {
		r.Keys = append(r.Keys, encodeKey(k))
	}
	r.Primary = encodeKey(p.keyring.GetPrimaryKey())
	return r
}

// handleQuery runs a query gossiped by another member, passes it on, and
// answers to its sender.
func (p *Pool) handleQuery(q queryMsg, raw []byte) {
	p.mu.Lock()
	news := p.seenQueries.add(q.ID)
	closed := p.closed
	if news && !closed {
		p.wg.Add(1)
	}
	p.mu.Unlock()
	if !news || closed {
		return
	}
	p.rebroadcast(p.control, "", 0, raw)
	go func() {
		defer p.wg.Done()
		if q.From == p.cfg.NodeName {
			return
		}
		r := p.applyKeyOp(KeyOp(q.Op), q.Key)
		r.ID, r.From = q.ID, p.cfg.NodeName
		if r.Err == "" && q.Op != uint8(KeyList) {
			p.infof("%s key: done, asked by %q", KeyOp(q.Op), q.From)
		}
		raw, err := encodeMsg(msgQueryResponse, r)
		if err != nil {
			p.errorf("%v", err)
			return
		}
		to := &memberlist.Node{Name: q.From, Addr: q.Addr, Port: q.Port}
		if err := p.list().SendReliable(to, raw); err != nil {
			p.warnf("answering %q's key query: %v", q.From, err)
		}
	}()
}

func (p *Pool) handleQueryResponse(r queryResponse) {
	p.queriesMu.Lock()
	pq := p.queries[r.ID]
	p.queriesMu.Unlock()
	if pq != nil {
		pq.record(r)
	}
}

// resolveKeyring returns the keys to start with: KeyringFile's when it
// exists, else Config.Keyring (saved to KeyringFile when one is set).
func (p *Pool) resolveKeyring() ([][]byte, error) {
	keys := p.cfg.Keyring
	for _, k := range keys {
		if err := memberlist.ValidateKey(k); err != nil {
			return nil, fmt.Errorf("gossip: keyring: %w", err)
		}
	}
	path := p.cfg.KeyringFile
	if path == "" {
		return keys, nil
	}
	fileKeys, err := loadKeyringFile(path)
	switch {
	case err == nil && len(fileKeys) > 0:
		if len(keys) > 0 && !slices.EqualFunc(keys, fileKeys, bytes.Equal) {
			p.warnf("keyring file %s exists: using its %d key(s); the configured key(s) are ignored", path, len(fileKeys))
		}
		return fileKeys, nil
	case err == nil || errors.Is(err, fs.ErrNotExist):
		if len(keys) > 0 {
			if err := saveKeyringFile(path, keys); err != nil {
				return nil, err
			}
		}
		return keys, nil
	default:
		return nil, err
	}
}

func (p *Pool) saveKeyringLocked() error {
	if p.cfg.KeyringFile == "" {
		return nil
	}
	return saveKeyringFile(p.cfg.KeyringFile, p.keyring.GetKeys())
}

// loadKeyringFile reads a JSON list of base64 keys, the primary first.
func loadKeyringFile(path string) ([][]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("gossip: keyring file: %w", err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil
	}
	var encoded []string
	if err := json.Unmarshal(data, &encoded); err != nil {
		return nil, fmt.Errorf("gossip: keyring file %s: %w", path, err)
	}
	keys := make([][]byte, 0, len(encoded))
	for i, s := range encoded {
		k, err := DecodeKey(s)
		if err != nil {
			return nil, fmt.Errorf("gossip: keyring file %s: key %d: %w", path, i, err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// saveKeyringFile writes the keys (primary first) atomically, mode 0600.
func saveKeyringFile(path string, keys [][]byte) error {
	encoded := make([]string, len(keys))
	for i, k := range keys {
		encoded[i] = encodeKey(k)
	}
	data, err := json.MarshalIndent(encoded, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("gossip: keyring file: %w", err)
	}
	// CreateTemp makes the file with mode 0600.
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("gossip: keyring file: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename, there is nothing to remove
	_, err = tmp.Write(append(data, '\n'))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("gossip: keyring file: %w", err)
	}
	return nil
}

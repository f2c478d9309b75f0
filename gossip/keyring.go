package gossip

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/hashicorp/serf/serf"

	"github.com/coredns-coord/coredns-coord/internal/atomicfile"
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
	KeyList KeyOp = iota + 1
	KeyInstall
	KeyUse
	KeyRemove
)

func (o KeyOp) String() string {
	if o >= KeyList && o <= KeyRemove {
		return [...]string{"list", "install", "use", "remove"}[o-KeyList]
	}
	return fmt.Sprintf("keyop(%d)", uint8(o))
}

// KeyResponse is the outcome of a key operation across the pool (serf's),
// shaped like Consul's /v1/operator/keyring answer: NumNodes members were
// asked (the alive ones), NumResp answered, NumErr failed (Messages by
// member name); Keys counts the members that have each base64 key,
// PrimaryKeys those that use it as primary.
type KeyResponse = serf.KeyResponse

// KeyOperation runs op on every alive member, this one included, through
// serf's key manager: a query gossiped encrypted with the current primary
// key, answered over encrypted streams, waited for up to the query timeout
// (GossipInterval * QueryTimeoutMult * ceil(log10(n+1))). Each member saves
// its keyring to its KeyringFile. It returns an error, with the answers so
// far, when some member failed or did not answer.
func (p *Pool) KeyOperation(op KeyOp, key []byte) (*KeyResponse, error) {
	if p.keyring == nil {
		return nil, ErrNoEncryption
	}
	if err := p.usable(); err != nil {
		return nil, err
	}
	km := p.serf.KeyManager()
	var r *KeyResponse
	var err error
	switch op {
	case KeyList:
		r, err = km.ListKeys()
	case KeyInstall, KeyUse, KeyRemove:
		if err := memberlist.ValidateKey(key); err != nil {
			return nil, fmt.Errorf("gossip: %s key: %w", op, err)
		}
		run := map[KeyOp]func(string) (*KeyResponse, error){KeyInstall: km.InstallKey, KeyUse: km.UseKey, KeyRemove: km.RemoveKey}[op]
		r, err = run(encodeKey(key))
	default:
		return nil, fmt.Errorf("gossip: unknown key operation %d", op)
	}
	if r == nil {
		return nil, fmt.Errorf("gossip: %s key: %w", op, err)
	}
	delete(r.PrimaryKeys, "") // members that answered without a keyring listing
	if err != nil {
		var msgs []string
		for name, msg := range r.Messages {
			msgs = append(msgs, name+": "+msg)
		}
		sort.Strings(msgs)
		err = fmt.Errorf("gossip: %s key: %v (%s)", op, err, strings.Join(msgs, "; "))
		p.warnf("%v", err)
		return r, err
	}
	if op != KeyList {
		p.infof("%s key: done on all %d members", op, r.NumNodes)
	}
	return r, nil
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
	fileKeys, err := p.loadKeyring(path)
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

// loadKeyring reads the keyring file, or its last good copy when the file
// is damaged or empty. serf rewrites the file in place after every key
// operation (no temporary file and rename), so a crash in that instant can
// leave half of it. The copy, kept by keepGoodCopy, is the keyring of at
// most 100 ms before: normally one key operation behind (each is a query
// answered by every member), which still shares a key with the rest of
// the pool (install adds one, use changes the primary, remove drops one).
// Operators should wait for each step's answer before the next; the
// keyring command does.
func (p *Pool) loadKeyring(path string) ([][]byte, error) {
	keys, err := loadKeyringFile(path)
	if (err == nil && len(keys) > 0) || errors.Is(err, fs.ErrNotExist) {
		return keys, err
	}
	good, gerr := loadKeyringFile(goodCopyPath(path))
	if gerr != nil || len(good) == 0 {
		return keys, err // no copy to fall back on: the file's own answer
	}
	damage := "is empty"
	if err != nil {
		damage = fmt.Sprintf("is damaged (%v)", err)
	}
	p.warnf("keyring file %s %s: using its last good copy, %d key(s)", path, damage, len(good))
	return good, saveKeyringFile(path, good)
}

func goodCopyPath(path string) string { return path + ".good" }

// keepGoodCopy saves the keyring to KeyringFile's good copy whenever it
// changes, until the pool stops. Key operations change it from serf's
// query handler, which tells nobody; a poll every 100 ms costs a lock
// and a copy of a few keys.
func (p *Pool) keepGoodCopy(every time.Duration) {
	defer close(p.goodCopyDone)
	path := goodCopyPath(p.cfg.KeyringFile)
	var saved [][]byte
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		// Primary first, as in the keyring file.
		keys := p.keyring.GetKeys()
		if !slices.EqualFunc(keys, saved, bytes.Equal) {
			if err := saveKeyringFile(path, keys); err != nil {
				p.warnf("%v", err)
			} else {
				saved = keys
			}
		}
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
	}
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

// saveKeyringFile replaces the file with the keys (primary first), mode
// 0600, in serf's format.
func saveKeyringFile(path string, keys [][]byte) error {
	encoded := make([]string, len(keys))
	for i, k := range keys {
		encoded[i] = encodeKey(k)
	}
	data, err := json.MarshalIndent(encoded, "", "  ")
	if err == nil {
		err = atomicfile.WriteFile(path, data, 0o600)
	}
	if err != nil {
		return fmt.Errorf("gossip: keyring file: %w", err)
	}
	return nil
}

package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/coredns-coord/coredns-coord/state"
	"github.com/coredns-coord/coredns-coord/structs"
)

// decodeBody decodes one JSON value from body into v. Unknown fields are
// ignored, as Consul ignores them; a malformed body, a field of the wrong
// type, trailing data or bytes that are not UTF-8 are a 400 carrying the
// reason, and a body over the limit a 413. encoding/json would turn
// invalid UTF-8 into U+FFFD, so two txn keys sent different would be
// stored as one.
func decodeBody(body io.Reader, v any) error {
	if body == nil {
		body = http.NoBody
	}
	raw, err := readBody(body)
	if err != nil {
		return err
	}
	if !utf8.Valid(raw) {
		return badRequest("Request decode failed: the body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	err = dec.Decode(v)
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			if terr == nil {
				terr = errors.New("unexpected data after the JSON value")
			}
			err = terr
		}
	}
	if err != nil {
		return badRequest("Request decode failed: %v", err)
	}
	return nil
}

// decodeOptionalBody is decodeBody for endpoints whose body may be left out
// (session/create): an empty or all-blank body leaves v as it is.
func decodeOptionalBody(body io.Reader, v any) error {
	if body == nil {
		return nil
	}
	raw, err := readBody(body)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	return decodeBody(bytes.NewReader(raw), v)
}

// readBody reads all of body. A body over the limit keeps its
// http.MaxBytesError (a 413); any other read failure is a 400.
func readBody(body io.Reader) ([]byte, error) {
	raw, err := io.ReadAll(body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, err
		}
		return nil, badRequest("Failed to read request body: %v", err)
	}
	return raw, nil
}

// decodeCatalogRegistration reads and checks a catalog/register body for
// datacenter dc. The result is ready for agent.Register.
func decodeCatalogRegistration(body io.Reader, dc string) (*structs.RegisterRequest, error) {
	var req structs.RegisterRequest
	if err := decodeBody(body, &req); err != nil {
		return nil, err
	}
	if err := checkDC(req.Datacenter, dc); err != nil {
		return nil, err
	}
	req.Datacenter = dc
	if req.ID != "" {
		if _, err := uuid.Parse(req.ID); err != nil {
			return nil, badRequest("Bad node ID: %v", err)
		}
	}
	if svc := req.Service; svc != nil {
		if svc.ID == "" {
			svc.ID = svc.Service
		}
		if err := normalizeWeights(&svc.Weights); err != nil {
			return nil, err
		}
	}
	for _, hc := range req.AllChecks() {
		if hc == nil {
			return nil, badRequest("Request decode failed: null check")
		}
		if hc.Node != "" && !strings.EqualFold(hc.Node, req.Node) {
			return nil, badRequest("Node %q for check %q doesn't match register request node %q", hc.Node, hc.CheckID, req.Node)
		}
		defaultCheckType(hc)
	}
	if err := state.ValidateRegistration(&req); err != nil {
		return nil, badRequest("%v", err)
	}
	return &req, nil
}

// defaultCheckType fills in a catalog check's Type from its definition when
// the client left it out, as Consul's catalog does.
func defaultCheckType(hc *structs.HealthCheck) {
	if hc.Type == "" {
		hc.Type = hc.Definition.Kind()
	}
}

// agentServiceDefinition is the agent/service/register body, Consul's
// api.AgentServiceRegistration. Fields we cannot honour are kept raw only to
// refuse them.
type agentServiceDefinition struct {
	structs.ServiceDefinition
	Proxy   json.RawMessage
	Connect json.RawMessage
}

func isNull(raw json.RawMessage) bool {
	s := bytes.TrimSpace(raw)
	return len(s) == 0 || string(s) == "null"
}

// decodeAgentService reads and checks an agent/service/register body. The
// checks it carries are validated by the agent, which builds them.
func decodeAgentService(body io.Reader) (*structs.ServiceDefinition, error) {
	var def agentServiceDefinition
	if err := decodeBody(body, &def); err != nil {
		return nil, err
	}
	if def.Name == "" {
		return nil, badRequest("Missing service name")
	}
	if def.Kind != "" || !isNull(def.Proxy) || !isNull(def.Connect) {
		return nil, badRequest("Connect services and proxies are not supported")
	}
	if def.Address == "0.0.0.0" || def.Address == "::" || def.Address == "[::]" {
		return nil, badRequest("Invalid service address")
	}
	if err := normalizeWeights(&def.Weights); err != nil {
		return nil, err
	}
	if def.Port < 0 || def.Port > 65535 {
		return nil, badRequest("Invalid service port %d", def.Port)
	}
	for tag, a := range def.TaggedAddresses {
		if a.Port < 0 || a.Port > 65535 {
			return nil, badRequest("Invalid port %d for tagged address %q", a.Port, tag)
		}
	}
	if slices.Contains(def.Checks, nil) {
		return nil, badRequest("Request decode failed: null check")
	}
	return &def.ServiceDefinition, nil
}

// normalizeWeights clears all-zero Weights (the Consul client always sends
// Weights; all zero means unset), then refuses SRV weights DNS answers
// could not use.
func normalizeWeights(wp **structs.Weights) error {
	switch w := *wp; {
	case w == nil:
		return nil
	case w.Passing == 0 && w.Warning == 0:
		*wp = nil
		return nil
	case w.Passing < 1:
		return badRequest("Invalid Weights: Passing must be greater than 0")
	case w.Warning < 0:
		return badRequest("Invalid Weights: Warning must be greater or equal than 0")
	}
	return nil
}

// decodeDeregistration reads a catalog/deregister body.
func decodeDeregistration(body io.Reader, dc string) (*structs.DeregisterRequest, error) {
	var req structs.DeregisterRequest
	if err := decodeBody(body, &req); err != nil {
		return nil, err
	}
	if err := checkDC(req.Datacenter, dc); err != nil {
		return nil, err
	}
	req.Datacenter = dc
	if req.Node == "" {
		return nil, badRequest("Missing node name")
	}
	return &req, nil
}

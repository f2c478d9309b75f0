package structs

// UserEvent is a user event (event/fire, event/list), with Consul's JSON
// shape. Payload is base64 in JSON.
type UserEvent struct {
	ID            string
	Name          string
	Payload       []byte
	NodeFilter    string
	ServiceFilter string
	TagFilter     string
	Version       int
	LTime         uint64
}

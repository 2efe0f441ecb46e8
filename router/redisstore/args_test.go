package redisstore

import (
	"encoding/json"
	"testing"
)

// FuzzAppendRequest checks the hand-written encoder against encoding/json:
// whatever the strings, the result decodes to the same maps.
func FuzzAppendRequest(f *testing.F) {
	f.Add("x-user", "alice", "plan", "pro")
	f.Add("a\"b", "c\\d", "\x00\x1f", "\xff\xfe")
	f.Add("ü", "日本", "", "\u2028")
	f.Fuzz(func(t *testing.T, hk, hv, ak, av string) {
		h, a := map[string]string{hk: hv}, map[string]string{ak: av}
		got := appendRequest(nil, h, a)
		var back struct {
			H map[string]string `json:"h"`
			A map[string]string `json:"a"`
		}
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("invalid JSON %q: %v", got, err)
		}
		want, _ := json.Marshal(struct {
			H map[string]string `json:"h"`
			A map[string]string `json:"a"`
		}{h, a})
		var ref struct {
			H map[string]string `json:"h"`
			A map[string]string `json:"a"`
		}
		_ = json.Unmarshal(want, &ref)
		if back.H[hk] != ref.H[hk] || back.A[ak] != ref.A[ak] {
			t.Fatalf("encoded %q decodes to %v %v, encoding/json gives %v %v", got, back.H, back.A, ref.H, ref.A)
		}
	})
}

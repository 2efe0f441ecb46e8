package sqlstore

import (
	"encoding/json"
	"fmt"
)

// JSON columns are TEXT on both engines, so that the schema stays portable
// and the bytes written are the bytes read. Empty values are written as "{}"
// or "[]" rather than "null", keeping the columns valid JSON for anyone
// querying them, and are read back as nil so that a record round-trips to
// the same Go value whichever way the caller spelled "empty".

// encodeMap writes a map column.
func encodeMap(m map[string]string) (string, error) {
	if len(m) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// decodeMap reads a map column; empty maps come back nil.
func decodeMap(s string) (map[string]string, error) {
	var m map[string]string
	if err := decodeJSON(s, &m); err != nil {
		return nil, err
	}
	if len(m) == 0 {
		return nil, nil
	}
	return m, nil
}

// encodeList writes a slice column.
func encodeList[T any](list []T) (string, error) {
	if len(list) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(list)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// decodeList reads a slice column; empty slices come back nil.
func decodeList[T any](s string) ([]T, error) {
	var list []T
	if err := decodeJSON(s, &list); err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, nil
	}
	return list, nil
}

// encodeObject writes a struct column.
func encodeObject(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// decodeJSON reads any JSON column; an empty string (a row written by hand)
// counts as JSON null and leaves v untouched.
func decodeJSON(s string, v any) error {
	if s == "" {
		return nil
	}
	if err := json.Unmarshal([]byte(s), v); err != nil {
		return fmt.Errorf("decode json column: %w", err)
	}
	return nil
}

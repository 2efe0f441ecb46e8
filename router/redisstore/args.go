package redisstore

import (
	"strconv"
	"sync"
	"unicode/utf8"
)

// keyCache holds the key lists of services that answered a decision, so the
// hot path builds no key strings. Only services that exist are cached (a
// decision for an unknown service fails first), which bounds its size.
type keyCache struct {
	m sync.Map // service -> []string
}

func (c *keyCache) get(service string) ([]string, bool) {
	v, ok := c.m.Load(service)
	if !ok {
		return nil, false
	}
	return v.([]string), true
}

func (c *keyCache) put(service string, keys []string) { c.m.Store(service, keys) }

func (c *keyCache) drop(service string) { c.m.Delete(service) }

// appendRequest encodes headers and attributes as decide.lua reads them,
// {"h":{...},"a":{...}}, appending to buf. It writes the same JSON that
// encoding/json would for map[string]string, without its reflection.
func appendRequest(buf []byte, headers, attrs map[string]string) []byte {
	buf = append(buf, `{"h":`...)
	buf = appendStringMap(buf, headers)
	buf = append(buf, `,"a":`...)
	buf = appendStringMap(buf, attrs)
	return append(buf, '}')
}

func appendStringMap(buf []byte, m map[string]string) []byte {
	buf = append(buf, '{')
	first := true
	for k, v := range m {
		if !first {
			buf = append(buf, ',')
		}
		first = false
		buf = appendJSONString(buf, k)
		buf = append(buf, ':')
		buf = appendJSONString(buf, v)
	}
	return append(buf, '}')
}

// appendJSONString appends s as a JSON string: quotes, backslashes and
// control characters escaped, invalid UTF-8 replaced by U+FFFD.
func appendJSONString(buf []byte, s string) []byte {
	const hex = "0123456789abcdef"
	buf = append(buf, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				buf = append(buf, '\\', c)
			case c < 0x20:
				buf = append(buf, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				buf = append(buf, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, `\ufffd`...)
		} else {
			buf = append(buf, s[i:i+size]...)
		}
		i += size
	}
	return append(buf, '"')
}

// appendRandom formats a random number in [0,1) as decide.lua reads it.
func appendRandom(buf []byte, f float64) []byte {
	return strconv.AppendFloat(buf, f, 'f', 6, 64)
}

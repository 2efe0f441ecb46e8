package privilege

import (
	"fmt"
	"strings"
	"time"

	// Zones must resolve the same on every instance, including images
	// without /usr/share/zoneinfo: a policy accepted by one instance must
	// not fail or read another wall clock on the next.
	_ "time/tzdata"
)

var condWeekdays = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

func (cc *condCompiler) compileTime(c *Condition, left, ref *attrGetter) (evalFunc, string) {
	switch c.Op {
	case OpTimeBetween, OpWeekdayIn:
		if ref != nil {
			return nil, "takes a value, not a ref"
		}
		loc, msg := cc.zone(c.TZ)
		if msg != "" {
			return nil, msg
		}
		if c.Op == OpTimeBetween {
			return condTimeBetween(c.Value, left, loc)
		}
		return condWeekdayIn(c.Value, left, loc)
	}
	order := condOrder(c.Op)
	if ref != nil {
		if ref.typ != TypeTime {
			return nil, condRefMismatch(ref, TypeTime)
		}
		return condCompare(left.time, ref.time, func(a, b time.Time) bool { return order(a.Compare(b)) }), ""
	}
	lit, ok := attrTime(c.Value)
	if !ok {
		return nil, fmt.Sprintf("value must be an RFC 3339 time such as 2026-01-02T15:04:05Z, got %s", condLiteral(c.Value))
	}
	return condTest(left.time, func(t time.Time) bool { return order(t.Compare(lit)) }), ""
}

// zone loads an IANA zone once per compilation; no zone means UTC. "Local"
// is refused: it would make a decision depend on the host.
func (cc *condCompiler) zone(tz string) (*time.Location, string) {
	if tz == "" {
		return time.UTC, ""
	}
	if loc, ok := cc.zones[tz]; ok {
		return loc, ""
	}
	bad := fmt.Sprintf("tz %s is not an IANA time zone such as Europe/Berlin", condLiteral(tz))
	if tz == "Local" || len(tz) > 64 {
		return nil, bad
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, bad
	}
	if cc.zones == nil {
		cc.zones = map[string]*time.Location{}
	}
	cc.zones[tz] = loc
	return loc, ""
}

// condTimeBetween is true when the time of day, in loc, is in [start, end).
// A window whose end is before its start spans midnight ("22:00" to
// "06:00").
func condTimeBetween(v any, left *attrGetter, loc *time.Location) (evalFunc, string) {
	const want = `value must be ["HH:MM", "HH:MM"] (or HH:MM:SS), start and end differing`
	items, msg := condList(v)
	if msg != "" || len(items) != 2 {
		return nil, want
	}
	var bounds [2]int
	for i, it := range items {
		s, ok := it.(string)
		secs, ok2 := condClock(s)
		if !ok || !ok2 {
			return nil, want + fmt.Sprintf("; %s is not a time of day", condLiteral(it))
		}
		bounds[i] = secs
	}
	start, end := bounds[0], bounds[1]
	if start == end {
		return nil, want
	}
	return condTest(left.time, func(t time.Time) bool {
		h, m, s := t.In(loc).Clock()
		d := h*3600 + m*60 + s
		if start < end {
			return start <= d && d < end
		}
		return d >= start || d < end
	}), ""
}

// condClock parses "HH:MM" or "HH:MM:SS" into seconds since midnight.
func condClock(s string) (int, bool) {
	layout := "15:04"
	if strings.Count(s, ":") == 2 {
		layout = "15:04:05"
	}
	if len(s) != len(layout) {
		return 0, false
	}
	t, err := time.Parse(layout, s)
	if err != nil {
		return 0, false
	}
	h, m, sec := t.Clock()
	return h*3600 + m*60 + sec, true
}

// condWeekdayIn is true when the day of the week, in loc, is listed.
func condWeekdayIn(v any, left *attrGetter, loc *time.Location) (evalFunc, string) {
	items, msg := condList(v)
	if msg != "" {
		return nil, `value must be a list of days such as ["mon", "tue"]`
	}
	var set uint8
	for i, it := range items {
		s, _ := it.(string)
		d, ok := condWeekdays[s]
		if !ok {
			return nil, fmt.Sprintf("value[%d] %s is not one of mon, tue, wed, thu, fri, sat, sun", i, condLiteral(it))
		}
		set |= 1 << d
	}
	return condTest(left.time, func(t time.Time) bool { return set&(1<<t.In(loc).Weekday()) != 0 }), ""
}

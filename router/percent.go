package router

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
)

// Percent is a share between 0 and 100 with 0.01 granularity, held exactly
// as basis points (0..10000) so that comparisons with buckets never round.
type Percent int

// ParsePercent converts a JSON number such as 12.5 to a Percent; it rejects
// values outside 0..100 and values finer than 0.01.
func ParsePercent(v float64) (Percent, error) {
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 || v > 100 {
		return 0, fmt.Errorf("percent must be between 0 and 100, got %v", v)
	}
	bp := math.Round(v * 100)
	if math.Abs(bp-v*100) > 1e-6 {
		return 0, fmt.Errorf("percent has at most two decimals, got %v", v)
	}
	return Percent(bp), nil
}

// BasisPoints returns the share in 1/10000.
func (p Percent) BasisPoints() int { return int(p) }

// Float returns the share as a percentage.
func (p Percent) Float() float64 { return float64(p) / 100 }

// MarshalJSON writes the percentage as a number with at most two decimals.
func (p Percent) MarshalJSON() ([]byte, error) {
	return strconv.AppendFloat(nil, p.Float(), 'f', -1, 64), nil
}

// UnmarshalJSON accepts a JSON number between 0 and 100.
func (p *Percent) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		*p = 0
		return nil
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("percent must be a number")
	}
	q, err := ParsePercent(v)
	if err != nil {
		return err
	}
	*p = q
	return nil
}

package campaign

import (
	"errors"
	"fmt"
)

// Sentinel errors the command line maps to exit codes (DESIGN.md "Exit codes").
var (
	// ErrPaused: the guard paused the campaign; it needs attention (exit 3).
	ErrPaused = errors.New("campaign paused")
	// ErrBusy: another process holds the campaign's or the number's lease (exit 4).
	ErrBusy = errors.New("campaign busy")
	// ErrMoreWork: stopped with work left — allowance used up, deferrals,
	// --max-duration reached (exit 10).
	ErrMoreWork = errors.New("stopped with work left")
	// ErrRefused: the input was refused; nothing was imported (exit 2).
	ErrRefused = errors.New("input refused")
)

// ImportError is a refusal of a whole CSV file, naming the file, line and
// column like encoding/csv's ParseError. It matches ErrRefused.
type ImportError struct {
	File   string
	Line   int // 0 when the whole file is concerned
	Column int // 1-based; 0 when not known
	Err    error
}

func (e *ImportError) Error() string {
	switch {
	case e.Line > 0 && e.Column > 0:
		return fmt.Sprintf("%s: line %d, column %d: %v", e.File, e.Line, e.Column, e.Err)
	case e.Line > 0:
		return fmt.Sprintf("%s: line %d: %v", e.File, e.Line, e.Err)
	default:
		return fmt.Sprintf("%s: %v", e.File, e.Err)
	}
}

func (e *ImportError) Unwrap() error { return e.Err }

// Is makes every ImportError match ErrRefused.
func (e *ImportError) Is(target error) bool { return target == ErrRefused }

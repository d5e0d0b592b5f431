package campaign

import (
	"errors"

	"github.com/whatsend/whatsend/campaign/csvimport"
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
	// It is csvimport's, so that the CSV reader's refusals match it too.
	ErrRefused = csvimport.ErrRefused
)

// ImportError is a refusal of a whole CSV file, naming the file, line and
// column like encoding/csv's ParseError. It matches ErrRefused. It is the
// CSV reader's csvimport.RefusalError: one type for the reader's refusals
// and the import's.
type ImportError = csvimport.RefusalError

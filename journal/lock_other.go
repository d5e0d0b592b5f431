//go:build !unix

package journal

import (
	"errors"
	"os"
)

var errUnsupported = errors.New("no send journal on this system")

func lockFile(*os.File, bool) error { return errUnsupported }

func bootID() (string, error) { return "", errUnsupported }

package csvimport

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// Open opens a CSV for reading after checking that it is a regular file. A
// device (/dev/zero), a FIFO or a directory is refused before it is opened:
// opening a FIFO blocks until a writer comes, and a device never ends, so
// neither could be hashed and then read again. The error names the file
// once (a *RefusalError).
func Open(path string) (*os.File, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, &RefusalError{File: path, Err: pathCause(err)}
	}
	if !fi.Mode().IsRegular() {
		return nil, &RefusalError{File: path, Err: fmt.Errorf("not a regular file (%s): give a CSV file", kind(fi.Mode()))}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, &RefusalError{File: path, Err: pathCause(err)}
	}
	return f, nil
}

// pathCause drops the *fs.PathError wrapper, whose text repeats the path.
func pathCause(err error) error {
	if pe, ok := errors.AsType[*fs.PathError](err); ok {
		return pe.Err
	}
	return err
}

func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	}
	return "not a plain file"
}

//go:build !unix

package main

// onResize: without SIGWINCH the line fits the new width at its next redraw.
func onResize(func()) (stop func()) { return func() {} }

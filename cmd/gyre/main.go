package main

import "os"

func main() {
	os.Exit(exitStatus(newRootCommand().Execute(), os.Stderr))
}

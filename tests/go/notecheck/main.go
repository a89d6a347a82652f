// notecheck signs and opens notes with Go's golang.org/x/mod/sumdb/note, to
// cross-check merkql's signed notes (tests/cli/checkpoint.sh).
//
//	notecheck sign SIGNER_KEY_FILE < text > note
//	notecheck open VERIFIER_KEY_FILE < note > text
package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

func main() {
	if len(os.Args) != 3 || (os.Args[1] != "sign" && os.Args[1] != "open") {
		fmt.Fprintln(os.Stderr, "usage: notecheck sign|open KEYFILE < input")
		os.Exit(2)
	}
	key, err := os.ReadFile(os.Args[2])
	check(err)
	input, err := io.ReadAll(os.Stdin)
	check(err)
	k := strings.TrimSuffix(string(key), "\n")
	if os.Args[1] == "sign" {
		signer, err := note.NewSigner(k)
		check(err)
		msg, err := note.Sign(&note.Note{Text: string(input)}, signer)
		check(err)
		os.Stdout.Write(msg)
		return
	}
	verifier, err := note.NewVerifier(k)
	check(err)
	n, err := note.Open(input, note.VerifierList(verifier))
	check(err)
	fmt.Print(n.Text)
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "notecheck:", err)
		os.Exit(1)
	}
}

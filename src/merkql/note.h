// Signed notes and checkpoints: C2SP signed-note with Ed25519 keys, and the
// C2SP tlog-checkpoint body a partition's root is published in, byte for
// byte as Go's golang.org/x/mod/sumdb/note reads and writes them. Pure
// functions (no storage); the CLI's keygen, checkpoint and verify-proof call
// them. Stateless and thread-safe. Text formats: docs/FORMAT.md
// §Checkpoints and signed notes.
#pragma once

#include <merkql/sha256.h>
#include <merkql/status.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace merkql {

using Ed25519PublicKey = std::array<uint8_t, 32>;
using Ed25519Seed = std::array<uint8_t, 32>;

// A key name as Go's note package accepts it: non-empty valid UTF-8, no '+',
// no Unicode white space; merkql also refuses C0 control characters (a note
// signed under such a name could never be opened).
bool is_valid_key_name(std::string_view name);

// First 4 bytes, big-endian, of SHA-256(name ‖ "\n" ‖ 0x01 ‖ public key).
uint32_t note_key_hash(std::string_view name, const Ed25519PublicKey& public_key);

// A signer key: PRIVATE+KEY+<name>+<8 hex hash>+<base64(0x01 ‖ seed)>.
struct NoteSigner {
  std::string name;
  uint32_t key_hash = 0;
  Ed25519Seed seed{};
  Ed25519PublicKey public_key{};
};

// A verifier key: <name>+<8 hex hash>+<base64(0x01 ‖ public key)>.
struct NoteVerifier {
  std::string name;
  uint32_t key_hash = 0;
  Ed25519PublicKey public_key{};
};

struct NoteKeyPair {
  std::string signer_key;   // PRIVATE+KEY+... (no trailing newline)
  std::string verifier_key; // name+hash+key (no trailing newline)
};

// A fresh key pair from OpenSSL's RAND_bytes; invalid_argument for a bad name.
Result<NoteKeyPair> generate_note_key(std::string_view name);

// Strict parsers of the key texts (no surrounding white space): every
// failure is invalid_argument with a message naming what is wrong.
Result<NoteSigner> parse_signer_key(std::string_view text);
Result<NoteVerifier> parse_verifier_key(std::string_view text);
std::string format_verifier_key(const NoteVerifier& verifier);

// The signed note: text (non-empty, ends in "\n", UTF-8 without control
// characters but "\n"), a blank line, "— <name> <base64(hash ‖ sig)>\n".
Result<std::string> sign_note(std::string_view text, const NoteSigner& signer);

// Opens a signed note as Go's note.Open does with one known key: returns
// the text (up to and including the "\n" before the last blank line) when
// one signature line is by `verifier` (same name and key hash) and valid.
// Signatures by other keys are ignored; a malformed note, a failing
// signature by this key, or no signature by it: invalid_argument.
Result<std::string> open_note(std::string_view note, const NoteVerifier& verifier);

// tlog-checkpoint body: "<origin>\n<size>\n<base64 root>\n", then optional
// non-empty extension lines, which parse_checkpoint accepts and ignores.
struct Checkpoint {
  std::string origin;
  uint64_t size = 0;
  Hash root{};
};
Result<std::string> format_checkpoint(const Checkpoint& checkpoint); // bad origin: invalid_argument
Result<Checkpoint> parse_checkpoint(std::string_view text);

// open_note then parse_checkpoint: what an auditor checks a published
// checkpoint with.
Result<Checkpoint> verify_checkpoint(std::string_view note, const NoteVerifier& verifier);

// Standard base64 with padding (RFC 4648 §4). Decoding is strict: length a
// multiple of 4, '=' only as the final padding, unused bits zero, no white
// space; so every encoding has exactly one text.
std::string base64_encode(std::string_view bytes);
std::optional<std::string> base64_decode(std::string_view text);

} // namespace merkql

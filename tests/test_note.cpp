#include <doctest/doctest.h>

#include <merkql/note.h>

#include <string>

using namespace merkql;

namespace {

// The fixed keys and notes of Go's golang.org/x/mod/sumdb/note tests
// (note_test.go), verbatim: merkql must read and write exactly these bytes.
const std::string k_peter_skey =
  "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const std::string k_peter_vkey =
  "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const std::string k_enoch_vkey = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
const std::string k_text = "If you think cryptography is the answer to your problem,\n"
                           "then you don't know what your problem is.\n";
const std::string k_peter_sig =
  "\xe2\x80\x94 PeterNeumann "
  "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvq"
  "fqdngotpRZb6KE6RyyBwJnAM=\n";
const std::string k_enoch_sig = "\xe2\x80\x94 EnochRoot "
                                "rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovT"
                                "G01oOTGwnWLox33WWd1RvMc+QQ=\n";

NoteSigner signer_of(const std::string& text)
{
  auto r = parse_signer_key(text);
  REQUIRE_MESSAGE(r.is_ok(), r.status().message());
  return r.value();
}

NoteVerifier verifier_of(const std::string& text)
{
  auto r = parse_verifier_key(text);
  REQUIRE_MESSAGE(r.is_ok(), r.status().message());
  return r.value();
}

std::string error_of(const Status& status)
{
  REQUIRE_FALSE(status.is_ok());
  return status.message();
}

bool contains(const std::string& text, const std::string& part)
{
  return text.find(part) != std::string::npos;
}

Hash sample_root()
{
  Hash root{};
  for (size_t i = 0; i < root.size(); ++i) {
    root[i] = static_cast<uint8_t>(i * 7 + 1);
  }
  return root;
}

} // namespace

TEST_SUITE_BEGIN("merkql::note");

TEST_CASE("Go's note test vectors: same signature bytes out, both notes open")
{
  const NoteSigner peter = signer_of(k_peter_skey);
  CHECK(peter.name == "PeterNeumann");
  CHECK(peter.key_hash == 0xc74f20a3u);
  CHECK(format_verifier_key(NoteVerifier{peter.name, peter.key_hash, peter.public_key})
        == k_peter_vkey);

  auto signed_note = sign_note(k_text, peter);
  REQUIRE(signed_note.is_ok());
  CHECK(signed_note.value() == k_text + "\n" + k_peter_sig);

  const NoteVerifier peter_v = verifier_of(k_peter_vkey);
  const NoteVerifier enoch_v = verifier_of(k_enoch_vkey);
  const std::string both = k_text + "\n" + k_peter_sig + k_enoch_sig;
  auto opened = open_note(both, peter_v);
  REQUIRE_MESSAGE(opened.is_ok(), opened.status().message());
  CHECK(opened.value() == k_text);
  CHECK(open_note(both, enoch_v).is_ok());
  // Only Enoch's signature present, Peter's key asked for: not verified.
  CHECK(contains(error_of(open_note(k_text + "\n" + k_enoch_sig, peter_v).status()),
                 "no signature by key PeterNeumann+c74f20a3"));
  // Go's "invalid signature" case: ABCD inserted into Peter's signature.
  const std::string bad =
    k_text + "\n" + k_peter_sig.substr(0, 60) + "ABCD" + k_peter_sig.substr(60);
  CHECK(error_of(open_note(bad, peter_v).status())
        == "invalid signature for key PeterNeumann+c74f20a3");
  // Go's repeated signatures (and a mangled unknown one) still open.
  const std::string repeated = k_text + "\n" + k_peter_sig + k_peter_sig + k_enoch_sig + k_enoch_sig
                               + k_enoch_sig.substr(0, 60) + "ABCD" + k_enoch_sig.substr(60);
  CHECK(open_note(repeated, peter_v).is_ok());
  // Go's malformed messages.
  const std::string malformed[] = {
    k_text,
    k_text + "\n",
    k_text + "\n" + k_peter_sig.substr(0, k_peter_sig.size() - 1),
    "\x01" + k_text + "\n" + k_peter_sig,
    "\xff" + k_text + "\n" + k_peter_sig,
    k_text + "\n" + "\xe2\x80\x94 Bad Name " + k_peter_sig.substr(k_peter_sig.find(' ', 4) + 1),
    k_text + "\n" + k_peter_sig + "Unexpected line.\n",
  };
  for (const std::string& m : malformed) {
    CHECK(contains(error_of(open_note(m, peter_v).status()), "malformed note"));
  }
  std::string many = k_text + "\n";
  for (int i = 0; i < 101; ++i) {
    many += k_peter_sig;
  }
  CHECK(contains(error_of(open_note(many, peter_v).status()), "more than 100"));
}

TEST_CASE("the checkpoint of docs/FORMAT.md's worked example, signed by Go, verifies and re-signs")
{
  Hash root{};
  for (size_t i = 0; i < root.size(); ++i) {
    root[i] = static_cast<uint8_t>(i);
  }
  const std::string body = format_checkpoint({"example.com/log/events/0", 5, root}).value();
  CHECK(body == "example.com/log/events/0\n5\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n");
  const std::string go_note = body
                              + "\n\xe2\x80\x94 PeterNeumann "
                                "x08go4oe3ioh+Mq76VIVzsmGT1Lfr6v1M3zGkoh5oIH6L3lqHxa7BbOLoPivxSa"
                                "JRYCrZCow3lkOW1CjCNK0i13qTg0=\n";
  CHECK(sign_note(body, signer_of(k_peter_skey)).value() == go_note);
  auto cp = verify_checkpoint(go_note, verifier_of(k_peter_vkey));
  REQUIRE(cp.is_ok());
  CHECK(cp.value().origin == "example.com/log/events/0");
  CHECK(cp.value().size == 5);
  CHECK(cp.value().root == root);
}

TEST_CASE("generated keys round trip: sign, open, checkpoint")
{
  auto pair = generate_note_key("example.com/log");
  REQUIRE(pair.is_ok());
  CHECK(pair.value().signer_key.rfind("PRIVATE+KEY+example.com/log+", 0) == 0);
  const NoteSigner signer = signer_of(pair.value().signer_key);
  const NoteVerifier verifier = verifier_of(pair.value().verifier_key);
  CHECK(signer.public_key == verifier.public_key);
  CHECK(signer.key_hash == verifier.key_hash);
  CHECK(format_verifier_key(verifier) == pair.value().verifier_key);
  CHECK(note_key_hash(verifier.name, verifier.public_key) == verifier.key_hash);

  const Checkpoint cp{"example.com/log", 12345, sample_root()};
  const std::string body = format_checkpoint(cp).value();
  auto note = sign_note(body, signer);
  REQUIRE(note.is_ok());
  auto back = verify_checkpoint(note.value(), verifier);
  REQUIRE_MESSAGE(back.is_ok(), back.status().message());
  CHECK(back.value().origin == cp.origin);
  CHECK(back.value().size == cp.size);
  CHECK(back.value().root == cp.root);

  // Two generated keys differ.
  CHECK(generate_note_key("example.com/log").value().signer_key != pair.value().signer_key);
  CHECK_FALSE(generate_note_key("bad name").is_ok());
  CHECK_FALSE(generate_note_key("").is_ok());
  CHECK_FALSE(generate_note_key("a+b").is_ok());
}

TEST_CASE("every altered byte of a signed note is rejected")
{
  const NoteSigner signer = signer_of(k_peter_skey);
  const NoteVerifier verifier = verifier_of(k_peter_vkey);
  const std::string body = format_checkpoint({"merkql.example/t/0", 42, sample_root()}).value();
  const std::string note = sign_note(body, signer).value();
  REQUIRE(verify_checkpoint(note, verifier).is_ok());
  for (size_t i = 0; i < note.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string altered = note;
      altered[i] = static_cast<char>(altered[i] ^ (1 << bit));
      INFO("byte ", i, " bit ", bit);
      CHECK_FALSE(open_note(altered, verifier).is_ok());
    }
  }
  // Truncated anywhere, or extended by a byte: rejected too.
  for (size_t n = 0; n < note.size(); ++n) {
    CHECK_FALSE(open_note(note.substr(0, n), verifier).is_ok());
  }
  CHECK_FALSE(open_note(note + "x", verifier).is_ok());
}

TEST_CASE("a wrong key name or hash, or another key, does not verify")
{
  const NoteSigner signer = signer_of(k_peter_skey);
  const std::string note = sign_note(k_text, signer).value();
  NoteVerifier renamed = verifier_of(k_peter_vkey);
  renamed.name = "PeterNeuman";
  CHECK(contains(error_of(open_note(note, renamed).status()), "no signature by key"));
  NoteVerifier rehashed = verifier_of(k_peter_vkey);
  rehashed.key_hash ^= 1;
  CHECK(contains(error_of(open_note(note, rehashed).status()), "no signature by key"));
  // Same name and hash, different public key: the signature itself fails.
  NoteVerifier other_key = verifier_of(k_peter_vkey);
  other_key.public_key = verifier_of(k_enoch_vkey).public_key;
  CHECK(contains(error_of(open_note(note, other_key).status()), "invalid signature"));
  CHECK_FALSE(open_note(note, verifier_of(k_enoch_vkey)).is_ok());
}

TEST_CASE("a note cosigned by an unknown key verifies with ours, in either order")
{
  const NoteSigner ours = signer_of(k_peter_skey);
  const NoteSigner witness = signer_of(generate_note_key("witness.example").value().signer_key);
  const std::string body = format_checkpoint({"o", 1, sample_root()}).value();
  const std::string ours_note = sign_note(body, ours).value();
  const std::string witness_note = sign_note(body, witness).value();
  const std::string ours_line = ours_note.substr(body.size() + 1);
  const std::string witness_line = witness_note.substr(body.size() + 1);
  const NoteVerifier v = verifier_of(k_peter_vkey);
  CHECK(verify_checkpoint(body + "\n" + witness_line + ours_line, v).is_ok());
  CHECK(verify_checkpoint(body + "\n" + ours_line + witness_line, v).is_ok());
  CHECK_FALSE(verify_checkpoint(witness_note, v).is_ok());
}

TEST_CASE("keys are parsed strictly, each failure named")
{
  const auto verr = [](const std::string& k) { return error_of(parse_verifier_key(k).status()); };
  const auto serr = [](const std::string& k) { return error_of(parse_signer_key(k).status()); };
  // Go's own bad cases: wrong key length and unknown algorithm (hashes adjusted).
  CHECK(contains(verr("PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="),
                 "not base64")); // Go's decoder ignores the set unused bits
  CHECK(contains(verr("PeterNeumann+c74f20a3+" + base64_encode(std::string(34, '\x01'))),
                 "33 bytes, not 32"));
  CHECK(contains(verr("PeterNeumann+c74f20a3+" + base64_encode(std::string(32, '\x01'))),
                 "31 bytes, not 32"));
  CHECK(contains(verr("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"),
                 "unknown key algorithm 101"));
  CHECK(contains(verr("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T"),
                 "not base64"));
  CHECK(contains(verr("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW\n"),
                 "not base64"));
  CHECK(contains(verr("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"),
                 "key hash does not match"));
  CHECK(contains(verr("PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"),
                 "not 8 hexadecimal digits"));
  CHECK(contains(verr("Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"),
                 "key name"));
  CHECK(contains(verr("+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"), "key name"));
  CHECK(contains(verr("Peter\xc2\xa0N+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"),
                 "key name"));
  CHECK(contains(verr(""), "key name"));
  CHECK(contains(serr(k_peter_vkey), "PRIVATE+KEY+"));
  CHECK(contains(verr(k_peter_skey), "signer (private) key"));
  CHECK(
    contains(serr("PRIVATE+KEY+PeterNeumann+c74f20a4+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"),
             "key hash does not match"));
  CHECK(
    contains(serr("PRIVATE+KEY+PeterNeumann+c74f20a3+AoEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"),
             "unknown key algorithm 2"));
  CHECK(
    contains(serr("PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKD=="),
             "not base64"));
  // Go's mangling test: every proper substring and every byte+1 of both keys fails.
  for (const std::string& key : {k_peter_vkey, k_peter_skey}) {
    const bool signer = key == k_peter_skey;
    const auto ok = [&](const std::string& k) {
      return signer ? parse_signer_key(k).is_ok() : parse_verifier_key(k).is_ok();
    };
    CHECK(ok(key));
    for (size_t i = 0; i <= key.size(); ++i) {
      for (size_t j = i + 1; j <= key.size(); ++j) {
        if (i != 0 || j != key.size()) {
          CHECK_FALSE(ok(key.substr(i, j - i)));
        }
      }
    }
    for (size_t i = 0; i < key.size(); ++i) {
      std::string altered = key;
      altered[i] = static_cast<char>(altered[i] + 1);
      CHECK_FALSE(ok(altered));
    }
  }
}

TEST_CASE("sign_note refuses text Go's Open would refuse")
{
  const NoteSigner signer = signer_of(k_peter_skey);
  CHECK_FALSE(sign_note("abc", signer).is_ok());
  CHECK_FALSE(sign_note("", signer).is_ok());
  CHECK_FALSE(sign_note("a\tb\n", signer).is_ok());
  CHECK_FALSE(sign_note("\xc0\xaf\n", signer).is_ok());
  CHECK(sign_note("\n", signer).is_ok());
}

TEST_CASE("checkpoint bodies: edge cases")
{
  const Hash root = sample_root();
  const std::string b64 =
    base64_encode(std::string_view(reinterpret_cast<const char*>(root.data()), 32));
  CHECK(b64.size() == 44);
  const auto parse = [](const std::string& t) { return parse_checkpoint(t); };
  auto ok = parse("o\n0\n" + b64 + "\n");
  REQUIRE(ok.is_ok());
  CHECK(ok.value().size == 0);
  CHECK(parse("o\n18446744073709551615\n" + b64 + "\n").value().size == UINT64_MAX);
  CHECK(parse("o\n5\n" + b64 + "\next one\nand two\n").is_ok()); // extension lines
  CHECK(format_checkpoint({"o", 5, root}).value() == "o\n5\n" + b64 + "\n");

  const std::string bad[] = {
    "",
    "o\n5\n" + b64,                                             // no final newline
    "o\n5\n",                                                   // no root
    "\n5\n" + b64 + "\n",                                       // empty origin
    "o\n05\n" + b64 + "\n",                                     // leading zero
    "o\n+5\n" + b64 + "\n",                                     // sign
    "o\n-5\n" + b64 + "\n",                                     // sign
    "o\n 5\n" + b64 + "\n",                                     // space
    "o\n\n" + b64 + "\n",                                       // empty size
    "o\n18446744073709551616\n" + b64 + "\n",                   // 2^64
    "o\n5\n" + b64.substr(0, 43) + "\n",                        // short base64
    "o\n5\n" + b64.substr(0, 40) + "\n",                        // 30 bytes
    "o\n5\n" + b64 + "AAAA\n",                                  // 35 bytes
    "o\n5\n" + b64.substr(0, 42) + "B=\n",                      // non-zero unused bits
    "o\n5\n" + b64 + "\n\n",                                    // empty extension line
    "o\n5\n" + b64.substr(0, 20) + "-" + b64.substr(21) + "\n", // URL alphabet
  };
  for (const std::string& t : bad) {
    INFO(t);
    CHECK(contains(error_of(parse(t).status()), "not a checkpoint"));
  }
  CHECK_FALSE(format_checkpoint({"", 1, root}).is_ok());
  CHECK_FALSE(format_checkpoint({"a\nb", 1, root}).is_ok());
  CHECK_FALSE(format_checkpoint({"a\tb", 1, root}).is_ok());
}

TEST_CASE("a validly signed note that is not a checkpoint is refused")
{
  const NoteSigner signer = signer_of(k_peter_skey);
  const std::string note = sign_note("o\n1.5\nAAAA\n", signer).value();
  CHECK(open_note(note, verifier_of(k_peter_vkey)).is_ok());
  CHECK(contains(error_of(verify_checkpoint(note, verifier_of(k_peter_vkey)).status()),
                 "not a checkpoint"));
}

TEST_CASE("base64 is strict and round trips every length")
{
  std::string bytes;
  for (int n = 0; n < 70; ++n) {
    const std::string text = base64_encode(bytes);
    CHECK(text.size() % 4 == 0);
    CHECK(base64_decode(text) == bytes);
    bytes += static_cast<char>(n * 37 + 11);
  }
  CHECK(base64_encode("hi") == "aGk=");
  CHECK_FALSE(base64_decode("aGk").has_value());
  CHECK_FALSE(base64_decode("aGl=").has_value()); // unused bits set
  CHECK_FALSE(base64_decode("aG=k").has_value());
  CHECK_FALSE(base64_decode("====").has_value());
  CHECK_FALSE(base64_decode("aGk=\n").has_value());
  CHECK_FALSE(base64_decode(" aGk=").has_value());
  CHECK(base64_decode("").value().empty());
}

TEST_SUITE_END();

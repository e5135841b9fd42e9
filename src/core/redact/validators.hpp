// Checks that tell real identifiers from look-alikes: checksums (Luhn, IBAN mod-97), number plans
// (card issuers, phone country codes, SSN ranges) and randomness tests for secrets.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace pgp::core::redact::detail {

// A byte range of the input, end exclusive.
struct Span {
  std::size_t begin = 0;
  std::size_t end = 0;
};

// A check sees the whole text (for context) and the candidate span. It returns the span to
// report, which may be narrower than the candidate (e.g. trailing digits that belong to the next
// word), or nothing when the candidate is a look-alike.
using Check = std::optional<Span> (*)(std::string_view text, Span candidate);

// Pure predicates on the candidate text, usable by custom rules through validator names.
bool luhn_valid(std::string_view digits_and_separators);
bool iban_valid(std::string_view iban);  // spaces allowed
bool us_ssn_valid(std::string_view ssn);  // separators allowed
bool ipv4_valid(std::string_view ip);
bool ipv6_valid(std::string_view ip);  // without zone index
double shannon_entropy(std::string_view s);  // bits per byte
bool is_placeholder(std::string_view value);
// True for values that look machine-generated: long enough, varied characters, high entropy.
bool looks_random(std::string_view value, std::size_t min_len, double min_entropy);

// Card issuer ranges and their lengths.
bool card_issuer_valid(std::string_view digits);
// Plausible total digit count (country code included) for an international number.
bool phone_country_valid(std::string_view digits);
// Expected IBAN length for a country code, 0 if unknown.
int iban_length(std::string_view country);

// Span checks used by the built-in detectors.
std::optional<Span> check_email(std::string_view text, Span s);
std::optional<Span> check_card(std::string_view text, Span s);
std::optional<Span> check_ssn(std::string_view text, Span s);
std::optional<Span> check_iban(std::string_view text, Span s);
std::optional<Span> check_ipv4(std::string_view text, Span s);
std::optional<Span> check_ipv6(std::string_view text, Span s);
std::optional<Span> check_phone_intl(std::string_view text, Span s);
std::optional<Span> check_phone_nanp(std::string_view text, Span s);
std::optional<Span> check_phone_national(std::string_view text, Span s);
std::optional<Span> check_password(std::string_view text, Span s);
std::optional<Span> check_generic_secret(std::string_view text, Span s);
std::optional<Span> check_bearer(std::string_view text, Span s);
std::optional<Span> check_token(std::string_view text, Span s);
std::optional<Span> check_openai(std::string_view text, Span s);
std::optional<Span> check_jwt(std::string_view text, Span s);

// Span checks behind the validator names a custom rule may reference.
Check check_by_name(std::string_view name);

}  // namespace pgp::core::redact::detail

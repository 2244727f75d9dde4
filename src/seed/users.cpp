// Users: demo accounts with one shared Argon2id hash of the documented demo password.
#include "seed/users.hpp"

#include "seed/dataset.hpp"
#include "seed/vocabulary.hpp"

#include <sodium.h>

#include <span>

namespace emporium::seed {

namespace {

constexpr std::array<std::string_view, 12> kStreets{"Main St",
                                                    "Oak Ave",
                                                    "Maple Dr",
                                                    "Cedar Ln",
                                                    "Elm St",
                                                    "Pine Rd",
                                                    "Lake View",
                                                    "Hill Crest",
                                                    "River Rd",
                                                    "Park Ave",
                                                    "Sunset Blvd",
                                                    "Mill Lane"};
constexpr std::array<std::string_view, 12> kCities{"Springfield",
                                                   "Riverton",
                                                   "Lakewood",
                                                   "Fairview",
                                                   "Greenville",
                                                   "Madison",
                                                   "Oakland",
                                                   "Franklin",
                                                   "Clinton",
                                                   "Georgetown",
                                                   "Salem",
                                                   "Bristol"};

}  // namespace

UserBase user_base(std::uint64_t seed, std::int64_t anchor, std::int64_t id) {
    const vocab::Vocabulary& v = vocab::vocabulary();
    Rng rng = Rng::for_row(seed, kStreamUser, static_cast<std::uint64_t>(id));
    UserBase u;
    u.first = rng.below(v.first_names.size());
    u.last = rng.below(v.last_names.size());
    u.house = rng.between(1, 999);
    u.street = rng.below(kStreets.size());
    u.city = rng.below(kCities.size());
    u.postal_code = rng.between(10000, 99999);
    // Sign-ups over the shop's whole life; orders and reviews come after them (see order()).
    u.created_at = anchor - rng.between(kDay, (kCatalogAgeDays + 100) * kDay);
    return u;
}

void append_shipping_address(std::string& out, const UserBase& u) {
    const vocab::Vocabulary& v = vocab::vocabulary();
    out.append(R"({"name": ")");
    append_copy_text(out, v.first_names[u.first].text);
    out.push_back(' ');
    // JSON string inside COPY text: the names hold no quotes or backslashes (O'Brien is fine).
    append_copy_text(out, v.last_names[u.last].text);
    out.append(R"(", "line1": ")");
    append_int(out, u.house);
    out.push_back(' ');
    out.append(kStreets[u.street]);
    out.append(R"(", "city": ")");
    out.append(kCities[u.city]);
    out.append(R"(", "postal_code": ")");
    append_int(out, u.postal_code);
    out.append(R"(", "country": "US"})");
}

UserRow Dataset::user(std::int64_t id) const {
    const vocab::Vocabulary& v = vocab::vocabulary();
    const UserBase u = user_base(options_.seed, anchor_, id);
    UserRow row;
    row.id = id;
    row.email = "user" + std::to_string(id) + "@example.com";
    row.name.append(v.first_names[u.first].text);
    row.name.push_back(' ');
    row.name.append(v.last_names[u.last].text);
    row.created_at = u.created_at;
    return row;
}

std::string demo_password_hash(std::uint64_t seed) {
    if (sodium_init() < 0) throw SeedError("seed: libsodium failed to initialise");
    constexpr unsigned long long kOpsLimit = 2;
    constexpr std::size_t kMemLimit = std::size_t{19} << 20U;  // 19 MiB, as OWASP suggests for Argon2id
    constexpr std::size_t kHashBytes = 32;
    // A fixed salt (from the seed) keeps seeded users identical across runs; the demo password is
    // public anyway. The PHC string below is exactly what crypto_pwhash_str would produce with
    // that salt, so crypto_pwhash_str_verify accepts it.
    std::array<unsigned char, crypto_pwhash_SALTBYTES> salt{};
    Rng rng = Rng::for_row(seed, kStreamSalt, 0);
    for (auto& b : salt) b = static_cast<unsigned char>(rng.next() & 0xffU);
    std::array<unsigned char, kHashBytes> hash{};
    if (crypto_pwhash(hash.data(),
                      hash.size(),
                      kDemoPassword.data(),
                      kDemoPassword.size(),
                      salt.data(),
                      kOpsLimit,
                      kMemLimit,
                      crypto_pwhash_ALG_ARGON2ID13) != 0) {
        throw SeedError("seed: crypto_pwhash failed (out of memory?)");
    }
    auto b64 = [](std::span<const unsigned char> bytes) {
        std::string text(sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_ORIGINAL_NO_PADDING),
                         '\0');
        sodium_bin2base64(
            text.data(), text.size(), bytes.data(), bytes.size(), sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
        text.resize(std::char_traits<char>::length(text.c_str()));
        return text;
    };
    std::string phc = "$argon2id$v=19$m=";
    phc += std::to_string(kMemLimit / 1024U);
    phc += ",t=";
    phc += std::to_string(kOpsLimit);
    phc += ",p=1$";
    phc += b64(salt);
    phc += '$';
    phc += b64(hash);
    return phc;
}

}  // namespace emporium::seed

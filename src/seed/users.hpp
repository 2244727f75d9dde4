#pragma once
// Internal to the seeder: the per-user values that orders share with users.

#include "seed/copy_text.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

namespace emporium::seed {

struct UserBase {
    std::size_t first = 0;  // index in the vocabulary's first names
    std::size_t last = 0;   // index in the vocabulary's last names
    std::int64_t house = 0;
    std::size_t street = 0;
    std::size_t city = 0;
    std::int64_t postal_code = 0;
    std::int64_t created_at = 0;
};

UserBase user_base(std::uint64_t seed, std::int64_t anchor, std::int64_t id);

// The user's address as the JSON object of orders.shipping_address, in COPY text.
void append_shipping_address(std::string& out, const UserBase& u);

}  // namespace emporium::seed

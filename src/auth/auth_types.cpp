#include "auth/auth_types.hpp"

namespace emporium::auth {

std::string_view role_name(Role role) noexcept {
    switch (role) {
        case Role::kCustomer:
            return "customer";
        case Role::kAdmin:
            return "admin";
    }
    return "customer";
}

std::optional<Role> parse_role(std::string_view name) noexcept {
    if (name == "customer") return Role::kCustomer;
    if (name == "admin") return Role::kAdmin;
    return std::nullopt;
}

}  // namespace emporium::auth

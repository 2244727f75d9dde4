// COPY text rows of every table, and the chunked stream the loader sends.
#include "seed/copy_text.hpp"
#include "seed/dataset.hpp"
#include "seed/users.hpp"

#include <algorithm>

namespace emporium::seed {

std::string_view table_name(Table table) {
    switch (table) {
        case Table::kCategories:
            return "categories";
        case Table::kUsers:
            return "users";
        case Table::kProducts:
            return "products";
        case Table::kInventoryMovements:
            return "inventory_movements";
        case Table::kOrders:
            return "orders";
        case Table::kOrderItems:
            return "order_items";
        case Table::kReviews:
            return "reviews";
    }
    return "";
}

std::string_view copy_sql(Table table) {
    switch (table) {
        case Table::kCategories:
            return "COPY categories (id, parent_id, slug, name, created_at) FROM STDIN";
        case Table::kUsers:
            return "COPY users (id, email, password_hash, name, role, created_at, updated_at) FROM STDIN";
        case Table::kProducts:
            return "COPY products (id, sku, name, description, category_id, category_name, price_cents, "
                   "currency, stock, version, purchase_count, rating_sum, rating_count, is_active, "
                   "created_at, updated_at) FROM STDIN";
        case Table::kInventoryMovements:
            return "COPY inventory_movements (id, product_id, variant_id, delta, reason, created_at) FROM STDIN";
        case Table::kOrders:
            return "COPY orders (id, user_id, status, total_cents, currency, shipping_address, expires_at, "
                   "created_at, updated_at, paid_at, fulfilled_at) FROM STDIN";
        case Table::kOrderItems:
            return "COPY order_items (order_id, product_id, variant_id, quantity, unit_price_cents) FROM STDIN";
        case Table::kReviews:
            return "COPY reviews (id, product_id, user_id, rating, title, body, verified_purchase, "
                   "created_at, updated_at) FROM STDIN";
    }
    return "";
}

namespace {

void field(std::string& out, std::int64_t v) {
    append_int(out, v);
    out.push_back('\t');
}
void field(std::string& out, std::string_view v) {
    append_copy_text(out, v);
    out.push_back('\t');
}
void time_field(std::string& out, std::int64_t unix_seconds) {
    append_timestamp(out, unix_seconds);
    out.push_back('\t');
}
// Replaces the trailing tab of the last field with the row terminator.
void end_row(std::string& out) {
    out.back() = '\n';
}

}  // namespace

int Dataset::append_row(Table table, std::int64_t index, std::string& out) const {
    const std::int64_t id = index + 1;
    switch (table) {
        case Table::kCategories: {
            const CategoryRow c = category(id);
            field(out, c.id);
            if (c.parent_id == 0) {
                out.append("\\N\t");
            } else {
                field(out, c.parent_id);
            }
            field(out, c.slug);
            field(out, c.name);
            time_field(out, anchor_ - (kCatalogAgeDays + 1) * kDay);
            break;
        }
        case Table::kUsers: {
            const UserRow u = user(id);
            field(out, u.id);
            field(out, u.email);
            field(out, password_hash_);
            field(out, u.name);
            field(out, "customer");
            time_field(out, u.created_at);
            time_field(out, u.created_at);
            break;
        }
        case Table::kProducts: {
            const ProductRow p = product(id);
            field(out, p.id);
            field(out, p.sku);
            field(out, p.name);
            field(out, p.description);
            field(out, p.category_id);
            field(out, p.category_name);
            field(out, p.price_cents);
            field(out, "USD");
            field(out, p.stock);
            field(out, 1);  // version
            field(out, p.purchase_count);
            field(out, p.rating_sum);
            field(out, p.rating_count);
            field(out, "t");
            time_field(out, p.created_at);
            time_field(out, p.created_at);
            break;
        }
        case Table::kInventoryMovements: {
            // The ledger's opening balance, dated at the anchor: the seeded order history predates
            // it, so stock = Σ delta holds without movements for the historical orders.
            field(out, id);
            field(out, id);
            field(out, id);  // variant_id: the product's default variant has its id
            field(out, product_base(id).stock);
            field(out, "initial");
            time_field(out, anchor_);
            break;
        }
        case Table::kOrders: {
            const OrderRow o = order(id);
            field(out, o.id);
            field(out, o.user_id);
            field(out, o.is_fulfilled ? "fulfilled" : "paid");
            field(out, o.total_cents);
            field(out, "USD");
            append_shipping_address(out, user_base(options_.seed, anchor_, o.user_id));
            out.push_back('\t');
            time_field(out, o.created_at + 1800);  // expires_at: unpaid orders expire after 30 min
            time_field(out, o.created_at);
            time_field(out, o.is_fulfilled ? o.fulfilled_at : o.paid_at);
            time_field(out, o.paid_at);
            if (o.is_fulfilled) {
                time_field(out, o.fulfilled_at);
            } else {
                out.append("\\N\t");
            }
            break;
        }
        case Table::kOrderItems: {
            // One unit of this stream is all the lines of order `id`.
            const OrderRow o = order(id);
            for (int k = 0; k < o.item_count; ++k) {
                const auto& item = o.items[static_cast<std::size_t>(k)];
                field(out, o.id);
                field(out, item.product_id);
                field(out, item.product_id);  // variant_id: the product's default variant has its id
                field(out, item.quantity);
                field(out, item.unit_price_cents);
                end_row(out);
            }
            return o.item_count;
        }
        case Table::kReviews: {
            const ReviewRow r = review(id);
            field(out, r.id);
            field(out, r.product_id);
            field(out, r.user_id);
            field(out, r.rating);
            field(out, r.title);
            field(out, r.body);
            field(out, "t");
            time_field(out, r.created_at);
            time_field(out, r.created_at);
            break;
        }
    }
    end_row(out);
    return 1;
}

TableStream::TableStream(std::shared_ptr<const Dataset> data,
                         Table table,
                         std::int64_t first_unit,
                         std::int64_t end_unit)
    : data_(std::move(data)), table_(table), first_(first_unit), next_(first_unit) {
    const std::int64_t units = data_->units(table);
    end_ = end_unit < 0 ? units : std::min(end_unit, units);
}

bool TableStream::fill(std::string& chunk, std::size_t target_bytes) {
    chunk.clear();
    if (chunk.capacity() < target_bytes + 4096) chunk.reserve(target_bytes + 4096);
    while (next_ < end_ && chunk.size() < target_bytes) {
        rows_ += data_->append_row(table_, next_, chunk);
        ++next_;
    }
    return !chunk.empty();
}

}  // namespace emporium::seed

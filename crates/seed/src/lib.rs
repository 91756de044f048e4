//! Seed data: realistic users and orders, the same for the same seed, valid by the domain's own rules.
//!
//! Users are built through [`NewUser::parse`] and line items through the domain parsers, so the data
//! is exactly what the API could have stored. It is realistic where it matters for an export: names and
//! emails that CSV must quote (commas, double quotes), that a spreadsheet would run as formulas (`=`,
//! `+`, `-`, `@` first), that start with a `'`, and that are not ASCII (accents, CJK, Arabic, emoji);
//! SKUs that start with `-`; one to five line items per order; five currencies with 0, 2 and 3 minor
//! digits; every status with a matching version and `updated_at`.
//!
//! Everything comes from one [`rng::Rng`] stream per kind of record, so `--seed 42` is the same data on
//! every machine. Ids are UUIDv7 built from the record's `created_at` and seeded random bits, so they
//! sort by creation as the API's own ids do.

pub mod rng;

use rill_core::{
    Currency, LineItem, MinorUnits, NewUser, Order, OrderId, OrderStatus, Quantity, Sku, Timestamp,
    User, UserId,
};
use uuid::{Builder, Uuid};

use crate::rng::Rng;

/// 2025-01-01T00:00:00Z. Users sign up during the following quarter; orders are placed during the year
/// after that, evenly spread and in creation order.
pub const EPOCH_MILLIS: i64 = 1_735_689_600_000;
const DAY_MILLIS: u64 = 24 * 3600 * 1000;
const SIGN_UP_MILLIS: u64 = 90 * DAY_MILLIS;
const ORDERING_MILLIS: u64 = 365 * DAY_MILLIS;

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedPlan {
    pub users: usize,
    pub orders: usize,
    pub seed: u64,
}

const FIRST_NAMES: &[&str] = &[
    "Ada",
    "Alan",
    "Grace",
    "Linus",
    "Margaret",
    "Dennis",
    "Barbara",
    "Ken",
    "Frances",
    "Edsger",
    "Radia",
    "Tim",
    "Hedy",
    "Donald",
    "Katherine",
    "John",
    "Sophie",
    "Yukihiro",
    "Anita",
    "Guido",
];
const LAST_NAMES: &[&str] = &[
    "Lovelace",
    "Turing",
    "Hopper",
    "Torvalds",
    "Hamilton",
    "Ritchie",
    "Liskov",
    "Thompson",
    "Allen",
    "Dijkstra",
    "Perlman",
    "Berners-Lee",
    "Lamarr",
    "Knuth",
    "Johnson",
    "McCarthy",
    "Wilson",
    "Matsumoto",
    "Borg",
    "van Rossum",
];
/// Names a CSV writer must handle with care, with the local part of their email.
const UNICODE_NAMES: &[(&str, &str)] = &[
    ("José Núñez", "josé.núñez"),
    ("Zoë Brontë", "zoë.brontë"),
    ("山田 太郎", "yamada.taro"),
    ("Łukasz Żółć", "łukasz.żółć"),
    ("عبد الله", "abdullah"),
    ("Renée 😀 Dubois", "renee.dubois"),
    ("Ωmega Ψ", "omega"),
];
/// Names a spreadsheet would run as formulas, with the local part of their email.
const FORMULA_NAMES: &[(&str, &str)] = &[
    ("=1+1", "=one.plus.one"),
    (
        "=HYPERLINK(\"http://example.com/x\",\"click me\")",
        "=hyperlink",
    ),
    ("=cmd|' /C calc'!A0", "=cmd"),
    ("+31 6 12345678", "+31612345678"),
    ("-Ada Lovelace", "-ada"),
    ("@Grace Hopper", "at.grace"),
    ("'Tis Frances", "tis.frances"),
];
const DOMAINS: &[&str] = &["example.com", "example.org", "example.net", "exämple.de"];

const CURRENCIES: &[(&str, u64)] = &[
    ("EUR", 50),
    ("USD", 30),
    ("GBP", 10),
    ("JPY", 7),
    ("KWD", 3),
];
/// SKUs and unit prices in minor units of a two-digit currency (scaled for JPY and KWD).
const CATALOG: &[(&str, i64)] = &[
    ("BOOK-042", 1_250),
    ("BOOK-101", 2_499),
    ("MUG.RED", 899),
    ("MUG.BLUE", 899),
    ("TSHIRT_S", 1_999),
    ("TSHIRT_M", 1_999),
    ("TSHIRT_L", 1_999),
    ("GIFT-WRAP", 300),
    ("STICKER.PACK", 450),
    ("POSTER-A2", 1_500),
    ("HOODIE_XL", 4_999),
    ("-CLEARANCE.7", 199),
    ("KEYBOARD-MX", 12_900),
    ("CABLE_USB-C", 1_299),
    ("LAMP.DESK", 3_450),
    ("NOTEBOOK.A5", 650),
];

/// Deterministic UUIDv7 text for an instant.
fn uuid_v7(rng: &mut Rng, at: Timestamp) -> String {
    let millis = u64::try_from(at.as_millis()).unwrap_or(0);
    let uuid: Uuid = Builder::from_unix_timestamp_millis(millis, &rng.bytes::<10>()).into_uuid();
    uuid.hyphenated().to_string()
}

/// Every user of the plan, in creation order of their index.
pub fn users(plan: &SeedPlan) -> Vec<User> {
    let mut rng = Rng::new(plan.seed ^ 0x5553_4552_5300_0000);
    (0..plan.users).map(|index| user(&mut rng, index)).collect()
}

fn user(rng: &mut Rng, index: usize) -> User {
    let first = *rng.pick(FIRST_NAMES);
    let last = *rng.pick(LAST_NAMES);
    let plain_local = format!(
        "{}.{}",
        first.to_lowercase(),
        last.to_lowercase().replace(' ', "")
    );
    let (name, local) = match rng.weighted(&[85, 3, 2, 5, 5]) {
        0 => (format!("{first} {last}"), plain_local),
        1 => (format!("{last}, {first}"), plain_local),
        2 => (format!("{first} \"{}\" {last}", &first[..2]), plain_local),
        3 => {
            let (name, local) = *rng.pick(UNICODE_NAMES);
            (name.to_owned(), local.to_owned())
        }
        _ => {
            let (name, local) = *rng.pick(FORMULA_NAMES);
            (name.to_owned(), local.to_owned())
        }
    };
    let domain = *rng.pick(DOMAINS);
    // The index keeps every email key unique whatever the draws.
    let email = format!("{local}.{index}@{domain}");
    let created_at = Timestamp::from_millis(EPOCH_MILLIS + rng.below(SIGN_UP_MILLIS) as i64);
    let new_user = match NewUser::parse(&email, &name) {
        Ok(user) => user,
        Err(error) => unreachable!("seed user {email} / {name} is invalid: {error:?}"),
    };
    let mut user = new_user.into_user(created_at);
    user.id = parse_user_id(&uuid_v7(rng, created_at));
    if rng.chance(10) {
        user.updated_at =
            Timestamp::from_millis(created_at.as_millis() + rng.below(SIGN_UP_MILLIS) as i64);
        user.version = 2 + rng.below(3);
    }
    user
}

fn parse_user_id(text: &str) -> UserId {
    match UserId::parse("id", text) {
        Ok(id) => id,
        Err(_) => unreachable!("uuid::Builder makes canonical ids"),
    }
}

/// The parsed pieces orders are built from, parsed once.
#[derive(Debug)]
struct Catalog {
    currencies: Vec<Currency>,
    currency_weights: Vec<u64>,
    items: Vec<(Sku, i64)>,
}

impl Catalog {
    fn new() -> Self {
        let currencies = CURRENCIES
            .iter()
            .map(|(code, _)| match Currency::parse(code) {
                Ok(currency) => currency,
                Err(_) => unreachable!("{code} is an ISO 4217 code"),
            })
            .collect();
        let currency_weights = CURRENCIES.iter().map(|(_, weight)| *weight).collect();
        let items = CATALOG
            .iter()
            .map(|(sku, price)| match Sku::parse(sku) {
                Ok(parsed) => (parsed, *price),
                Err(_) => unreachable!("{sku} is a valid SKU"),
            })
            .collect();
        Self {
            currencies,
            currency_weights,
            items,
        }
    }
}

/// Generates the plan's orders in batches, in creation order, each placed by one of `users` (all of
/// whom signed up before the first order).
///
/// Creation order matters for speed: ids and every index key of the orders table then grow with each
/// insert, so SQLite appends to a few B-tree pages instead of touching random ones. A million orders
/// in random order take minutes; in creation order, seconds.
#[derive(Debug)]
pub struct OrderBatches<'a> {
    users: &'a [User],
    rng: Rng,
    catalog: Catalog,
    total: usize,
    made: usize,
    batch: usize,
}

impl<'a> OrderBatches<'a> {
    /// Batches of up to `batch` orders; `users` must be [`users`] of the same plan and not empty when
    /// orders are asked for.
    pub fn new(plan: &SeedPlan, users: &'a [User], batch: usize) -> Self {
        Self {
            users,
            rng: Rng::new(plan.seed ^ 0x4f52_4445_5253_0000),
            catalog: Catalog::new(),
            total: if users.is_empty() { 0 } else { plan.orders },
            made: 0,
            batch: batch.max(1),
        }
    }

    fn order(&mut self) -> Order {
        let rng = &mut self.rng;
        let user = rng.pick(self.users);
        // Order k is placed somewhere in the k-th of `total` equal slots of the ordering year.
        let slot = (ORDERING_MILLIS / self.total.max(1) as u64).max(1);
        let start = EPOCH_MILLIS as u64 + SIGN_UP_MILLIS + self.made as u64 * slot;
        let created_at = Timestamp::from_millis((start + rng.below(slot)) as i64);
        let id = match OrderId::parse("id", &uuid_v7(rng, created_at)) {
            Ok(id) => id,
            Err(_) => unreachable!("uuid::Builder makes canonical ids"),
        };
        let currency = self.catalog.currencies[rng.weighted(&self.catalog.currency_weights)];
        // Prices are set for two minor digits; a three-digit currency needs ten times the units.
        let scale = if currency.minor_digits() == 3 { 10 } else { 1 };
        let lines = 1 + rng.weighted(&[40, 25, 15, 12, 8]);
        let mut items = Vec::with_capacity(lines);
        let mut total = 0i64;
        for _ in 0..lines {
            let (sku, price) = rng.pick(&self.catalog.items);
            let quantity = 1 + if rng.chance(90) {
                rng.below(3)
            } else {
                rng.below(10)
            };
            let unit_price = price * scale;
            total += unit_price * quantity as i64;
            items.push(LineItem {
                sku: sku.clone(),
                quantity: Quantity::parse(quantity as i64).unwrap_or_else(|_| unreachable!()),
                unit_price: MinorUnits::parse_unit_price(unit_price)
                    .unwrap_or_else(|_| unreachable!()),
            });
        }
        let (status, version) = match rng.weighted(&[20, 25, 20, 30, 5]) {
            0 => (OrderStatus::Pending, 1),
            1 => (OrderStatus::Paid, 2),
            2 => (OrderStatus::Shipped, 3),
            3 => (OrderStatus::Delivered, 4),
            _ => (OrderStatus::Cancelled, 2 + rng.below(2)),
        };
        let updated_at = if version == 1 {
            created_at
        } else {
            Timestamp::from_millis(created_at.as_millis() + rng.below(14 * DAY_MILLIS) as i64)
        };
        Order {
            id,
            user_id: user.id,
            items,
            currency,
            total: MinorUnits::from_stored(total),
            status,
            created_at,
            updated_at,
            version,
        }
    }
}

impl Iterator for OrderBatches<'_> {
    type Item = Vec<Order>;

    fn next(&mut self) -> Option<Vec<Order>> {
        let size = (self.total - self.made).min(self.batch);
        if size == 0 {
            return None;
        }
        let mut orders = Vec::with_capacity(size);
        for _ in 0..size {
            orders.push(self.order());
            self.made += 1;
        }
        Some(orders)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rill_core::{Email, UserName};

    const PLAN: SeedPlan = SeedPlan {
        users: 2_000,
        orders: 5_000,
        seed: 42,
    };

    #[test]
    fn the_same_seed_gives_the_same_data_and_another_seed_other_data() {
        let a = users(&PLAN);
        let b = users(&PLAN);
        assert_eq!(a, b);
        let orders_a: Vec<Order> = OrderBatches::new(&PLAN, &a, 700).flatten().collect();
        let orders_b: Vec<Order> = OrderBatches::new(&PLAN, &b, 1_000).flatten().collect();
        assert_eq!(orders_a, orders_b);
        let other = users(&SeedPlan { seed: 43, ..PLAN });
        assert_ne!(a[0], other[0]);
    }

    #[test]
    fn every_record_passes_the_domain_rules_and_emails_are_unique() {
        let users = users(&PLAN);
        let mut keys = std::collections::HashSet::new();
        for user in &users {
            assert_eq!(Email::parse(user.email.as_str()).unwrap(), user.email);
            assert_eq!(UserName::parse(user.name.as_str()).unwrap(), user.name);
            assert!(
                keys.insert(user.email.key().to_owned()),
                "{}",
                user.email.as_str()
            );
            assert!(user.updated_at >= user.created_at);
        }
        let orders: Vec<Order> = OrderBatches::new(&PLAN, &users, 1_000).flatten().collect();
        assert_eq!(orders.len(), PLAN.orders);
        for order in &orders {
            assert!((1..=5).contains(&order.items.len()));
            let total: i64 = order.items.iter().map(|i| i.subtotal().unwrap()).sum();
            assert_eq!(order.total.get(), total);
            assert!(order.updated_at >= order.created_at);
            let user = users.iter().find(|u| u.id == order.user_id).unwrap();
            assert!(order.created_at > user.created_at);
        }
        assert!(
            orders
                .windows(2)
                .all(|w| w[0].id < w[1].id && w[0].created_at < w[1].created_at)
        );
    }

    #[test]
    fn the_data_holds_the_cases_an_export_must_handle() {
        let users = users(&PLAN);
        let names: Vec<&str> = users.iter().map(|u| u.name.as_str()).collect();
        assert!(names.iter().any(|n| n.contains(',')));
        assert!(names.iter().any(|n| n.contains('"')));
        assert!(names.iter().any(|n| n.starts_with('=')));
        assert!(names.iter().any(|n| n.starts_with('\'')));
        assert!(names.iter().any(|n| !n.is_ascii()));
        assert!(users.iter().any(|u| u.email.as_str().starts_with('+')));
        let orders: Vec<Order> = OrderBatches::new(&PLAN, &users, 1_000).flatten().collect();
        assert!(
            orders
                .iter()
                .any(|o| o.items.iter().any(|i| i.sku.as_str().starts_with('-')))
        );
        for status in OrderStatus::ALL {
            assert!(orders.iter().any(|o| o.status == status), "{status}");
        }
    }

    #[test]
    fn ids_are_uuid_v7_of_the_creation_time() {
        let users = users(&PLAN);
        for user in users.iter().take(50) {
            let uuid = user.id.as_uuid();
            assert_eq!(uuid.get_version_num(), 7);
            let (seconds, nanos) = uuid.get_timestamp().unwrap().to_unix();
            let millis = seconds as i64 * 1000 + i64::from(nanos / 1_000_000);
            assert_eq!(millis, user.created_at.as_millis());
        }
    }
}

-- Migration 1: users, orders and idempotency keys.
--
-- Every table is STRICT, so a value of the wrong type is refused on write instead of being read back
-- as garbage. Timestamps are INTEGER milliseconds since the Unix epoch (UTC). Ids are the canonical
-- lowercase hyphenated UUIDv7 text: it sorts like the UUID bytes, so ordering by `id` is creation order.

-- One row per applied migration, for people reading the file. `PRAGMA user_version` is the counter the
-- code trusts: it lives in the database header and changes in the same transaction as the schema.
CREATE TABLE schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    applied_at INTEGER NOT NULL
) STRICT;

-- `email` is the address as the user typed it; `email_key` is `Email::key()` (NFKC, lowercased), and its
-- UNIQUE index is what keeps emails unique.
CREATE TABLE users (
    id         TEXT    PRIMARY KEY NOT NULL,
    email      TEXT    NOT NULL,
    email_key  TEXT    NOT NULL UNIQUE,
    name       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version    INTEGER NOT NULL CHECK (version >= 1)
) STRICT;

-- Line items are a JSON array in `items` ([{"sku","quantity","unitPrice"}]): they are always read and
-- written with their order and never queried alone, so one row per order keeps reads to one lookup and
-- bulk loads to one insert per order. `user_id` has no foreign key on purpose: an order is a record of
-- a sale and outlives a deleted user, exactly as in the DynamoDB store.
CREATE TABLE orders (
    id         TEXT    PRIMARY KEY NOT NULL,
    user_id    TEXT    NOT NULL,
    currency   TEXT    NOT NULL,
    total      INTEGER NOT NULL CHECK (total >= 0),
    status     TEXT    NOT NULL
               CHECK (status IN ('pending', 'paid', 'shipped', 'delivered', 'cancelled')),
    items      TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version    INTEGER NOT NULL CHECK (version >= 1)
) STRICT;

-- A user's orders, newest first: the keyset `(created_at, id) < (?, ?)` walks this index in order.
CREATE INDEX orders_by_user_newest ON orders (user_id, created_at DESC, id DESC);
-- Listings and exports without a user go oldest first by `(created_at, id)`, with or without a status.
CREATE INDEX orders_by_status_created ON orders (status, created_at, id);
CREATE INDEX orders_by_created ON orders (created_at, id);

-- An Idempotency-Key of POST /orders, the fingerprint of the request it came with, and the order that
-- request created. A row whose `expires_at` has passed counts as absent and is purged by later writes.
CREATE TABLE idempotency_keys (
    key         TEXT    PRIMARY KEY NOT NULL,
    fingerprint TEXT    NOT NULL,
    order_id    TEXT    NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    expires_at  INTEGER NOT NULL
) STRICT;

CREATE INDEX idempotency_keys_by_expiry ON idempotency_keys (expires_at);

//! The product's functions (users, orders, export) through the gateway, on SQLite.

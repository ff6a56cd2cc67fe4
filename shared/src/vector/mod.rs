//! Vector stores.

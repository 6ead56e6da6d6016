//! Sources metadata to builds metadata (to be written).

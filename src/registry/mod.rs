//! The registry client (to be written).

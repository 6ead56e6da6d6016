//! jq-exact JSON printer (to be written).

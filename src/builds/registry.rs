//! The registry client as the source of indexes `builds` does not have.

use serde_json::Value;

use super::lookup::IndexLookup;
use super::reference;
use crate::registry::Client;

/// `lookup_index` of the client is exactly what `lookup REF` prints, so the
/// indexes `builds` records match the reference's (`ref.name` annotations
/// carry the reference as asked, which is why keys are in short form).
impl IndexLookup for Client {
    fn lookup_index(&self, reference: &str) -> Result<Option<Value>, String> {
        let parsed = reference::parse(reference)?;
        Client::lookup_index(self, &parsed).map_err(|error| error.to_string())
    }
}

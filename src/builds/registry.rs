//! The registry client as the source of indexes `builds` does not have.

use serde_json::Value;

use super::lookup::IndexLookup;
use crate::registry::{Client, Reference, RegistryError};

/// `lookup_index` of the client is exactly what `lookup REF` prints, so the
/// indexes `builds` records match the reference's (`ref.name` annotations
/// carry the reference as asked, which is why keys are in short form).
impl IndexLookup for Client {
    fn lookup_index(&self, reference: &Reference) -> Result<Option<Value>, RegistryError> {
        Client::lookup_index(self, reference)
    }
}

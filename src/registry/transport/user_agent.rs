//! Every request carries our User-Agent, never a library default: registry
//! operators (Docker Hub included) identify clients by it when they look at
//! traffic, and the agent itself is configured to add none.

use std::sync::Arc;

use super::{Request, Response, Transport};
use crate::registry::error::RegistryError;
use crate::registry::protocol::header;

/// The User-Agent sent unless configured otherwise.
pub fn default_user_agent() -> String {
    format!("doi-deploy/{}", env!("CARGO_PKG_VERSION"))
}

pub struct UserAgentLayer {
    inner: Arc<dyn Transport>,
    user_agent: String,
}

impl UserAgentLayer {
    pub fn new(inner: Arc<dyn Transport>, user_agent: &str) -> UserAgentLayer {
        UserAgentLayer {
            inner,
            user_agent: user_agent.to_string(),
        }
    }
}

impl Transport for UserAgentLayer {
    fn send(&self, request: &Request) -> Result<Response, RegistryError> {
        let mut request = request.clone();
        request
            .headers
            .retain(|(name, _)| !name.eq_ignore_ascii_case(header::USER_AGENT));
        request
            .headers
            .push((header::USER_AGENT, self.user_agent.clone()));
        self.inner.send(&request)
    }
}

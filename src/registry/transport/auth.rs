//! The outermost layer: attaches authorization for this host and answers
//! 401 challenges once (see [`crate::registry::auth`] for the rules).
//!
//! A request is retried at most once after a 401; the second answer is
//! returned whatever it is (Docker Hub answers 401 for repositories that do
//! not exist, even with a valid token, and lookups read that as "not
//! found").

use std::sync::Arc;

pub use crate::registry::auth::AuthState;
use crate::registry::auth::{parse_challenges, Challenge};
use crate::registry::error::RegistryError;
use crate::registry::protocol::header;

use super::{Request, Response, Transport};

pub struct AuthLayer {
    inner: Arc<dyn Transport>,
    host: String,
    state: Arc<AuthState>,
}

impl AuthLayer {
    pub fn new(inner: Arc<dyn Transport>, host: &str, state: Arc<AuthState>) -> AuthLayer {
        AuthLayer {
            inner,
            host: host.to_string(),
            state,
        }
    }

    fn send_with(
        &self,
        request: &Request,
        authorization: Option<&str>,
    ) -> Result<Response, RegistryError> {
        match authorization {
            None => self.inner.send(request),
            Some(value) => {
                let mut request = request.clone();
                request
                    .headers
                    .retain(|(name, _)| !name.eq_ignore_ascii_case(header::AUTHORIZATION));
                request
                    .headers
                    .push((header::AUTHORIZATION, value.to_string()));
                self.inner.send(&request)
            }
        }
    }
}

impl Transport for AuthLayer {
    fn send(&self, request: &Request) -> Result<Response, RegistryError> {
        let scope = request.scope.as_deref().unwrap_or_default();
        let before = self.state.authorization_before(&self.host, scope)?;
        let response = self.send_with(request, before.as_ref().map(|auth| auth.value.as_str()))?;
        if response.status != 401 {
            return Ok(response);
        }
        if before.as_ref().is_some_and(|auth| auth.fresh) {
            // A token fetched for this very request was refused: no access.
            return Ok(response);
        }
        let challenges = response
            .header(header::WWW_AUTHENTICATE)
            .map(parse_challenges)
            .unwrap_or_default();
        let challenge = challenges
            .iter()
            .find(|challenge| matches!(challenge, Challenge::Bearer { .. }))
            .or_else(|| challenges.first());
        let Some(challenge) = challenge else {
            return Ok(response);
        };
        let after =
            self.state
                .authorization_after(&self.host, scope, challenge, before.as_ref())?;
        match after {
            Some(auth)
                if before
                    .as_ref()
                    .is_none_or(|previous| previous.value != auth.value) =>
            {
                self.send_with(request, Some(&auth.value))
            }
            _ => Ok(response),
        }
    }
}

//! The staging image name template (`BASHBREW_STAGING_TEMPLATE`).

use super::BuildsError;

/// The environment variable the reference tooling reads the template from.
pub const TEMPLATE_VARIABLE: &str = "BASHBREW_STAGING_TEMPLATE";

/// A validated staging template such as `oisupport/staging-ARCH:BUILD`.
///
/// `BUILD` is required because the build id is the only thing that makes a
/// staging image unique: without it every build of an arch would overwrite
/// the same image. `ARCH` is optional (the id already depends on the arch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StagingTemplate {
    template: String,
}

impl StagingTemplate {
    /// Checks that the template names the build; the image it yields is
    /// checked as a reference when a build id is substituted.
    pub fn new(template: &str) -> Result<Self, BuildsError> {
        if template.is_empty() {
            return Err(BuildsError::new(format!(
                "{TEMPLATE_VARIABLE} is empty (expected something like 'oisupport/staging-ARCH:BUILD')"
            )));
        }
        if !template.contains("BUILD") {
            return Err(BuildsError::new(format!(
                "{TEMPLATE_VARIABLE} {template:?} does not contain BUILD (expected something like 'oisupport/staging-ARCH:BUILD')"
            )));
        }
        Ok(Self {
            template: template.to_string(),
        })
    }

    /// Reads the template from `BASHBREW_STAGING_TEMPLATE`.
    pub fn from_environment() -> Result<Self, BuildsError> {
        match std::env::var(TEMPLATE_VARIABLE) {
            Ok(value) => Self::new(&value),
            Err(std::env::VarError::NotPresent) => Err(BuildsError::new(format!(
                "{TEMPLATE_VARIABLE} is not set (expected something like 'oisupport/staging-ARCH:BUILD')"
            ))),
            Err(std::env::VarError::NotUnicode(_)) => Err(BuildsError::new(format!(
                "{TEMPLATE_VARIABLE} is not valid UTF-8"
            ))),
        }
    }

    /// The template text as given.
    pub fn as_str(&self) -> &str {
        &self.template
    }

    /// Substitutes every `ARCH` and `BUILD` in one left-to-right pass, so an
    /// arch name can never be re-read as a placeholder.
    pub fn image(&self, arch: &str, build_id: &str) -> String {
        let mut image = String::with_capacity(self.template.len() + build_id.len());
        let mut rest = self.template.as_str();
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix("ARCH") {
                image.push_str(arch);
                rest = after;
            } else if let Some(after) = rest.strip_prefix("BUILD") {
                image.push_str(build_id);
                rest = after;
            } else {
                let mut characters = rest.chars();
                if let Some(character) = characters.next() {
                    image.push(character);
                }
                rest = characters.as_str();
            }
        }
        image
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitutes_arch_and_build() {
        let template = StagingTemplate::new("oisupport/staging-ARCH:BUILD").unwrap();
        assert_eq!(
            template.image("arm64v8", "abc"),
            "oisupport/staging-arm64v8:abc"
        );
    }

    #[test]
    fn substitutes_every_occurrence() {
        let template = StagingTemplate::new("example/ARCH-staging:ARCH-BUILD").unwrap();
        assert_eq!(template.image("i386", "0f"), "example/i386-staging:i386-0f");
    }

    #[test]
    fn arch_is_optional() {
        let template = StagingTemplate::new("example/staging:BUILD").unwrap();
        assert_eq!(template.image("amd64", "0f"), "example/staging:0f");
    }

    #[test]
    fn substituted_text_is_not_substituted_again() {
        let template = StagingTemplate::new("example/ARCH:BUILD").unwrap();
        assert_eq!(template.image("BUILD", "ARCH"), "example/BUILD:ARCH");
    }

    #[test]
    fn template_without_build_is_an_error() {
        let error = StagingTemplate::new("oisupport/staging-ARCH:latest").unwrap_err();
        assert!(
            error.to_string().contains("does not contain BUILD"),
            "{error}"
        );
    }

    #[test]
    fn empty_template_is_an_error() {
        let error = StagingTemplate::new("").unwrap_err();
        assert!(error.to_string().contains("is empty"), "{error}");
    }
}

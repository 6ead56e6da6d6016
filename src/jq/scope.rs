//! What a name in a filter refers to, for the rewrites of the syntax tree
//! (`order`, `path_expr`): a parameter of an enclosing definition, a
//! definition of the module being rewritten, a builtin (jq-defined or
//! native), or something the rewrite cannot see (a definition from an
//! included or imported module).
//!
//! jaq resolves a call to the innermost definition of that name and arity
//! in scope, then to the last prelude definition, then to the first native;
//! this mirrors that order.

use jaq_core::load::parse::Def;
use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

/// The names of the builtins every module sees, jq-defined and native.
///
/// The rewrites of the syntax tree are not run on the jq-defined ones: they
/// are written in jq's order already, which a test holds.
pub(super) struct Names {
    /// The last definition of each name and arity, by its place in the
    /// prelude.
    last: HashMap<(&'static str, usize), usize>,
    natives: HashSet<(&'static str, usize)>,
}

static NAMES: OnceLock<Names> = OnceLock::new();

impl Names {
    /// Taken from the prelude a compilation parsed anyway (so it is parsed
    /// once, not twice); the first call wins.
    pub fn init(
        defs: &[Def<&'static str>],
        natives: impl IntoIterator<Item = (&'static str, usize)>,
    ) -> &'static Names {
        NAMES.get_or_init(|| {
            let last = defs
                .iter()
                .enumerate()
                .map(|(index, def)| ((def.name, def.args.len()), index))
                .collect();
            let natives = natives.into_iter().collect();
            Names { last, natives }
        })
    }

    /// The names, parsing the prelude if no compilation did yet.
    pub fn get() -> &'static Names {
        match NAMES.get() {
            Some(names) => names,
            None => Self::init(
                &super::compat::defs().collect::<Vec<_>>(),
                super::compat::funs().map(|(name, args, _)| (name, args.len())),
            ),
        }
    }

    /// What `name/arity` means where nothing local shadows it.
    pub fn resolve(&self, name: &str, arity: usize) -> Callee {
        // The prelude is hidden from programs only when it is compiled.
        if !super::visible::is_visible(name, arity) {
            return Callee::Unknown;
        }
        if let Some(index) = self.last.get(&(name, arity)) {
            Callee::Prelude(*index)
        } else if self.natives.contains(&(name, arity)) {
            Callee::Native
        } else {
            Callee::Unknown
        }
    }
}

/// What a call refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Callee {
    /// A closure parameter of an enclosing definition.
    Param,
    /// A value parameter (`$x`) of an enclosing definition, called as a
    /// filter (which jq allows and jaq does not).
    VarParam,
    /// A definition of the module being rewritten, by the number the
    /// rewrite gave it.
    Local(usize),
    /// A jq-defined builtin, by its place in the prelude.
    Prelude(usize),
    /// A native builtin.
    Native,
    /// From an included or imported module, or not defined at all.
    Unknown,
}

impl Callee {
    /// A builtin (which the program does not shadow).
    pub fn is_builtin(self) -> bool {
        matches!(self, Callee::Prelude(_) | Callee::Native)
    }
}

/// The names in scope at one point of a module, innermost last.
pub(super) struct Scope<'s> {
    entries: Vec<(&'s str, usize, Callee)>,
    prelude: &'static Names,
    /// The definitions (`name/arity`) of the modules this one includes,
    /// which shadow the builtins; `None` when they could not be read, so
    /// any name not defined here may be theirs.
    included: Option<HashSet<(String, usize)>>,
}

impl<'s> Scope<'s> {
    pub fn new(prelude: &'static Names, included: Option<HashSet<(String, usize)>>) -> Self {
        Self {
            entries: Vec::new(),
            prelude,
            included,
        }
    }

    /// Where to come back to with [`Scope::truncate`].
    pub fn mark(&self) -> usize {
        self.entries.len()
    }

    pub fn truncate(&mut self, mark: usize) {
        self.entries.truncate(mark);
    }

    /// Brings the parameters of `args` (a definition's) into scope.
    pub fn push_params(&mut self, args: &[&'s str]) {
        for arg in args {
            match arg.strip_prefix('$') {
                Some(name) => self.entries.push((name, 0, Callee::VarParam)),
                None => self.entries.push((arg, 0, Callee::Param)),
            }
        }
    }

    /// Brings a definition into scope.
    pub fn push_def(&mut self, name: &'s str, arity: usize, callee: Callee) {
        self.entries.push((name, arity, callee));
    }

    pub fn resolve(&self, name: &str, arity: usize) -> Callee {
        let local = self
            .entries
            .iter()
            .rev()
            .find(|(entry, entry_arity, _)| *entry == name && *entry_arity == arity);
        match local {
            Some((_, _, callee)) => *callee,
            None if name.contains("::") => Callee::Unknown,
            None => match &self.included {
                Some(included)
                    if !included
                        .iter()
                        .any(|(def, args)| def == name && *args == arity) =>
                {
                    self.prelude.resolve(name, arity)
                }
                _ => Callee::Unknown,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locals_shadow_builtins_and_parameters_shadow_definitions() {
        let prelude = Names::get();
        let mut scope = Scope::new(prelude, Some(HashSet::new()));
        assert!(matches!(scope.resolve("map", 1), Callee::Prelude(_)));
        assert_eq!(scope.resolve("length", 0), Callee::Native);
        assert_eq!(scope.resolve("no_such_builtin", 0), Callee::Unknown);
        let mark = scope.mark();
        scope.push_def("map", 1, Callee::Local(0));
        scope.push_params(&["f", "$x"]);
        assert_eq!(scope.resolve("map", 1), Callee::Local(0));
        assert_eq!(scope.resolve("f", 0), Callee::Param);
        assert_eq!(scope.resolve("x", 0), Callee::VarParam);
        assert_eq!(scope.resolve("mod::f", 0), Callee::Unknown);
        scope.truncate(mark);
        assert!(matches!(scope.resolve("map", 1), Callee::Prelude(_)));
        let opaque = Scope::new(prelude, None);
        assert_eq!(opaque.resolve("map", 1), Callee::Unknown);
        let including = Scope::new(prelude, Some(HashSet::from([("map".to_string(), 1)])));
        assert_eq!(including.resolve("map", 1), Callee::Unknown);
        assert_eq!(including.resolve("length", 0), Callee::Native);
    }
}

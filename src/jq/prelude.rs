//! The part of the prelude a program can reach.
//!
//! jaq compiles every definition it is given, used or not, and the prelude
//! (jaq's definitions and ours, a few hundred) is most of what `doi-jq`
//! does before its first input: on `-n null` two thirds of the start-up
//! instructions, and the compiled terms stay in memory for the whole run.
//! A program that imports or includes no module can only reach the
//! definitions it names and those they name in turn, so the others are
//! left out before compiling. A program with modules gets the whole
//! prelude (its modules are read while loading, after the prelude is
//! fixed).
//!
//! Names are gathered generously (every word of the program, keywords
//! and object keys too), so a definition is only left out when nothing
//! could call it; the ones kept are in their original order, so a call
//! resolves to the same definition as with the whole prelude.

use super::tree;
use jaq_core::load::lex::{StrPart, Tok, Token};
use jaq_core::load::parse::{Def, Term};
use jaq_core::load::Lexer;
use std::collections::{HashMap, HashSet};

/// The definitions of `prelude` that the program `code` can reach; all of
/// them when `code` uses modules or does not lex.
pub(super) fn reachable(prelude: Vec<Def<&'static str>>, code: &str) -> Vec<Def<&'static str>> {
    let Ok(tokens) = Lexer::new(code).lex() else {
        return prelude;
    };
    let mut wanted = HashSet::new();
    words(&tokens, &mut wanted);
    if wanted.contains("import") || wanted.contains("include") {
        return prelude;
    }
    let (defs, called): (Vec<_>, Vec<_>) = prelude
        .into_iter()
        .map(|mut def| {
            let mut names = HashSet::new();
            def.body = calls(def.body, &mut names);
            (def, names)
        })
        .unzip();
    let mut by_name: HashMap<&str, Vec<usize>> = HashMap::new();
    for (index, def) in defs.iter().enumerate() {
        by_name.entry(def.name).or_default().push(index);
    }
    let mut kept = vec![false; defs.len()];
    let mut pending: Vec<&str> = wanted.into_iter().collect();
    while let Some(name) = pending.pop() {
        for &index in by_name.get(name).into_iter().flatten() {
            if !kept[index] {
                kept[index] = true;
                pending.extend(called[index].iter().copied());
            }
        }
    }
    defs.into_iter()
        .zip(kept)
        .filter_map(|(def, kept)| kept.then_some(def))
        .collect()
}

/// Every word and format (`@base64`) among `tokens`, in blocks and string
/// interpolations too.
fn words<'s>(tokens: &[Token<&'s str>], out: &mut HashSet<&'s str>) {
    for Token(text, kind) in tokens {
        match kind {
            Tok::Word | Tok::Fmt => {
                out.insert(*text);
            }
            Tok::Block(inner) => words(inner, out),
            Tok::Str(parts) => {
                for part in parts {
                    if let StrPart::Term(Token(_, Tok::Block(inner))) = part {
                        words(inner, out);
                    }
                }
            }
            _ => {}
        }
    }
}

/// `term`, unchanged, after adding the names it calls (formats included)
/// to `out`.
fn calls(term: Term<&'static str>, out: &mut HashSet<&'static str>) -> Term<&'static str> {
    match &term {
        Term::Call(name, _) => {
            out.insert(*name);
        }
        Term::Str(Some(format), _) => {
            out.insert(*format);
        }
        _ => {}
    }
    tree::children(term, &mut |child| calls(child, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prelude() -> Vec<Def<&'static str>> {
        jaq_core::load::parse(
            "def a: 1; def b: a; def c: b + 1; def c(f): f; def d: @e \"x\"; def @e: .; def u: 0;",
            |p| p.defs(),
        )
        .unwrap()
    }

    fn names(defs: &[Def<&'static str>]) -> Vec<String> {
        defs.iter()
            .map(|def| format!("{}/{}", def.name, def.args.len()))
            .collect()
    }

    #[test]
    fn what_the_program_names_and_what_that_calls_is_kept_in_order() {
        assert_eq!(
            names(&reachable(prelude(), "c")),
            ["a/0", "b/0", "c/0", "c/1"]
        );
        assert_eq!(names(&reachable(prelude(), "\"\\(d)\"")), ["d/0", "@e/0"]);
        assert_eq!(names(&reachable(prelude(), "1")), Vec::<String>::new());
    }

    #[test]
    fn modules_and_unlexable_code_keep_everything() {
        for code in ["include \"m\"; c", "import \"m\" as m; m::c", "\"unclosed"] {
            assert_eq!(reachable(prelude(), code).len(), prelude().len());
        }
    }
}

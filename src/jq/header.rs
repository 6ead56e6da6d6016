//! A module's header as jq 1.7.1 reads it: `module {...};` metadata and
//! the `include`/`import` directives, read with jaq's lexer and parser.
//!
//! jaq accepts metadata of any shape and keeps only the last of several
//! imports under one name; jq refuses non-constant metadata and paths, lets
//! later imports under one name shadow earlier ones definition by
//! definition, and answers `modulemeta`. What jq needs that jaq does not
//! do is done from this reading: [`check`] refuses what jq refuses,
//! [`merge_imports`] turns several imports under one name into one import
//! of a module that includes them all in order, and [`module_meta`] builds
//! `modulemeta`'s answer.

use super::{Map, Val};
use jaq_core::load::lex::{StrPart, Tok, Token};
use jaq_core::load::parse::Term;
use jaq_core::load::{Lexer, Parser};
use std::ops::Range;

/// One `include` or `import` directive.
pub(super) struct Directive {
    pub path: String,
    /// `None` for `include`; `$name` for data imports.
    pub alias: Option<String>,
    /// The metadata object after the path, as a value.
    meta: Option<Val>,
    /// The source text of the metadata term.
    pub meta_text: String,
    /// Bytes of the whole directive, its `;` included.
    pub span: Range<usize>,
}

/// A module's header.
pub(super) struct Header {
    pub meta: Option<Val>,
    pub directives: Vec<Directive>,
    /// Where the definitions start.
    pub body_start: usize,
    /// The definitions after the header, as `name/arity`.
    pub defs: Vec<String>,
}

/// A problem jq reports about a header, with the byte where it is.
pub(super) struct Problem {
    pub message: String,
    pub at: usize,
}

fn span_of(code: &str, part: &str) -> Range<usize> {
    let start = part.as_ptr() as usize - code.as_ptr() as usize;
    start..start + part.len()
}

/// Reads the header of `code`; `Ok(None)` when jaq's lexer cannot read it
/// (jaq then reports the syntax error itself).
pub(super) fn read(code: &str) -> Result<Option<Header>, Problem> {
    let Ok(tokens) = Lexer::new(code).lex() else {
        return Ok(None);
    };
    let mut header = Header {
        meta: None,
        directives: Vec::new(),
        body_start: 0,
        defs: Vec::new(),
    };
    let mut index = 0;
    let terminator =
        |from: usize| (from..tokens.len()).find(|at| matches!(&tokens[*at], Token(";", Tok::Sym)));
    if let Some(Token("module", Tok::Word)) = tokens.first() {
        let Some(end) = terminator(1) else {
            return Ok(None);
        };
        header.meta = Some(metadata(code, &tokens[1..end], tokens[0].0)?);
        header.body_start = span_of(code, tokens[end].0).end;
        index = end + 1;
    }
    while let Some(Token(keyword @ ("include" | "import"), Tok::Word)) = tokens.get(index) {
        let Some(end) = terminator(index + 1) else {
            return Ok(None);
        };
        let Some(Token(path_text, Tok::Str(parts))) = tokens.get(index + 1) else {
            return Ok(None);
        };
        let path = constant_string(parts).ok_or_else(|| Problem {
            message: "Import path must be constant".to_string(),
            at: span_of(code, keyword).start,
        })?;
        let mut next = index + 2;
        let alias = if *keyword == "import" {
            match (tokens.get(next), tokens.get(next + 1)) {
                (Some(Token("as", Tok::Word)), Some(Token(name, Tok::Word | Tok::Var))) => {
                    next += 2;
                    Some(name.to_string())
                }
                _ => return Ok(None),
            }
        } else {
            None
        };
        let (meta, meta_text) = if next < end {
            let start = span_of(code, tokens[next].0).start;
            let stop = span_of(code, tokens[end - 1].0).end;
            let meta = metadata(code, &tokens[next..end], keyword)?;
            (Some(meta), code[start..stop].to_string())
        } else {
            (None, String::new())
        };
        let _ = path_text;
        header.directives.push(Directive {
            path,
            alias,
            meta,
            meta_text,
            span: span_of(code, keyword).start..span_of(code, tokens[end].0).end,
        });
        header.body_start = span_of(code, tokens[end].0).end;
        index = end + 1;
    }
    if let Ok(defs) = Parser::new(&tokens[index..]).parse(|parser| parser.defs()) {
        header.defs = defs
            .iter()
            .map(|def| format!("{}/{}", def.name, def.args.len()))
            .collect();
    }
    Ok(Some(header))
}

/// Whether `code` is a module without a program: a header, definitions
/// or nothing at all (comments aside), which jq refuses as a main program.
pub(super) fn only_definitions(code: &str) -> bool {
    let Ok(Some(header)) = read(code) else {
        return false;
    };
    let Ok(tokens) = Lexer::new(&code[header.body_start..]).lex() else {
        return false;
    };
    Parser::new(&tokens).parse(|parser| parser.defs()).is_ok()
}

/// A string literal without interpolation, decoded.
fn constant_string<T>(parts: &[StrPart<&str, T>]) -> Option<String> {
    let mut text = String::new();
    for part in parts {
        match part {
            StrPart::Str(raw) => text.push_str(raw),
            StrPart::Char(character) => text.push(*character),
            StrPart::Term(_) => return None,
        }
    }
    Some(text)
}

/// Metadata must be a constant object.
fn metadata(code: &str, tokens: &[Token<&str>], keyword: &str) -> Result<Val, Problem> {
    let problem = |message: &str| Problem {
        message: message.to_string(),
        at: span_of(code, keyword).start,
    };
    let term = Parser::new(tokens)
        .parse(|parser| parser.term())
        .map_err(|_| problem("Module metadata must be constant"))?;
    let value = constant(&term).ok_or_else(|| problem("Module metadata must be constant"))?;
    if !matches!(value, Val::Obj(_)) {
        return Err(problem("Module metadata must be an object"));
    }
    Ok(value)
}

/// The value of a constant term (what jq folds at compile time).
pub(super) fn constant(term: &Term<&str>) -> Option<Val> {
    use jaq_core::load::parse::BinaryOp;
    Some(match term {
        Term::Num(text) => super::read::parse_single(text.as_bytes()).ok()?,
        Term::Str(None, parts) => Val::from(constant_string(parts)?),
        Term::Call(name, args) if args.is_empty() => match *name {
            "null" => Val::Null,
            "true" => Val::Bool(true),
            "false" => Val::Bool(false),
            _ => return None,
        },
        Term::Neg(inner) => match constant(inner)? {
            Val::Num(_) => {
                let number = Val::as_f64(&constant(inner)?)?;
                Val::from(-number)
            }
            _ => return None,
        },
        Term::Arr(None) => Val::from_iter(std::iter::empty()),
        Term::Arr(Some(items)) => {
            let mut values = Vec::new();
            let mut pending = vec![items.as_ref()];
            while let Some(item) = pending.pop() {
                match item {
                    Term::BinOp(left, BinaryOp::Comma, right) => {
                        pending.push(right);
                        pending.push(left);
                    }
                    other => values.push(constant(other)?),
                }
            }
            values.into_iter().collect()
        }
        Term::Obj(entries) => {
            let mut map = Map::default();
            for (key, value) in entries {
                let key = match key {
                    Term::Var(_) => return None,
                    Term::Call(name, args) if args.is_empty() => Val::from(name.to_string()),
                    other => constant(other)?,
                };
                let value = constant(value.as_ref()?)?;
                map.insert(key, value);
            }
            Val::obj(map)
        }
        _ => return None,
    })
}

/// One import merged into a stand-in module: its path and metadata text.
pub(super) type Member = (String, String);

/// Several imports under one name become one import of a stand-in module
/// made of them all in order, so later definitions shadow earlier ones
/// and the others stay visible (jq's binding order). Returns the
/// rewritten code and, per merged name, its members; the stand-in is
/// found under [`merged_path`]`(n)` and built by [`stand_in`].
pub(super) fn merge_imports(code: &str, header: &Header) -> Option<(String, Vec<Vec<Member>>)> {
    let mut groups: Vec<(&str, Vec<&Directive>)> = Vec::new();
    for directive in &header.directives {
        let Some(alias) = directive.alias.as_deref() else {
            continue;
        };
        if alias.starts_with('$') {
            continue;
        }
        match groups.iter_mut().find(|(name, _)| *name == alias) {
            Some((_, members)) => members.push(directive),
            None => groups.push((alias, vec![directive])),
        }
    }
    groups.retain(|(_, members)| members.len() > 1);
    if groups.is_empty() {
        return None;
    }
    let mut out = code.to_string();
    let mut merged = Vec::new();
    // Replace from the end so earlier spans stay valid.
    let mut edits: Vec<(Range<usize>, String)> = Vec::new();
    for (number, (alias, members)) in groups.iter().enumerate() {
        merged.push(
            members
                .iter()
                .map(|member| (member.path.clone(), member.meta_text.clone()))
                .collect(),
        );
        for (position, member) in members.iter().enumerate() {
            let replacement = if position == 0 {
                format!("import \"{}\" as {alias};", merged_path(number))
            } else {
                String::new()
            };
            edits.push((member.span.clone(), replacement));
        }
    }
    edits.sort_by_key(|(span, _)| std::cmp::Reverse(span.start));
    for (span, replacement) in edits {
        // Keep the line numbers of what follows.
        let newlines = code[span.clone()].matches('\n').count();
        out.replace_range(span, &(replacement + &"\n".repeat(newlines)));
    }
    Some((out, merged))
}

/// The code of a stand-in module: the directives of every member, then
/// their definitions in order (`codes` are the members' sources).
pub(super) fn stand_in(codes: &[String]) -> String {
    let mut directives = String::new();
    let mut bodies = String::new();
    for code in codes {
        match read(code) {
            Ok(Some(header)) => {
                for directive in &header.directives {
                    directives.push_str(&code[directive.span.clone()]);
                    directives.push('\n');
                }
                bodies.push_str(&code[header.body_start..]);
            }
            _ => bodies.push_str(code),
        }
        bodies.push('\n');
    }
    directives + &bodies
}

/// The import path that names the `n`th merged module of a file.
pub(super) fn merged_path(number: usize) -> String {
    format!("{MERGED_PREFIX}{number}")
}

/// Paths starting with this name merged modules (no module path can:
/// they must be relative).
pub(super) const MERGED_PREFIX: &str = "/merged-import/";

/// `modulemeta`'s answer: the module's metadata, then `deps` (each
/// directive's metadata, `as`, `is_data`, `relpath`) and `defs`.
pub(super) fn module_meta(header: &Header) -> Val {
    let mut map = match &header.meta {
        Some(Val::Obj(meta)) => (**meta).clone(),
        _ => Map::default(),
    };
    let deps: Val = header
        .directives
        .iter()
        .map(|directive| {
            let mut dep = match &directive.meta {
                Some(Val::Obj(meta)) => (**meta).clone(),
                _ => Map::default(),
            };
            if let Some(alias) = &directive.alias {
                dep.insert(
                    Val::from("as".to_string()),
                    Val::from(alias.trim_start_matches('$').to_string()),
                );
            }
            let is_data = directive
                .alias
                .as_deref()
                .is_some_and(|a| a.starts_with('$'));
            dep.insert(Val::from("is_data".to_string()), Val::Bool(is_data));
            dep.insert(
                Val::from("relpath".to_string()),
                Val::from(directive.path.clone()),
            );
            Val::obj(dep)
        })
        .collect();
    map.insert(Val::from("deps".to_string()), deps);
    let defs: Val = header
        .defs
        .iter()
        .map(|def| Val::from(def.clone()))
        .collect();
    map.insert(Val::from("defs".to_string()), defs);
    Val::obj(map)
}

/// jq refuses object construction with a constant key that is not a
/// string (`{(0): 1}`) when it compiles; the first such key in `code`.
pub(super) fn constant_key_problem(code: &str) -> Option<Problem> {
    let tokens = Lexer::new(code).lex().ok()?;
    // Skip the header: it was checked on its own.
    let mut start = 0;
    while let Some(Token(keyword, Tok::Word)) = tokens.get(start) {
        if !matches!(*keyword, "module" | "include" | "import") {
            break;
        }
        start = (start..tokens.len()).find(|at| matches!(&tokens[*at], Token(";", Tok::Sym)))? + 1;
    }
    let body = &tokens[start..];
    let terms: Vec<Term<&str>> = match Parser::new(body).parse(|parser| parser.term()) {
        Ok(term) => vec![term],
        Err(_) => Parser::new(body)
            .parse(|parser| parser.defs())
            .ok()?
            .into_iter()
            .map(|def| def.body)
            .collect(),
    };
    let mut pending: Vec<&Term<&str>> = terms.iter().collect();
    while let Some(term) = pending.pop() {
        if let Term::Obj(entries) = term {
            for (key, _) in entries {
                if let Some(problem) = bad_key(code, key) {
                    return Some(problem);
                }
            }
        }
        children(term, &mut pending);
    }
    None
}

fn bad_key(code: &str, key: &Term<&str>) -> Option<Problem> {
    let at = |text: &str| {
        let start = text.as_ptr() as usize;
        let base = code.as_ptr() as usize;
        (start >= base && start <= base + code.len()).then(|| start - base)
    };
    let (value, place) = match key {
        Term::Num(text) => (constant(key)?, at(text)?),
        Term::Neg(inner) => match inner.as_ref() {
            Term::Num(text) => (constant(key)?, at(text)?),
            _ => return None,
        },
        _ => return None,
    };
    Some(Problem {
        message: format!(
            "Cannot use {} as object key",
            super::value::describe(&value)
        ),
        at: place,
    })
}

/// The terms directly inside `term`.
pub(super) fn children<'t>(term: &'t Term<&str>, out: &mut Vec<&'t Term<&'t str>>) {
    use jaq_core::load::parse::{BinaryOp, Pattern};
    use jaq_core::path::Part;
    fn pattern<'t>(bound: &'t Pattern<&str>, out: &mut Vec<&'t Term<&'t str>>) {
        match bound {
            Pattern::Var(_) => {}
            Pattern::Arr(items) => items.iter().for_each(|item| pattern(item, out)),
            Pattern::Obj(entries) => {
                for (key, value) in entries {
                    out.push(key);
                    pattern(value, out);
                }
            }
        }
    }
    match term {
        Term::Id | Term::Recurse | Term::Num(_) | Term::Break(_) | Term::Var(_) => {}
        Term::Str(_, parts) => {
            for part in parts {
                if let StrPart::Term(inner) = part {
                    out.push(inner);
                }
            }
        }
        Term::Arr(inner) => out.extend(inner.as_deref()),
        Term::Obj(entries) => {
            for (key, value) in entries {
                out.push(key);
                out.extend(value.as_ref());
            }
        }
        Term::Neg(inner) | Term::Label(_, inner) => out.push(inner),
        Term::BinOp(left, op, right) => {
            out.push(left);
            out.push(right);
            if let BinaryOp::Pipe(Some(bound)) = op {
                pattern(bound, out);
            }
        }
        Term::Fold(_, xs, bound, args) => {
            out.push(xs);
            pattern(bound, out);
            out.extend(args.iter());
        }
        Term::TryCatch(body, catch) => {
            out.push(body);
            out.extend(catch.as_deref());
        }
        Term::IfThenElse(branches, otherwise) => {
            for (condition, then) in branches {
                out.push(condition);
                out.push(then);
            }
            out.extend(otherwise.as_deref());
        }
        Term::Def(defs, rest) => {
            out.extend(defs.iter().map(|def| &def.body));
            out.push(rest);
        }
        Term::Call(_, args) => out.extend(args.iter()),
        Term::Path(base, path) => {
            out.push(base);
            for (part, _) in &path.0 {
                match part {
                    Part::Index(index) => out.push(index),
                    Part::Range(from, to) => {
                        out.extend(from.as_ref());
                        out.extend(to.as_ref());
                    }
                }
            }
        }
    }
}

/// jq reads an import path as a JSON string, so a bad escape in one is a
/// JSON error (`Invalid escape at line 1, column 4 (while parsing
/// '"\ "')`); jaq's lexer only says it cannot read the program.
pub(super) fn import_path_problem(code: &str) -> Option<Problem> {
    let mut rest = code.trim_start();
    loop {
        let keyword = ["include", "import", "module"]
            .into_iter()
            .find(|keyword| rest.starts_with(keyword))?;
        let at = code.len() - rest.len();
        let after = rest[keyword.len()..].trim_start();
        if keyword != "module" && after.starts_with('"') {
            let bytes = after.as_bytes();
            let mut end = 1;
            while end < bytes.len() && bytes[end] != b'"' {
                end += if bytes[end] == b'\\' { 2 } else { 1 };
            }
            let literal = &after[..(end + 1).min(after.len())];
            if let Err(error) = super::read::parse_single(literal.as_bytes()) {
                return Some(Problem {
                    message: format!("{error} (while parsing '{literal}')"),
                    at,
                });
            }
        }
        let end = rest.find(';')?;
        rest = rest[end + 1..].trim_start();
    }
}

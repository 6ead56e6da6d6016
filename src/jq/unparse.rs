//! jq source text for a parsed program, so that a rewrite of jaq's syntax
//! tree (see `order` and `path_expr`) can go back to jaq's loader, which
//! takes source text.
//!
//! The text is fully parenthesised: every compound term is written as an
//! atom, so the parse of the output is the tree that was printed, whatever
//! the precedence of its operators. Comments and layout are not kept; the
//! caller reports compile errors against the program as written.

use jaq_core::load::lex::StrPart;
use jaq_core::load::parse::{BinaryOp, Def, Pattern, Term};
use jaq_core::ops::{Cmp, Math};
use jaq_core::path::{Opt, Part};
use std::fmt::Write as _;

/// A program body that is a term.
pub(super) fn term(term: &Term<&str>) -> String {
    let mut out = String::new();
    write_term(term, &mut out);
    out
}

/// A module body: its definitions, each ending in `;`.
pub(super) fn defs(defs: &[Def<&str>]) -> String {
    let mut out = String::new();
    for def in defs {
        write_def(def, &mut out);
    }
    out
}

fn write_def(def: &Def<&str>, out: &mut String) {
    out.push_str("def ");
    out.push_str(def.name);
    if !def.args.is_empty() {
        out.push('(');
        out.push_str(&def.args.join("; "));
        out.push(')');
    }
    out.push_str(": ");
    write_term(&def.body, out);
    out.push_str(";\n");
}

fn math(op: &Math) -> &'static str {
    match op {
        Math::Add => "+",
        Math::Sub => "-",
        Math::Mul => "*",
        Math::Div => "/",
        Math::Rem => "%",
    }
}

fn cmp(op: &Cmp) -> &'static str {
    match op {
        Cmp::Lt => "<",
        Cmp::Le => "<=",
        Cmp::Gt => ">",
        Cmp::Ge => ">=",
        Cmp::Eq => "==",
        Cmp::Ne => "!=",
    }
}

/// Writes `term` as an atom: something that can stand anywhere a term can.
fn write_term(term: &Term<&str>, out: &mut String) {
    match term {
        Term::Id => out.push('.'),
        Term::Recurse => out.push_str("(..)"),
        Term::Num(number) => out.push_str(number),
        Term::Str(format, parts) => {
            if let Some(format) = format {
                out.push('(');
                out.push_str(format);
                out.push(' ');
                write_str(parts, out);
                out.push(')');
            } else {
                write_str(parts, out);
            }
        }
        Term::Arr(None) => out.push_str("[]"),
        Term::Arr(Some(inner)) => {
            out.push('[');
            write_term(inner, out);
            out.push(']');
        }
        Term::Obj(entries) => {
            out.push('{');
            for (index, (key, value)) in entries.iter().enumerate() {
                if index > 0 {
                    out.push_str(", ");
                }
                match value {
                    // `{$x}`, `{"a"}`, `{@base64 "a"}`
                    None => write_term(key, out),
                    Some(value) => {
                        out.push('(');
                        write_term(key, out);
                        out.push_str("): ");
                        write_term(value, out);
                    }
                }
            }
            out.push('}');
        }
        Term::Neg(inner) => {
            out.push_str("(-");
            write_term(inner, out);
            out.push(')');
        }
        Term::BinOp(left, op, right) => {
            out.push('(');
            write_term(left, out);
            let symbol = match op {
                BinaryOp::Pipe(None) => " | ",
                BinaryOp::Pipe(Some(pattern)) => {
                    out.push_str(" as ");
                    write_pattern(pattern, out);
                    " | "
                }
                BinaryOp::Comma => ", ",
                BinaryOp::Alt => " // ",
                BinaryOp::Or => " or ",
                BinaryOp::And => " and ",
                BinaryOp::Math(op) => {
                    let _ = write!(out, " {} ", math(op));
                    ""
                }
                BinaryOp::Cmp(op) => {
                    let _ = write!(out, " {} ", cmp(op));
                    ""
                }
                BinaryOp::Assign => " = ",
                BinaryOp::Update => " |= ",
                BinaryOp::UpdateMath(op) => {
                    let _ = write!(out, " {}= ", math(op));
                    ""
                }
                BinaryOp::UpdateAlt => " //= ",
            };
            out.push_str(symbol);
            write_term(right, out);
            out.push(')');
        }
        Term::Label(name, body) => {
            let _ = write!(out, "(label {name} | ");
            write_term(body, out);
            out.push(')');
        }
        Term::Break(name) => {
            let _ = write!(out, "(break {name})");
        }
        Term::Fold(kind, inputs, pattern, args) => {
            let _ = write!(out, "({kind} ");
            write_term(inputs, out);
            out.push_str(" as ");
            write_pattern(pattern, out);
            write_args(args, out);
            out.push(')');
        }
        Term::TryCatch(body, catch) => {
            out.push_str("(try ");
            write_term(body, out);
            if let Some(catch) = catch {
                out.push_str(" catch ");
                write_term(catch, out);
            }
            out.push(')');
        }
        Term::IfThenElse(branches, otherwise) => {
            for (index, (condition, then)) in branches.iter().enumerate() {
                out.push_str(if index == 0 { "(if " } else { " elif " });
                write_term(condition, out);
                out.push_str(" then ");
                write_term(then, out);
            }
            if let Some(otherwise) = otherwise {
                out.push_str(" else ");
                write_term(otherwise, out);
            }
            out.push_str(" end)");
        }
        Term::Def(defs, body) => {
            out.push('(');
            for def in defs {
                write_def(def, out);
            }
            write_term(body, out);
            out.push(')');
        }
        Term::Call(name, args) => {
            out.push_str(name);
            write_args(args, out);
        }
        Term::Var(name) => out.push_str(name),
        Term::Path(head, path) => {
            match **head {
                Term::Id => out.push('.'),
                _ => {
                    out.push('(');
                    write_term(head, out);
                    out.push(')');
                }
            }
            for (part, opt) in &path.0 {
                out.push('[');
                match part {
                    Part::Index(index) => write_term(index, out),
                    Part::Range(from, upto) => {
                        if let Some(from) = from {
                            write_term(from, out);
                        }
                        if from.is_some() || upto.is_some() {
                            out.push(':');
                        }
                        if let Some(upto) = upto {
                            write_term(upto, out);
                        }
                    }
                }
                out.push(']');
                if matches!(opt, Opt::Optional) {
                    out.push('?');
                }
            }
        }
    }
}

fn write_args(args: &[Term<&str>], out: &mut String) {
    if args.is_empty() {
        return;
    }
    out.push('(');
    for (index, arg) in args.iter().enumerate() {
        if index > 0 {
            out.push_str("; ");
        }
        write_term(arg, out);
    }
    out.push(')');
}

fn write_pattern(pattern: &Pattern<&str>, out: &mut String) {
    match pattern {
        Pattern::Var(name) => out.push_str(name),
        Pattern::Arr(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push_str(", ");
                }
                write_pattern(item, out);
            }
            out.push(']');
        }
        Pattern::Obj(entries) => {
            out.push('{');
            for (index, (key, value)) in entries.iter().enumerate() {
                if index > 0 {
                    out.push_str(", ");
                }
                out.push('(');
                write_term(key, out);
                out.push_str("): ");
                write_pattern(value, out);
            }
            out.push('}');
        }
    }
}

fn write_str(parts: &[StrPart<&str, Term<&str>>], out: &mut String) {
    out.push('"');
    for part in parts {
        match part {
            // The lexer's runs hold neither quotes nor backslashes.
            StrPart::Str(text) => out.push_str(text),
            StrPart::Char(character) => match character {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\r' => out.push_str("\\r"),
                '\u{8}' => out.push_str("\\b"),
                '\u{c}' => out.push_str("\\f"),
                c if (*c as u32) < 0x20 || *c == '\u{7f}' => {
                    let _ = write!(out, "\\u{:04x}", *c as u32);
                }
                c => out.push(*c),
            },
            StrPart::Term(inner) => {
                out.push_str("\\(");
                write_term(inner, out);
                out.push(')');
            }
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(code: &str) -> Term<&str> {
        jaq_core::load::parse(code, |parser| parser.term()).expect(code)
    }

    /// Printing, parsing and printing again gives the same text, and the
    /// first print parses: the printed program is the parsed one.
    #[test]
    fn printed_programs_parse_back_to_themselves() {
        for code in [
            ".",
            "..",
            ".a.b[0][1:][:2][1:2][]?",
            "1 + 2 * 3 - -4 / 5 % 6",
            "[.[] | {a, $x, \"b\": 1, (.c): 2, @base64 \"k\": 3}]",
            "\"a\\(1, 2)b\\n\\\"\\\\\\u0001é\" | @base64 \"x\\(.)\"",
            ".a as [$x, {b: $y, $z}] | $x",
            "reduce .[] as $x (0; . + $x) | foreach .[] as $x (0; . + 1; [., $x])",
            "if . then 1 elif .a then 2 end | if 1 then 2 else 3 end",
            "try error catch . | .a? | try 1",
            "label $out | 1, break $out",
            "def f: 1; def g(a; $b): a + $b; f, g(1; 2)",
            ".a = 1 | .b |= 2 | .c += 3 | .d //= 4 | .e -= 5",
            "a::b(1) | @json | (1, 2) // 3 and 4 or 5",
            "1 == 2, 1 != 2, 1 < 2, 1 <= 2, 1 > 2, 1 >= 2",
            "(1 | 2)[0] | \"x\"[0:1]",
        ] {
            let printed = term(&parse(code));
            let again = term(&parse(&printed));
            assert_eq!(printed, again, "{code}");
        }
    }

    #[test]
    fn definitions_print_in_order() {
        let defs = jaq_core::load::parse("def f: 1; def g($x): $x;", |parser| parser.defs())
            .expect("defs");
        assert_eq!(super::defs(&defs), "def f: 1;\ndef g($x): $x;\n");
    }
}

//! jq 1.7.1's operator grammar where jaq's parser groups differently.
//!
//! jq's parser.y puts `*`, `/` and `%` on one level (jaq binds `%`
//! tighter: `2 * 5 % 3` is 1 to jq, 4 to jaq), puts `//` below the
//! assignments (`.a = null // 3` is `(.a = null) // 3`), lets
//! `Term as $x | body` be an operand (`1 + 2 as $x | $x * 10` is
//! `1 + (2 as $x | $x * 10)`, 21) and applies a unary minus to a product
//! (`-"a" * 2` negates `"aa"`). The comparisons and the assignments are
//! non-associative there: `1 < 2 < 3` and `.a = .b = 1` are syntax errors.
//!
//! jaq's parse is taken apart into the operator chains it climbed and
//! climbed again with jq's levels ([`regroup`]). jaq's tree drops
//! brackets, and `2 * (5 % 3)` parses as `2 * 5 % 3` does, so the source
//! is parsed with each bracketed term marked ([`mark_brackets`]). What jq
//! refuses is found in the source ([`problem`]).

use super::header::Problem;
use super::lexemes::{lexemes, Kind};
use jaq_core::load::parse::{BinaryOp, Term};
use jaq_core::ops::Math;

/// The precedence levels of jq 1.7.1's parser.y, lowest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    Pipe,
    Comma,
    Alt,
    Assign,
    Or,
    And,
    Compare,
    Sum,
    Product,
}

impl Level {
    /// The level that a right operand must reach: bison's associativity
    /// (a non-associative level never chains; [`problem`] has refused it).
    fn right_operand(self) -> u8 {
        match self {
            Self::Pipe | Self::Alt => self as u8,
            _ => self as u8 + 1,
        }
    }

    fn of<S>(op: &BinaryOp<S>) -> Self {
        match op {
            BinaryOp::Pipe(_) => Self::Pipe,
            BinaryOp::Comma => Self::Comma,
            BinaryOp::Alt => Self::Alt,
            BinaryOp::Assign | BinaryOp::Update | BinaryOp::UpdateMath(_) | BinaryOp::UpdateAlt => {
                Self::Assign
            }
            BinaryOp::Or => Self::Or,
            BinaryOp::And => Self::And,
            BinaryOp::Cmp(_) => Self::Compare,
            BinaryOp::Math(Math::Add | Math::Sub) => Self::Sum,
            BinaryOp::Math(_) => Self::Product,
        }
    }

    /// The level of an operator as it is written (`None` for what is not
    /// a binary operator).
    fn of_token(token: &str) -> Option<Self> {
        Some(match token {
            "|" => Self::Pipe,
            "," => Self::Comma,
            "//" => Self::Alt,
            "=" | "|=" | "+=" | "-=" | "*=" | "/=" | "%=" | "//=" => Self::Assign,
            "or" => Self::Or,
            "and" => Self::And,
            "==" | "!=" | "<" | "<=" | ">" | ">=" => Self::Compare,
            "+" | "-" => Self::Sum,
            "*" | "/" | "%" => Self::Product,
            _ => return None,
        })
    }
}

/// How jaq-core's parser ranks `op` (its `prec_climb::Op` for
/// `BinaryOp`, private to it) and whether it groups to the right: what
/// tells apart the groups its climbing made from those written in
/// brackets.
fn jaq_rank<S>(op: &BinaryOp<S>) -> (u8, bool) {
    use jaq_core::ops::Cmp;
    match op {
        BinaryOp::Pipe(None) => (0, true),
        BinaryOp::Comma => (1, false),
        BinaryOp::Pipe(Some(_)) => (2, true),
        BinaryOp::Assign | BinaryOp::Update | BinaryOp::UpdateMath(_) | BinaryOp::UpdateAlt => {
            (3, true)
        }
        BinaryOp::Alt => (4, false),
        BinaryOp::Or => (5, false),
        BinaryOp::And => (6, false),
        BinaryOp::Cmp(Cmp::Eq | Cmp::Ne) => (7, false),
        BinaryOp::Cmp(_) => (8, false),
        BinaryOp::Math(Math::Add | Math::Sub) => (9, false),
        BinaryOp::Math(Math::Mul | Math::Div) => (10, false),
        BinaryOp::Math(Math::Rem) => (11, false),
    }
}

/// What a bracketed term `(f)` is marked with for jaq's parser: a call
/// `MARK(f)`, which stays an operand wherever jaq's climbing puts it.
const MARK: &str = "__doi_bracketed__";

/// `code` with each bracketed term marked, or `None` when it has none. A
/// `(` opens a bracketed term unless it follows a name (a call's or a
/// definition's arguments; after a keyword it does open one), a pattern
/// (the arguments of `reduce` and `foreach`), or opens an object key.
pub(super) fn mark_brackets(code: &str) -> Option<String> {
    const KEYWORDS: &[&str] = &[
        "if", "then", "elif", "else", "try", "catch", "reduce", "foreach", "and", "or",
    ];
    let mut marks = Vec::new();
    // Per open bracket: whether it is an object's brace.
    let mut braces: Vec<bool> = Vec::new();
    let mut previous: Option<(Kind, &str)> = None;
    for lexeme in lexemes(code) {
        if matches!(lexeme.kind, Kind::Skipped | Kind::Text | Kind::Escapes) {
            continue;
        }
        let token = &code[lexeme.start..lexeme.end];
        match (lexeme.kind, token) {
            (Kind::Symbol, "(") => {
                let after_key_start = braces.last() == Some(&true)
                    && matches!(previous, Some((Kind::Symbol, "{" | ",")));
                let arguments = match previous {
                    Some((Kind::Name, name)) => !KEYWORDS.contains(&name),
                    Some((Kind::Symbol, "]" | "}")) => true,
                    _ => false,
                };
                if !after_key_start && !arguments {
                    marks.push(lexeme.start);
                }
                braces.push(false);
            }
            (Kind::Symbol, "[" | "\\(") => braces.push(false),
            (Kind::Symbol, "{") => braces.push(true),
            (Kind::Symbol, ")" | "]" | "}") | (Kind::InterpolationEnd, _) => {
                braces.pop();
            }
            _ => {}
        }
        previous = Some((lexeme.kind, token));
    }
    (!marks.is_empty()).then(|| super::lexemes::inserted(code, &marks, MARK))
}

/// `term` (parsed from [`mark_brackets`]' text) grouped as jq groups it,
/// without the marks; `changed` is set when that differs from jaq's
/// grouping.
pub(super) fn regroup<'s>(term: Term<&'s str>, changed: &mut bool) -> Term<&'s str> {
    match term {
        Term::Call(MARK, mut args) if args.len() == 1 => {
            regroup(args.pop().unwrap_or_default(), changed)
        }
        Term::BinOp(..) => {
            let mut chain = Chain::default();
            chain.flatten(term, changed);
            chain.climb_all(changed)
        }
        other => super::tree::children(other, &mut |inner| regroup(inner, changed)),
    }
}

/// The operands and operators of one chain jaq climbed, left to right.
#[derive(Default)]
struct Chain<'s> {
    operands: Vec<Option<Term<&'s str>>>,
    ops: Vec<Option<BinaryOp<&'s str>>>,
    /// The operators in the order jaq's tree applies them (postfix),
    /// which is the same tree exactly when jq's order is the same.
    jaq_order: Vec<usize>,
    jq_order: Vec<usize>,
    next: usize,
    /// The binding (`as $x |`) folded into the last operand.
    binding: Option<usize>,
}

impl<'s> Chain<'s> {
    fn flatten(&mut self, term: Term<&'s str>, changed: &mut bool) {
        let Term::BinOp(left, op, right) = term else {
            self.operands.push(Some(regroup_operand(term, changed)));
            return;
        };
        let (rank, to_right) = jaq_rank(&op);
        let climbed = |child: &Term<&str>, right_child: bool| match child {
            // `l as $x | r` swallows all after it, so it is never a left
            // operand but in brackets.
            Term::BinOp(_, BinaryOp::Pipe(Some(_)), _) if !right_child => false,
            Term::BinOp(_, inner, _) => {
                let inner = jaq_rank(inner).0;
                inner > rank || (inner == rank && to_right == right_child)
            }
            _ => false,
        };
        if climbed(&left, false) {
            self.flatten(*left, changed);
        } else {
            self.operands.push(Some(regroup_operand(*left, changed)));
        }
        let index = self.ops.len();
        let binding = matches!(op, BinaryOp::Pipe(Some(_)));
        self.ops.push(Some(op));
        // The body of a binding is a chain of its own.
        if !binding && climbed(&right, true) {
            self.flatten(*right, changed);
        } else {
            self.operands.push(Some(regroup_operand(*right, changed)));
        }
        self.jaq_order.push(index);
    }

    fn climb_all(mut self, changed: &mut bool) -> Term<&'s str> {
        // jq's `Term as $x | body`: the operand just before the binding.
        if let Some(Some(BinaryOp::Pipe(Some(_)))) = self.ops.last() {
            let last = self.ops.len() - 1;
            let body = self.operands.pop().flatten().unwrap_or_default();
            let (negations, term) =
                strip_negations(self.operands.pop().flatten().unwrap_or_default());
            let op = self.ops.pop().flatten().unwrap_or(BinaryOp::Pipe(None));
            let bound = Term::BinOp(Box::new(unmark(term)), op, Box::new(unmark(body)));
            *changed |= negations > 0;
            self.operands.push(Some(negate(bound, negations)));
            self.binding = Some(last);
        }
        let term = self.climb(0, changed);
        *changed |= self.jq_order != self.jaq_order;
        term
    }

    fn peek(&self) -> Option<Level> {
        self.ops.get(self.next)?.as_ref().map(Level::of)
    }

    fn operand(&mut self, changed: &mut bool) -> Term<&'s str> {
        let at = self.next;
        let term = self
            .operands
            .get_mut(at)
            .and_then(Option::take)
            .unwrap_or_default();
        if at + 1 == self.operands.len() {
            self.jq_order.extend(self.binding);
        }
        let (negations, term) = strip_negations(term);
        let term = unmark(term);
        if negations == 0 {
            return term;
        }
        // `- Exp` has the level of a binary `-`: it takes a product.
        let term = self.climb_from(term, Level::Product as u8, changed);
        *changed |= self.next > at;
        negate(term, negations)
    }

    fn climb(&mut self, min: u8, changed: &mut bool) -> Term<&'s str> {
        let left = self.operand(changed);
        self.climb_from(left, min, changed)
    }

    fn climb_from(
        &mut self,
        mut left: Term<&'s str>,
        min: u8,
        changed: &mut bool,
    ) -> Term<&'s str> {
        while let Some(level) = self.peek().filter(|level| *level as u8 >= min) {
            let index = self.next;
            let op = self.ops[index].take().unwrap_or(BinaryOp::Pipe(None));
            self.next += 1;
            let right = self.climb(level.right_operand(), changed);
            left = Term::BinOp(Box::new(left), op, Box::new(right));
            self.jq_order.push(index);
        }
        left
    }
}

/// An operand of a chain, regrouped inside but still marked if it was
/// bracketed: `(-1) as $x` is not `-1 as $x`.
fn regroup_operand<'s>(term: Term<&'s str>, changed: &mut bool) -> Term<&'s str> {
    match term {
        Term::Call(MARK, mut args) if args.len() == 1 => {
            let inner = regroup(args.pop().unwrap_or_default(), changed);
            Term::Call(MARK, vec![inner])
        }
        Term::Neg(inner) => Term::Neg(Box::new(regroup_operand(*inner, changed))),
        other => regroup(other, changed),
    }
}

/// An operand without its bracket mark.
fn unmark(term: Term<&str>) -> Term<&str> {
    match term {
        Term::Call(MARK, mut args) if args.len() == 1 => args.pop().unwrap_or_default(),
        Term::Neg(inner) => Term::Neg(Box::new(unmark(*inner))),
        other => other,
    }
}

/// The unary minuses jaq bound to an atom (a bracketed one keeps its
/// own), and the atom.
fn strip_negations(term: Term<&str>) -> (usize, Term<&str>) {
    match term {
        Term::Neg(inner) => {
            let (count, inner) = strip_negations(*inner);
            (count + 1, inner)
        }
        other => (0, other),
    }
}

fn negate(term: Term<&str>, count: usize) -> Term<&str> {
    (0..count).fold(term, |term, _| Term::Neg(Box::new(term)))
}

/// The first operator that continues a non-associative chain (`1 < 2 <
/// 3`, `.a = .b |= 1`), with bison's message at it.
pub(super) fn problem(code: &str) -> Option<Problem> {
    // Per bracket: whether a comparison, an assignment is open.
    let mut open: Vec<[bool; 2]> = vec![[false; 2]];
    let groups = [Level::Compare, Level::Assign];
    for lexeme in lexemes(code) {
        let token = &code[lexeme.start..lexeme.end];
        match (lexeme.kind, token) {
            (Kind::Symbol, "(" | "[" | "{" | "\\(") | (Kind::Name, "if") => open.push([false; 2]),
            (Kind::Symbol, ")" | "]" | "}") | (Kind::InterpolationEnd, _) | (Kind::Name, "end") => {
                open.pop();
                if open.is_empty() {
                    open.push([false; 2]);
                }
            }
            // A new expression starts.
            (Kind::Symbol, ";" | ":") | (Kind::Name, "then" | "elif" | "else") => {
                if let Some(top) = open.last_mut() {
                    *top = [false; 2];
                }
            }
            (Kind::Symbol, _) | (Kind::Name, "and" | "or") => {
                let (Some(level), Some(top)) = (Level::of_token(token), open.last_mut()) else {
                    continue;
                };
                for (group, pending) in groups.iter().zip(top.iter_mut()) {
                    // A lower operator closes the group's operation.
                    if level < *group {
                        *pending = false;
                    } else if level == *group {
                        if *pending {
                            let name = match token.len() {
                                1 => format!("'{token}'"),
                                _ => token.to_string(),
                            };
                            return Some(Problem {
                                message: super::compat::syntax_problem(&name, None),
                                at: lexeme.start,
                            });
                        }
                        *pending = true;
                    }
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn regrouped(code: &str) -> Option<String> {
        let marked = mark_brackets(code);
        let term = jaq_core::load::parse(marked.as_deref().unwrap_or(code), |p| p.term())?;
        let mut changed = false;
        let term = regroup(term, &mut changed);
        changed.then(|| super::super::unparse::term(&term))
    }

    #[test]
    fn jaq_groupings_that_jq_shares_are_kept() {
        for code in [
            "1 + 2 * 3 - 4 / 5",
            "(2 * 5) % 3",
            "2 * (5 % 3)",
            "1 | 2 | 3, 4",
            ". as $x | $x + 1 | . * 2",
            "1, 2 as $x | 3",
            "1 | 2 as $x | 3 as $y | 4",
            "$a = (1 // 3)",
            "($a // 1) = 3",
            "-1 + 2",
            "-(1 + 2)",
            "(-1) as $x | $x + 1",
            "(-.) as $x | 2 * (-3)",
            "-(1 + 2) + 3",
            "f(1) * (2) | {(1 % 2): 3, a: (4 % 5)} | reduce (1, 2) as [$x] (0; 1)",
            "if (1) then (2) else (3) end | try (1) catch (2) | \"\\((1 % 2) * 3)\"",
            "f(1 % 2 * 3 | 4)",
            "[1 < 2 and 3 < 4 or 5 == 6]",
            ". as [$a] | (. as $b | $b) | $a",
            "def f: 1 + 2; f * 3",
        ] {
            assert_eq!(regrouped(code), None, "{code}");
        }
    }

    #[test]
    fn jq_groupings_replace_jaqs() {
        for (code, jq) in [
            ("2 * 5 % 3", "((2 * 5) % 3)"),
            ("10 / 5 % 3 * 2", "(((10 / 5) % 3) * 2)"),
            ("$a = null // 3", "(($a = null) // 3)"),
            ("$a |= $b // $c = 1", "(($a |= $b) // ($c = 1))"),
            ("1 + 2 as $x | $x * 10", "(1 + (2 as $x | ($x * 10)))"),
            ("[1 < 2 as $x | 0]", "[(1 < (2 as $x | 0))]"),
            ("-1 as $x | $x + 10", "(-(1 as $x | ($x + 10)))"),
            ("-\"a\" * 2", "(-(\"a\" * 2))"),
            ("-(1) * 2", "(-(1 * 2))"),
            ("1 - -2 * 3 + 4", "((1 - (-(2 * 3))) + 4)"),
            ("[f(2 * 5 % 3)]", "[f(((2 * 5) % 3))]"),
            ("if 2 * 5 % 3 then 1 end", "(if ((2 * 5) % 3) then 1 end)"),
            ("1 // 2 // 3", "(1 // (2 // 3))"),
            ("$a // $b |= 3", "($a // ($b |= 3))"),
        ] {
            assert_eq!(regrouped(code).as_deref(), Some(jq), "{code}");
        }
    }

    fn refused(code: &str) -> Option<(String, usize)> {
        problem(code).map(|problem| (problem.message, problem.at))
    }

    #[test]
    fn chained_comparisons_and_assignments_are_refused_at_the_second() {
        let at =
            |token: &str, at: usize| Some((super::super::compat::syntax_problem(token, None), at));
        assert_eq!(refused("1 < 2 < 3"), at("'<'", 6));
        assert_eq!(refused("1 == 2 <= 3"), at("<=", 7));
        assert_eq!(refused(".a = .b |= 1"), at("|=", 8));
        assert_eq!(refused(".a = 1 and .b = 2"), at("'='", 14));
        assert_eq!(refused("if 1 then 2 end < 4 < 5"), at("'<'", 20));
        assert_eq!(refused("1 < reduce . as $x (0; 1) < 2"), at("'<'", 26));
        assert_eq!(refused("\"\\(1 < 2 < 3)\""), at("'<'", 9));
        assert_eq!(refused("1 as $x | 2 < -3? < 4"), at("'<'", 18));
    }

    #[test]
    fn a_lower_operator_or_a_bracket_ends_the_chain() {
        for code in [
            "1 < 2 and 3 < 4",
            "1 < 2 | 3 < 4, 5 < 6 // 7 < 8",
            ".a = 1 | .b = 2, .c |= 3 // .d += 4",
            ".a = 1 < 2",
            "1 < 2 = 3",
            "(1 < 2) < 3",
            "1 < (2 < 3)",
            "[1 < 2, 3 < 4]",
            "f(1 < 2; 3 < 4)",
            "1 < 2 as $x | 3 < 4",
            "1 < label $f | 2 < 3",
            ".a = def f: .b = 1; f",
            "if 1 < 2 then 3 < 4 elif 5 < 6 then 7 < 8 else 9 < 0 end",
            "{a: 1} | .a = {b: (1 < 2)} | .c = \"<\" | \"\\(1 < 2)\" < \"x\"",
            "1 <= 2 # < 3",
        ] {
            assert_eq!(refused(code), None, "{code}");
        }
    }
}

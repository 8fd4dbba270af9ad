//! The System of Record filter: a small, safe expression language over record fields.
//!
//! ```text
//! status = 'active' and (mrr > 0 or tier in ('gold', 'silver')) and not churned_at is not null
//! ```
//! Comparisons `= != <> < <= > >=`, `in (...)`, `not in (...)`, `is null`, `is not null`,
//! `and`, `or`, `not`, parentheses. Fields are paths (`billing.plan`, or `` `Account Type` ``);
//! values are 'text', numbers and true/false. The expression is parsed into a tree and evaluated in
//! Rust; it is never spliced into SQL. A missing or empty field is null, and comparing null is false.

use std::cmp::Ordering;
use std::fmt;

use serde_json::Value;

use crate::path::FieldPath;
use crate::record::parse_bool;

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Compare { field: FieldPath, op: CmpOp, value: Literal },
    In { field: FieldPath, values: Vec<Literal>, negated: bool },
    IsNull { field: FieldPath, negated: bool },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Text(String),
    Number(f64),
    Bool(bool),
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Text(s) => write!(f, "'{}'", s.replace('\'', "''")),
            Literal::Number(n) => write!(f, "{n}"),
            Literal::Bool(b) => write!(f, "{b}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at column {column}: {problem}")]
pub struct FilterError {
    /// 1-based column in the expression.
    pub column: usize,
    pub problem: String,
}

/// A parsed filter, with its source text.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    pub text: String,
    pub expr: Expr,
}

impl Filter {
    pub fn parse(text: &str) -> Result<Self, FilterError> {
        let tokens = lex(text)?;
        let mut p = Parser { tokens, pos: 0, len: text.chars().count() };
        let expr = p.or()?;
        if let Some((col, tok)) = p.tokens.get(p.pos) {
            return Err(FilterError { column: *col, problem: format!("unexpected {tok} after a complete expression") });
        }
        Ok(Self { text: text.to_owned(), expr })
    }

    pub fn matches(&self, record: &Value) -> bool {
        self.expr.eval(record)
    }
}

impl Expr {
    pub fn eval(&self, record: &Value) -> bool {
        match self {
            Expr::And(a, b) => a.eval(record) && b.eval(record),
            Expr::Or(a, b) => a.eval(record) || b.eval(record),
            Expr::Not(e) => !e.eval(record),
            Expr::Compare { field, op, value } => {
                let Some(v) = present(field, record) else {
                    return false;
                };
                match compare(v, value) {
                    Some(ord) => match op {
                        CmpOp::Eq => ord == Ordering::Equal,
                        CmpOp::Ne => ord != Ordering::Equal,
                        CmpOp::Lt => ord == Ordering::Less,
                        CmpOp::Le => ord != Ordering::Greater,
                        CmpOp::Gt => ord == Ordering::Greater,
                        CmpOp::Ge => ord != Ordering::Less,
                    },
                    None => *op == CmpOp::Ne,
                }
            }
            Expr::In { field, values, negated } => {
                let Some(v) = present(field, record) else {
                    return false;
                };
                let found = values.iter().any(|lit| compare(v, lit) == Some(Ordering::Equal));
                found != *negated
            }
            Expr::IsNull { field, negated } => present(field, record).is_none() != *negated,
        }
    }

    /// Every field the expression reads.
    pub fn fields(&self) -> Vec<&FieldPath> {
        match self {
            Expr::And(a, b) | Expr::Or(a, b) => {
                let mut v = a.fields();
                v.extend(b.fields());
                v
            }
            Expr::Not(e) => e.fields(),
            Expr::Compare { field, .. } | Expr::In { field, .. } | Expr::IsNull { field, .. } => {
                vec![field]
            }
        }
    }
}

fn present<'a>(field: &FieldPath, record: &'a Value) -> Option<&'a Value> {
    field.get(record).filter(|v| !matches!(v, Value::String(s) if s.is_empty()))
}

/// Orders a record value against a literal, converting the record value to the literal's type.
/// `None` when the value cannot be read as that type.
fn compare(v: &Value, lit: &Literal) -> Option<Ordering> {
    match lit {
        Literal::Text(t) => {
            let text = match v {
                Value::String(s) => std::borrow::Cow::Borrowed(s.as_str()),
                Value::Number(n) => crate::id::integral_text(n).unwrap_or_else(|| n.to_string()).into(),
                Value::Bool(b) => b.to_string().into(),
                _ => return None,
            };
            Some(text.as_ref().cmp(t.as_str()))
        }
        Literal::Number(n) => {
            let x = match v {
                Value::Number(x) => x.as_f64()?,
                Value::String(s) => s.trim().parse().ok()?,
                Value::Bool(b) => f64::from(u8::from(*b)),
                _ => return None,
            };
            x.partial_cmp(n)
        }
        Literal::Bool(b) => parse_bool(v).map(|x| x.cmp(b)),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Text(String),
    Number(f64),
    Op(CmpOp),
    LParen,
    RParen,
    Comma,
}

impl fmt::Display for Tok {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tok::Ident(s) => write!(f, "'{s}'"),
            Tok::Text(s) => write!(f, "text '{s}'"),
            Tok::Number(n) => write!(f, "number {n}"),
            Tok::Op(o) => write!(f, "'{}'", o.symbol()),
            Tok::LParen => f.write_str("'('"),
            Tok::RParen => f.write_str("')'"),
            Tok::Comma => f.write_str("','"),
        }
    }
}

fn lex(text: &str) -> Result<Vec<(usize, Tok)>, FilterError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let err = |col: usize, p: &str| FilterError { column: col + 1, problem: p.to_owned() };
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        match c {
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            '(' => out.push((start + 1, Tok::LParen)),
            ')' => out.push((start + 1, Tok::RParen)),
            ',' => out.push((start + 1, Tok::Comma)),
            '=' => {
                if chars.get(i + 1) == Some(&'=') {
                    i += 1;
                }
                out.push((start + 1, Tok::Op(CmpOp::Eq)));
            }
            '!' => {
                if chars.get(i + 1) != Some(&'=') {
                    return Err(err(i, "'!' must be followed by '='"));
                }
                i += 1;
                out.push((start + 1, Tok::Op(CmpOp::Ne)));
            }
            '<' | '>' => {
                let next = chars.get(i + 1).copied();
                let op = match (c, next) {
                    ('<', Some('=')) => CmpOp::Le,
                    ('<', Some('>')) => CmpOp::Ne,
                    ('>', Some('=')) => CmpOp::Ge,
                    ('<', _) => CmpOp::Lt,
                    _ => CmpOp::Gt,
                };
                if matches!(op, CmpOp::Le | CmpOp::Ge) || (op == CmpOp::Ne) {
                    i += 1;
                }
                out.push((start + 1, Tok::Op(op)));
            }
            '\'' | '"' => {
                let quote = c;
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(err(start, "text is not closed")),
                        Some(&ch) if ch == quote => {
                            if chars.get(i + 1) == Some(&quote) {
                                s.push(quote);
                                i += 2;
                                continue;
                            }
                            break;
                        }
                        Some(&ch) => {
                            s.push(ch);
                            i += 1;
                        }
                    }
                }
                out.push((start + 1, Tok::Text(s)));
            }
            '`' => {
                let end = chars[i + 1..]
                    .iter()
                    .position(|&ch| ch == '`')
                    .ok_or_else(|| err(start, "`field` is not closed"))?;
                let name: String = chars[i + 1..i + 1 + end].iter().collect();
                let path = FieldPath::parse(&name).map_err(|e| err(start, &e.to_string()))?;
                out.push((start + 1, Tok::Ident(format!("`{}`", path.as_str()))));
                i += end + 1;
            }
            c if c.is_ascii_digit() || (c == '-' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit())) => {
                let mut j = i + 1;
                while j < chars.len() && (chars[j].is_ascii_digit() || chars[j] == '.') {
                    j += 1;
                }
                let s: String = chars[i..j].iter().collect();
                let n = s.parse().map_err(|_| err(start, &format!("{s} is not a number")))?;
                out.push((start + 1, Tok::Number(n)));
                i = j - 1;
            }
            c if c.is_alphabetic() || c == '_' => {
                let mut j = i + 1;
                while j < chars.len() && (chars[j].is_alphanumeric() || matches!(chars[j], '_' | '.' | '[' | ']')) {
                    j += 1;
                }
                out.push((start + 1, Tok::Ident(chars[i..j].iter().collect())));
                i = j - 1;
            }
            other => return Err(err(i, &format!("unexpected character {other:?}"))),
        }
        i += 1;
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<(usize, Tok)>,
    pos: usize,
    len: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.pos).map(|(_, t)| t)
    }

    fn column(&self) -> usize {
        self.tokens.get(self.pos).map(|(c, _)| *c).unwrap_or(self.len + 1)
    }

    fn fail<T>(&self, problem: impl Into<String>) -> Result<T, FilterError> {
        Err(FilterError { column: self.column(), problem: problem.into() })
    }

    fn keyword(&mut self, kw: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Ident(s)) if s.eq_ignore_ascii_case(kw)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn or(&mut self) -> Result<Expr, FilterError> {
        let mut left = self.and()?;
        while self.keyword("or") {
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, FilterError> {
        let mut left = self.not()?;
        while self.keyword("and") {
            left = Expr::And(Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Expr, FilterError> {
        if self.keyword("not") {
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        self.atom()
    }

    fn atom(&mut self) -> Result<Expr, FilterError> {
        match self.peek().cloned() {
            Some(Tok::LParen) => {
                self.pos += 1;
                let e = self.or()?;
                if self.peek() != Some(&Tok::RParen) {
                    return self.fail("expected ')'");
                }
                self.pos += 1;
                Ok(e)
            }
            Some(Tok::Ident(name)) if !is_keyword(&name) => {
                self.pos += 1;
                let field = field_path(&name).or_else(|p| self.fail(p))?;
                self.predicate(field)
            }
            Some(t) => self.fail(format!("expected a field name, found {t}")),
            None => self.fail("expected a field name, found the end of the filter"),
        }
    }

    fn predicate(&mut self, field: FieldPath) -> Result<Expr, FilterError> {
        if self.keyword("is") {
            let negated = self.keyword("not");
            if !self.keyword("null") {
                return self.fail("expected 'null' after 'is'");
            }
            return Ok(Expr::IsNull { field, negated });
        }
        let negated = self.keyword("not");
        if self.keyword("in") {
            return Ok(Expr::In { field, values: self.list()?, negated });
        }
        if negated {
            return self.fail("expected 'in' after 'not'");
        }
        match self.peek().cloned() {
            Some(Tok::Op(op)) => {
                self.pos += 1;
                Ok(Expr::Compare { field, op, value: self.literal()? })
            }
            Some(t) => self
                .fail(format!("expected a comparison (=, !=, <, <=, >, >=, in, is null) after the field, found {t}")),
            None => self.fail("expected a comparison after the field, found the end of the filter"),
        }
    }

    fn list(&mut self) -> Result<Vec<Literal>, FilterError> {
        if self.peek() != Some(&Tok::LParen) {
            return self.fail("expected '(' to start the list");
        }
        self.pos += 1;
        let mut values = vec![self.literal()?];
        loop {
            match self.peek() {
                Some(Tok::Comma) => {
                    self.pos += 1;
                    values.push(self.literal()?);
                }
                Some(Tok::RParen) => {
                    self.pos += 1;
                    return Ok(values);
                }
                _ => return self.fail("expected ',' or ')' in the list"),
            }
        }
    }

    fn literal(&mut self) -> Result<Literal, FilterError> {
        let lit = match self.peek().cloned() {
            Some(Tok::Text(s)) => Literal::Text(s),
            Some(Tok::Number(n)) => Literal::Number(n),
            Some(Tok::Ident(s)) if s.eq_ignore_ascii_case("true") => Literal::Bool(true),
            Some(Tok::Ident(s)) if s.eq_ignore_ascii_case("false") => Literal::Bool(false),
            Some(Tok::Ident(s)) if s.eq_ignore_ascii_case("null") => {
                return self.fail("compare with null using 'is null' or 'is not null'");
            }
            Some(t) => {
                return self.fail(format!("expected a value ('text', a number, true or false), found {t}"));
            }
            None => return self.fail("expected a value, found the end of the filter"),
        };
        self.pos += 1;
        Ok(lit)
    }
}

fn is_keyword(s: &str) -> bool {
    ["and", "or", "not", "in", "is", "null", "true", "false"].iter().any(|k| s.eq_ignore_ascii_case(k))
}

fn field_path(name: &str) -> Result<FieldPath, String> {
    let inner = name.strip_prefix('`').and_then(|n| n.strip_suffix('`')).unwrap_or(name);
    FieldPath::parse(inner).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn m(filter: &str, record: Value) -> bool {
        Filter::parse(filter).unwrap().matches(&record)
    }

    #[test]
    fn comparisons_convert_to_the_literal_type() {
        assert!(m("status = 'active'", json!({"status": "active"})));
        assert!(!m("status = 'active'", json!({"status": "Active"})));
        assert!(m("mrr > 0", json!({"mrr": "12.5"})));
        assert!(m("mrr > 0", json!({"mrr": 3})));
        assert!(!m("mrr > 0", json!({"mrr": "n/a"})));
        assert!(m("paying = true", json!({"paying": "TRUE"})));
        assert!(m("created >= '2024-01-01'", json!({"created": "2024-03-01T00:00:00Z"})));
        assert!(m("id = '42'", json!({"id": 42})));
    }

    #[test]
    fn null_is_never_equal_and_is_null_works() {
        assert!(!m("status = 'x'", json!({})));
        assert!(!m("status != 'x'", json!({})));
        assert!(m("status is null", json!({"status": ""})));
        assert!(m("status is not null", json!({"status": "a"})));
    }

    #[test]
    fn boolean_logic_and_lists() {
        let f = "status in ('active', 'trial') and not (tier = 'test' or `Account Type` = 'Internal')";
        assert!(m(f, json!({"status": "trial", "tier": "gold", "Account Type": "Customer"})));
        assert!(!m(f, json!({"status": "trial", "Account Type": "Internal"})));
        assert!(!m(f, json!({"status": "churned"})));
        assert!(m("plan.name not in ('free')", json!({"plan": {"name": "pro"}})));
        assert!(m("a = 1 or b = 2 and c = 3", json!({"a": 1})));
        assert!(!m("(a = 1 or b = 2) and c = 3", json!({"a": 1})));
    }

    #[test]
    fn errors_point_at_the_column() {
        let e = Filter::parse("status = ").unwrap_err();
        assert_eq!(e.column, 10);
        assert!(e.problem.contains("expected a value"), "{e}");
        let e = Filter::parse("status = 'a' tier").unwrap_err();
        assert_eq!(e.column, 14);
        assert!(Filter::parse("status == null").unwrap_err().problem.contains("is null"));
        assert!(Filter::parse("status in 'a'").is_err());
        assert!(Filter::parse("status = 'open").is_err());
        assert!(Filter::parse("a = 1; drop table accounts").is_err());
    }

    proptest::proptest! {
        #[test]
        fn the_parser_never_panics(s in "\\PC{0,40}") {
            let _ = Filter::parse(&s);
        }
    }
}

//! The ZOQL the emulator answers: `select <field>, ... from <Object> [where <cond> (and|or
//! <cond>)*]`, where a condition is `<field> <op> <literal>` with `=`, `!=`, `<`, `<=`, `>`,
//! `>=`, and a literal is a quoted string (`'...'`, backslash escapes), a number, `true`,
//! `false` or `null`. Keywords, objects and fields are case-insensitive, as Zuora's are.
//!
//! Refused as Zuora refuses them: the wildcard `select *`, `order by` (ZOQL cannot sort),
//! joins and dotted names (`Account.Name`: the REST query call has no joins; that is Export
//! ZOQL), aggregate functions, more than 200 conditions, an unknown object or field. A `where`
//! mixing `and` and `or`, or with parentheses, is refused too (accord never sends one; the
//! emulator does not evaluate precedence).

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde_json::Value;

/// The most conditions a `where` may hold.
pub const MAX_CONDITIONS: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Text(String),
    Number(f64),
    Bool(bool),
    Null,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// The field as the object spells it.
    pub field: &'static str,
    pub op: Op,
    pub value: Literal,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub object: &'static str,
    /// As the object spells them, in the order asked.
    pub fields: Vec<&'static str>,
    pub conditions: Vec<Condition>,
    /// `or` between the conditions (`and` otherwise).
    pub any: bool,
}

/// Why a query is refused: Zuora's error code and message.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub code: &'static str,
    pub message: String,
}

fn malformed(message: impl Into<String>) -> Refusal {
    Refusal { code: "MALFORMED_QUERY", message: message.into() }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Text(String),
    Comma,
    Op(Op),
    Paren,
    Star,
}

fn tokens(q: &str) -> Result<Vec<Token>, Refusal> {
    let mut out = Vec::new();
    let mut chars = q.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            ',' => {
                chars.next();
                out.push(Token::Comma);
            }
            '*' => {
                chars.next();
                out.push(Token::Star);
            }
            '(' | ')' => {
                chars.next();
                out.push(Token::Paren);
            }
            '\'' => {
                chars.next();
                let mut s = String::new();
                loop {
                    match chars.next() {
                        Some('\\') => match chars.next() {
                            Some(e) => s.push(e),
                            None => return Err(malformed("unterminated string literal")),
                        },
                        Some('\'') => break,
                        Some(ch) => s.push(ch),
                        None => return Err(malformed("unterminated string literal")),
                    }
                }
                out.push(Token::Text(s));
            }
            '=' | '!' | '<' | '>' => {
                chars.next();
                let next = chars.peek().copied();
                let op = match (c, next) {
                    ('=', _) => Op::Eq,
                    ('!', Some('=')) => Op::Ne,
                    ('<', Some('>')) => Op::Ne,
                    ('<', Some('=')) => Op::Le,
                    ('>', Some('=')) => Op::Ge,
                    ('<', _) => Op::Lt,
                    ('>', _) => Op::Gt,
                    _ => return Err(malformed(format!("unexpected character '{c}'"))),
                };
                if matches!((c, next), ('!' | '<', Some('=' | '>')) | ('>', Some('='))) {
                    chars.next();
                }
                out.push(Token::Op(op));
            }
            c if c.is_alphanumeric() || matches!(c, '_' | '.' | '-' | '+' | ':') => {
                let mut w = String::new();
                while let Some(&ch) = chars.peek() {
                    if ch.is_alphanumeric() || matches!(ch, '_' | '.' | '-' | '+' | ':') {
                        w.push(ch);
                        chars.next();
                    } else {
                        break;
                    }
                }
                out.push(Token::Word(w));
            }
            other => return Err(malformed(format!("unexpected character '{other}'"))),
        }
    }
    Ok(out)
}

fn keyword(t: Option<&Token>, k: &str) -> bool {
    matches!(t, Some(Token::Word(w)) if w.eq_ignore_ascii_case(k))
}

/// Parses `q` against the objects known (`(name, fields)` pairs).
pub fn parse(q: &str, objects: &[(&'static str, &'static [&'static str])]) -> Result<Query, Refusal> {
    let t = tokens(q)?;
    let mut i = 0;
    if !keyword(t.first(), "select") {
        return Err(malformed("a query starts with select"));
    }
    i += 1;
    let mut names = Vec::new();
    loop {
        match t.get(i) {
            Some(Token::Star) => {
                return Err(malformed("the wildcard * is not supported: name the fields to select"));
            }
            Some(Token::Word(w)) if !w.eq_ignore_ascii_case("from") => names.push(w.clone()),
            _ => return Err(malformed("expected a field name after select")),
        }
        i += 1;
        match t.get(i) {
            Some(Token::Comma) => i += 1,
            Some(Token::Paren) => return Err(malformed("aggregate functions are not supported by query()")),
            _ => break,
        }
    }
    if !keyword(t.get(i), "from") {
        return Err(malformed("expected from after the selected fields"));
    }
    i += 1;
    let Some(Token::Word(object)) = t.get(i) else { return Err(malformed("expected an object after from")) };
    i += 1;
    let Some(&(object, known)) = objects.iter().find(|(o, _)| o.eq_ignore_ascii_case(object)) else {
        return Err(Refusal { code: "INVALID_VALUE", message: format!("invalid object for query: {object}") });
    };
    let field = |name: &str| -> Result<&'static str, Refusal> {
        if name.contains('.') {
            return Err(malformed(format!("joins are not supported by query(): {name}")));
        }
        known.iter().copied().find(|f| f.eq_ignore_ascii_case(name)).ok_or_else(|| Refusal {
            code: "INVALID_FIELD",
            message: format!("invalid field for query: {object}.{name}"),
        })
    };
    let fields = names.iter().map(|n| field(n)).collect::<Result<Vec<_>, _>>()?;
    let mut conditions = Vec::new();
    let mut joins: Vec<bool> = Vec::new();
    if keyword(t.get(i), "where") {
        i += 1;
        loop {
            let Some(Token::Word(name)) = t.get(i) else {
                return Err(match t.get(i) {
                    Some(Token::Paren) => malformed("parentheses are not supported by this emulator"),
                    _ => malformed("expected a field name in where"),
                });
            };
            let f = field(name)?;
            let Some(Token::Op(op)) = t.get(i + 1) else {
                return Err(malformed(format!("expected an operator after {name}")));
            };
            let value = match t.get(i + 2) {
                Some(Token::Text(s)) => Literal::Text(s.clone()),
                Some(Token::Word(w)) if w.eq_ignore_ascii_case("true") => Literal::Bool(true),
                Some(Token::Word(w)) if w.eq_ignore_ascii_case("false") => Literal::Bool(false),
                Some(Token::Word(w)) if w.eq_ignore_ascii_case("null") => Literal::Null,
                Some(Token::Word(w)) => match w.parse::<f64>() {
                    Ok(n) if n.is_finite() => Literal::Number(n),
                    _ => {
                        return Err(Refusal {
                            code: "INVALID_VALUE",
                            message: format!("invalid value for {name}: {w} (quote text and dates)"),
                        });
                    }
                },
                _ => return Err(malformed(format!("expected a value after {name}"))),
            };
            conditions.push(Condition { field: f, op: *op, value });
            if conditions.len() > MAX_CONDITIONS {
                return Err(malformed(format!("a where clause holds at most {MAX_CONDITIONS} conditions")));
            }
            i += 3;
            match t.get(i) {
                Some(Token::Word(w)) if w.eq_ignore_ascii_case("and") => joins.push(false),
                Some(Token::Word(w)) if w.eq_ignore_ascii_case("or") => joins.push(true),
                _ => break,
            }
            i += 1;
        }
    }
    match t.get(i) {
        None => {}
        Some(Token::Word(w)) if w.eq_ignore_ascii_case("order") => {
            return Err(malformed("order by is not supported: ZOQL does not sort"));
        }
        Some(other) => return Err(malformed(format!("unexpected {other:?} at the end of the query"))),
    }
    if joins.iter().any(|&j| j) && joins.iter().any(|&j| !j) {
        return Err(malformed("mixing and and or is not supported by this emulator"));
    }
    Ok(Query { object, fields, conditions, any: joins.first().copied().unwrap_or(false) })
}

/// A time in a literal or a row: a date-time with or without an offset, or a date.
pub fn time(text: &str) -> Option<DateTime<Utc>> {
    let t = text.trim();
    DateTime::parse_from_rfc3339(t)
        .or_else(|_| DateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f%:z"))
        .map(|d| d.with_timezone(&Utc))
        .ok()
        .or_else(|| NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f").ok().map(|d| d.and_utc()))
        .or_else(|| {
            NaiveDate::parse_from_str(t, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0)).map(|d| d.and_utc())
        })
}

/// Whether a row's `value` passes `c`. Dates and date-times compare as times, numbers as
/// numbers, everything else as text; `null` only equals a missing value.
pub fn passes(value: &Value, c: &Condition) -> bool {
    use std::cmp::Ordering;
    let ord = match (&c.value, value) {
        (Literal::Null, v) => {
            return match c.op {
                Op::Eq => v.is_null(),
                Op::Ne => !v.is_null(),
                _ => false,
            };
        }
        (_, Value::Null) => return c.op == Op::Ne,
        (Literal::Bool(b), Value::Bool(v)) => v.cmp(b),
        (Literal::Number(n), Value::Number(v)) => match v.as_f64().and_then(|v| v.partial_cmp(n)) {
            Some(o) => o,
            None => return false,
        },
        (Literal::Text(s), Value::String(v)) => match (time(v), time(s)) {
            (Some(a), Some(b)) if v.len() >= 10 && s.len() >= 10 => a.cmp(&b),
            _ => v.as_str().cmp(s.as_str()),
        },
        (Literal::Text(s), Value::Bool(v)) => match s.to_ascii_lowercase().as_str() {
            "true" => v.cmp(&true),
            "false" => v.cmp(&false),
            _ => return false,
        },
        _ => return false,
    };
    match c.op {
        Op::Eq => ord == Ordering::Equal,
        Op::Ne => ord != Ordering::Equal,
        Op::Lt => ord == Ordering::Less,
        Op::Le => ord != Ordering::Greater,
        Op::Gt => ord == Ordering::Greater,
        Op::Ge => ord != Ordering::Less,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OBJECTS: &[(&str, &[&str])] = &[("Account", &["Id", "Name", "UpdatedDate", "AccountId__c", "Status"])];

    #[test]
    fn selects_fields_case_insensitively_with_and_or_conditions() {
        let q = parse(
            "SELECT id, Name, accountid__c FROM account WHERE UpdatedDate >= '2024-03-01T12:00:00+00:00' and Status != 'Canceled'",
            OBJECTS,
        )
        .unwrap();
        assert_eq!((q.object, q.fields.clone()), ("Account", vec!["Id", "Name", "AccountId__c"]));
        assert_eq!(q.conditions.len(), 2);
        assert!(!q.any);
        assert_eq!(q.conditions[0].op, Op::Ge);
        let q = parse("select Id from Account where Id = 'a\\'b' or Id = 'c'", OBJECTS).unwrap();
        assert!(q.any);
        assert_eq!(q.conditions[0].value, Literal::Text("a'b".into()));
    }

    #[test]
    fn refuses_what_zuora_refuses() {
        let code = |q: &str| parse(q, OBJECTS).unwrap_err().code;
        assert_eq!(code("select * from Account"), "MALFORMED_QUERY");
        assert_eq!(code("select Id from Account order by Name"), "MALFORMED_QUERY");
        assert_eq!(code("select Account.Name from Account"), "MALFORMED_QUERY");
        assert_eq!(code("select Foo from Account"), "INVALID_FIELD");
        assert_eq!(code("select Id from Nothing"), "INVALID_VALUE");
        assert_eq!(code("select Id from Account where Name = bare"), "INVALID_VALUE");
        assert_eq!(code("select Id from Account where Id = 'a' and Id = 'b' or Id = 'c'"), "MALFORMED_QUERY");
        assert_eq!(code("select count(Id) from Account"), "MALFORMED_QUERY");
        let many: Vec<String> = (0..201).map(|n| format!("Id = '{n}'")).collect();
        assert_eq!(code(&format!("select Id from Account where {}", many.join(" or "))), "MALFORMED_QUERY");
        let fine: Vec<String> = (0..200).map(|n| format!("Id = '{n}'")).collect();
        assert!(parse(&format!("select Id from Account where {}", fine.join(" or ")), OBJECTS).is_ok());
        assert_eq!(code("select Id from Account where Name = 'x"), "MALFORMED_QUERY");
    }

    #[test]
    fn conditions_compare_times_numbers_and_text() {
        let c = |field, op, value| Condition { field, op, value };
        let ge = c("UpdatedDate", Op::Ge, Literal::Text("2024-03-01T12:00:00+00:00".into()));
        assert!(passes(&Value::String("2024-03-01T12:00:00.000+00:00".into()), &ge));
        assert!(passes(&Value::String("2024-03-01T13:00:00.000+01:00".into()), &ge), "the same instant");
        assert!(!passes(&Value::String("2024-03-01T11:59:59.000+00:00".into()), &ge));
        assert!(passes(&serde_json::json!(5), &c("Quantity", Op::Gt, Literal::Number(4.0))));
        assert!(passes(&Value::Null, &c("X", Op::Eq, Literal::Null)));
        assert!(!passes(&Value::Null, &c("X", Op::Eq, Literal::Text("a".into()))));
        assert!(passes(&Value::String("Active".into()), &c("Status", Op::Ne, Literal::Text("Canceled".into()))));
    }
}

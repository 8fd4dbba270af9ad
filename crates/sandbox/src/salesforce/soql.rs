//! The SOQL subset the Salesforce emulator understands, parsed to a tree and evaluated in Rust.
//!
//! ```text
//! SELECT field, ... FROM Account|Contact|Case
//!   [WHERE condition] [ORDER BY field [ASC|DESC] [NULLS FIRST|LAST]] [LIMIT n]
//! condition := term (AND term)* | term (OR term)*       -- mixing needs parentheses, as in SOQL
//! term      := ( condition ) | field op literal | field [NOT] IN ('a', 'b', ...)
//! op        := = | != | <> | < | <= | > | >=
//! literal   := 'text' | 2024-01-01T00:00:00Z (unquoted dateTime) | true | false | null
//! ```
//!
//! Text comparisons ignore case, as SOQL's do; `<`/`>` apply to dateTime fields only. Anything
//! else is `MALFORMED_QUERY`; an unknown object is `INVALID_TYPE` and an unknown field
//! `INVALID_FIELD`, with Salesforce's wording.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};

use super::model::{FieldValue, Record, SObject};

/// A parsed query.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub object: SObject,
    pub fields: Vec<&'static str>,
    pub filter: Option<Expr>,
    pub order_by: Option<OrderBy>,
    pub limit: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderBy {
    pub field: &'static str,
    pub descending: bool,
    pub nulls_last: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Compare { field: &'static str, op: Op, value: Literal },
    In { field: &'static str, values: Vec<String>, negated: bool },
}

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
    Time(DateTime<Utc>),
    Bool(bool),
    Null,
}

/// Why a query was refused; `code` is Salesforce's `errorCode`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SoqlError {
    #[error("{0}")]
    Malformed(String),
    #[error(
        "\n{query}\n     ^\nERROR at Row:1:Column:1\nsObject type '{object}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names."
    )]
    InvalidType { query: String, object: String },
    #[error(
        "\n{query}\n^\nERROR at Row:1:Column:1\nNo such column '{field}' on entity '{object}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names."
    )]
    InvalidField { query: String, field: String, object: String },
}

impl SoqlError {
    pub fn code(&self) -> &'static str {
        match self {
            SoqlError::Malformed(_) => "MALFORMED_QUERY",
            SoqlError::InvalidType { .. } => "INVALID_TYPE",
            SoqlError::InvalidField { .. } => "INVALID_FIELD",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Text(String),
    Comma,
    Open,
    Close,
    Op(Op),
}

fn describe(t: Option<&Token>) -> String {
    match t {
        None => "<EOF>".into(),
        Some(Token::Word(w)) => w.clone(),
        Some(Token::Text(s)) => format!("'{s}'"),
        Some(Token::Comma) => ",".into(),
        Some(Token::Open) => "(".into(),
        Some(Token::Close) => ")".into(),
        Some(Token::Op(op)) => format!("{op:?}"),
    }
}

fn tokenize(q: &str) -> Result<Vec<Token>, SoqlError> {
    let mut out = Vec::new();
    let chars: Vec<char> = q.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            ',' => {
                out.push(Token::Comma);
                i += 1;
            }
            '(' => {
                out.push(Token::Open);
                i += 1;
            }
            ')' => {
                out.push(Token::Close);
                i += 1;
            }
            '\'' => {
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => {
                            return Err(SoqlError::Malformed("unexpected token: <EOF> (unterminated string)".into()));
                        }
                        Some('\\') => {
                            let escaped = chars.get(i + 1).copied().unwrap_or('\\');
                            s.push(match escaped {
                                'n' => '\n',
                                't' => '\t',
                                other => other,
                            });
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(other) => {
                            s.push(*other);
                            i += 1;
                        }
                    }
                }
                out.push(Token::Text(s));
            }
            '=' => {
                out.push(Token::Op(Op::Eq));
                i += 1;
            }
            '!' if chars.get(i + 1) == Some(&'=') => {
                out.push(Token::Op(Op::Ne));
                i += 2;
            }
            '<' | '>' => {
                let next = chars.get(i + 1).copied();
                let (op, len) = match (c, next) {
                    ('<', Some('>')) => (Op::Ne, 2),
                    ('<', Some('=')) => (Op::Le, 2),
                    ('>', Some('=')) => (Op::Ge, 2),
                    ('<', _) => (Op::Lt, 1),
                    _ => (Op::Gt, 1),
                };
                out.push(Token::Op(op));
                i += len;
            }
            _ => {
                let start = i;
                while i < chars.len() && !chars[i].is_whitespace() && !",()=<>!'".contains(chars[i]) {
                    i += 1;
                }
                if start == i {
                    return Err(SoqlError::Malformed(format!("unexpected token: {c}")));
                }
                out.push(Token::Word(chars[start..i].iter().collect()));
            }
        }
    }
    Ok(out)
}

struct Parser<'q> {
    text: &'q str,
    tokens: Vec<Token>,
    at: usize,
    object: Option<SObject>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum FieldType {
    Text,
    Time,
    Bool,
}

fn field_type(field: &str) -> FieldType {
    match field {
        "CreatedDate" | "SystemModstamp" => FieldType::Time,
        "IsDeleted" => FieldType::Bool,
        _ => FieldType::Text,
    }
}

/// Parses a query of the supported subset.
pub fn parse(text: &str) -> Result<Query, SoqlError> {
    let tokens = tokenize(text)?;
    let mut p = Parser { text, tokens, at: 0, object: None };
    p.query()
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn unexpected(&self) -> SoqlError {
        SoqlError::Malformed(format!("unexpected token: {}", describe(self.peek())))
    }

    fn keyword(&mut self, kw: &str) -> bool {
        if matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(kw)) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn expect_keyword(&mut self, kw: &str) -> Result<(), SoqlError> {
        if self.keyword(kw) { Ok(()) } else { Err(self.unexpected()) }
    }

    fn word(&mut self) -> Result<String, SoqlError> {
        match self.peek() {
            Some(Token::Word(w)) => {
                let w = w.clone();
                self.at += 1;
                Ok(w)
            }
            _ => Err(self.unexpected()),
        }
    }

    fn query(&mut self) -> Result<Query, SoqlError> {
        self.expect_keyword("SELECT")?;
        let mut raw_fields = vec![self.word()?];
        while self.peek() == Some(&Token::Comma) {
            self.at += 1;
            raw_fields.push(self.word()?);
        }
        if raw_fields.iter().any(|f| f.eq_ignore_ascii_case("FROM")) || self.peek() == Some(&Token::Open) {
            return Err(self.unexpected());
        }
        self.expect_keyword("FROM")?;
        let name = self.word()?;
        let object = SObject::parse(&name)
            .ok_or_else(|| SoqlError::InvalidType { query: self.text.to_owned(), object: name.clone() })?;
        self.object = Some(object);
        let fields = raw_fields.iter().map(|f| self.field(f)).collect::<Result<Vec<_>, _>>()?;
        let filter = if self.keyword("WHERE") { Some(self.condition()?) } else { None };
        let order_by = if self.keyword("ORDER") {
            self.expect_keyword("BY")?;
            let field = self.word()?;
            let field = self.field(&field)?;
            let descending = if self.keyword("DESC") {
                true
            } else {
                self.keyword("ASC");
                false
            };
            let nulls_last = if self.keyword("NULLS") {
                if self.keyword("LAST") {
                    true
                } else {
                    self.expect_keyword("FIRST")?;
                    false
                }
            } else {
                descending
            };
            Some(OrderBy { field, descending, nulls_last })
        } else {
            None
        };
        let limit = if self.keyword("LIMIT") {
            let n = self.word()?;
            Some(n.parse().map_err(|_| SoqlError::Malformed(format!("unexpected token: {n}")))?)
        } else {
            None
        };
        if self.peek().is_some() {
            return Err(self.unexpected());
        }
        Ok(Query { object, fields, filter, order_by, limit })
    }

    fn field(&self, name: &str) -> Result<&'static str, SoqlError> {
        let object = self.object.unwrap_or(SObject::Account);
        object.field(name).ok_or_else(|| SoqlError::InvalidField {
            query: self.text.to_owned(),
            field: name.to_owned(),
            object: object.name().to_owned(),
        })
    }

    fn condition(&mut self) -> Result<Expr, SoqlError> {
        let first = self.term()?;
        let mut terms = vec![first];
        let mut joiner: Option<&str> = None;
        loop {
            let kw = if self.keyword("AND") {
                "AND"
            } else if self.keyword("OR") {
                "OR"
            } else {
                break;
            };
            if joiner.is_some_and(|j| j != kw) {
                return Err(SoqlError::Malformed(format!(
                    "unexpected token: {kw} (use parentheses to combine AND and OR)"
                )));
            }
            joiner = Some(kw);
            terms.push(self.term()?);
        }
        Ok(match (joiner, terms.len()) {
            (_, 1) => terms.remove(0),
            (Some("OR"), _) => Expr::Or(terms),
            _ => Expr::And(terms),
        })
    }

    fn term(&mut self) -> Result<Expr, SoqlError> {
        if self.peek() == Some(&Token::Open) {
            self.at += 1;
            let inner = self.condition()?;
            if self.next() != Some(Token::Close) {
                self.at -= 1;
                return Err(self.unexpected());
            }
            return Ok(inner);
        }
        let name = self.word()?;
        let field = self.field(&name)?;
        let negated = self.keyword("NOT");
        if self.keyword("IN") {
            if field_type(field) != FieldType::Text {
                return Err(SoqlError::Malformed(format!("IN is not supported on field {field} in the sandbox")));
            }
            if self.next() != Some(Token::Open) {
                self.at -= 1;
                return Err(self.unexpected());
            }
            let mut values = Vec::new();
            loop {
                match self.next() {
                    Some(Token::Text(s)) => values.push(s),
                    _ => {
                        self.at -= 1;
                        return Err(self.unexpected());
                    }
                }
                match self.next() {
                    Some(Token::Comma) => {}
                    Some(Token::Close) => break,
                    _ => {
                        self.at -= 1;
                        return Err(self.unexpected());
                    }
                }
            }
            return Ok(Expr::In { field, values, negated });
        }
        if negated {
            return Err(self.unexpected());
        }
        let op = match self.next() {
            Some(Token::Op(op)) => op,
            _ => {
                self.at -= 1;
                return Err(self.unexpected());
            }
        };
        let value = self.literal(field)?;
        let ordered = matches!(op, Op::Lt | Op::Le | Op::Gt | Op::Ge);
        if ordered && (field_type(field) != FieldType::Time || value == Literal::Null) {
            return Err(SoqlError::Malformed(format!(
                "invalid operator on field {field}: the sandbox supports <, <=, >, >= on dateTime fields only"
            )));
        }
        Ok(Expr::Compare { field, op, value })
    }

    fn literal(&mut self, field: &'static str) -> Result<Literal, SoqlError> {
        let wrong = |what: &str| {
            SoqlError::Malformed(format!("value of filter criterion for field '{field}' must be of type {what}"))
        };
        let ty = field_type(field);
        match self.next() {
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("null") => Ok(Literal::Null),
            Some(Token::Text(s)) if ty == FieldType::Text => Ok(Literal::Text(s)),
            Some(Token::Text(_)) if ty == FieldType::Time => {
                Err(wrong("dateTime and should not be enclosed in quotes"))
            }
            Some(Token::Word(w)) if ty == FieldType::Bool => match w.to_ascii_lowercase().as_str() {
                "true" => Ok(Literal::Bool(true)),
                "false" => Ok(Literal::Bool(false)),
                _ => Err(wrong("boolean")),
            },
            Some(Token::Word(w)) if ty == FieldType::Time => DateTime::parse_from_rfc3339(&w)
                .map(|t| Literal::Time(t.with_timezone(&Utc)))
                .map_err(|_| wrong("dateTime (like 2024-01-01T00:00:00Z; encode + as %2B in URLs)")),
            Some(Token::Word(_)) if ty == FieldType::Text => Err(wrong("string and should be enclosed in quotes")),
            _ => {
                self.at -= 1;
                Err(self.unexpected())
            }
        }
    }
}

impl Expr {
    /// Whether a record satisfies the condition.
    pub fn matches<R: Record>(&self, r: &R) -> bool {
        match self {
            Expr::And(terms) => terms.iter().all(|t| t.matches(r)),
            Expr::Or(terms) => terms.iter().any(|t| t.matches(r)),
            Expr::In { field, values, negated } => {
                let hit = match r.get(field) {
                    FieldValue::Text(v) => values.iter().any(|x| x.eq_ignore_ascii_case(v)),
                    _ => false,
                };
                hit != *negated
            }
            Expr::Compare { field, op, value } => {
                let actual = r.get(field);
                let ord = match (actual, value) {
                    (FieldValue::Null, Literal::Null) => Some(Ordering::Equal),
                    (FieldValue::Null, _) | (_, Literal::Null) => None,
                    (FieldValue::Text(a), Literal::Text(b)) => {
                        Some(if a.eq_ignore_ascii_case(b) { Ordering::Equal } else { Ordering::Less })
                    }
                    (FieldValue::Time(a), Literal::Time(b)) => Some(a.cmp(b)),
                    (FieldValue::Bool(a), Literal::Bool(b)) => Some(a.cmp(b)),
                    _ => None,
                };
                match (op, ord) {
                    (Op::Ne, None) => true,
                    (_, None) => false,
                    (Op::Eq, Some(o)) => o == Ordering::Equal,
                    (Op::Ne, Some(o)) => o != Ordering::Equal,
                    (Op::Lt, Some(o)) => o == Ordering::Less,
                    (Op::Le, Some(o)) => o != Ordering::Greater,
                    (Op::Gt, Some(o)) => o == Ordering::Greater,
                    (Op::Ge, Some(o)) => o != Ordering::Less,
                }
            }
        }
    }
}

/// Orders two records by a field, nulls where the query asked.
pub fn compare<R: Record>(a: &R, b: &R, order: &OrderBy) -> Ordering {
    let key = |r: &R| match r.get(order.field) {
        FieldValue::Null => None,
        FieldValue::Text(t) => Some((None, Some(t.to_lowercase()), None)),
        FieldValue::Time(t) => Some((Some(t), None, None)),
        FieldValue::Bool(b) => Some((None, None, Some(b))),
    };
    match (key(a), key(b)) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => {
            if order.nulls_last {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
        (Some(_), None) => {
            if order.nulls_last {
                Ordering::Less
            } else {
                Ordering::Greater
            }
        }
        (Some(x), Some(y)) => {
            let o = x.cmp(&y);
            if order.descending { o.reverse() } else { o }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::salesforce::model::Account;

    fn account(kind: Option<&str>, modstamp: i64) -> Account {
        let t = DateTime::from_timestamp(modstamp, 0).unwrap();
        Account {
            id: "001".into(),
            name: Some("Acme".into()),
            account_type: kind.map(Into::into),
            website: None,
            account_id: Some("1".into()),
            created_date: t,
            system_modstamp: t,
            deleted_at: None,
            support_id: None,
            billing_id: None,
        }
    }

    #[test]
    fn parses_the_connector_queries() {
        let q = parse(
            "SELECT Id, Name, account_id__c FROM account WHERE SystemModstamp > 2024-01-01T00:00:00Z AND (Type = 'Customer' OR Type IN ('Partner')) ORDER BY SystemModstamp ASC",
        )
        .unwrap();
        assert_eq!(q.object, SObject::Account);
        assert_eq!(q.fields, vec!["Id", "Name", "Account_ID__c"]);
        let f = q.filter.unwrap();
        let t2024 = 1_704_067_200;
        assert!(f.matches(&account(Some("customer"), t2024 + 1)), "text compares ignore case");
        assert!(!f.matches(&account(Some("Customer"), t2024)), "> is strict");
        assert!(f.matches(&account(Some("Partner"), t2024 + 5)));
        assert!(!f.matches(&account(Some("Prospect"), t2024 + 5)));
        assert!(!f.matches(&account(None, t2024 + 5)));
        assert_eq!(q.order_by.unwrap().field, "SystemModstamp");
    }

    #[test]
    fn ge_and_ne_and_null_follow_soql() {
        let f = parse(
            "SELECT Id FROM Account WHERE SystemModstamp >= 2024-01-01T00:00:00.000+00:00 AND Type != 'Prospect'",
        )
        .unwrap()
        .filter
        .unwrap();
        assert!(f.matches(&account(None, 1_704_067_200)), "null != 'Prospect' is true in SOQL");
        assert!(!f.matches(&account(Some("prospect"), 1_704_067_200)));
        let f = parse("SELECT Id FROM Account WHERE Type = null").unwrap().filter.unwrap();
        assert!(f.matches(&account(None, 0)));
    }

    #[test]
    fn everything_else_is_refused_with_salesforce_codes() {
        let code = |q: &str| parse(q).unwrap_err().code();
        assert_eq!(code("SELECT Id FROM Opportunity"), "INVALID_TYPE");
        assert_eq!(code("SELECT Id, Foo FROM Account"), "INVALID_FIELD");
        assert_eq!(code("SELECT COUNT() FROM Account"), "MALFORMED_QUERY");
        assert_eq!(code("SELECT Id FROM Account WHERE Type = 'a' AND Type = 'b' OR Type = 'c'"), "MALFORMED_QUERY");
        assert_eq!(code("SELECT Id FROM Account WHERE SystemModstamp > '2024-01-01T00:00:00Z'"), "MALFORMED_QUERY");
        assert_eq!(code("SELECT Id FROM Account WHERE SystemModstamp > 2024-01-01T00:00:00 00:00"), "MALFORMED_QUERY");
        assert_eq!(code("SELECT Id FROM Account WHERE Name > 'a'"), "MALFORMED_QUERY");
        assert_eq!(code("SELECT Id FROM Account WHERE"), "MALFORMED_QUERY");
        assert_eq!(code("SELECT Id FROM Account LIMIT x"), "MALFORMED_QUERY");
        assert_eq!(code("SELECT Id FROM Account GROUP BY Name"), "MALFORMED_QUERY");
    }
}

//! The SOR filter in SOQL: the parts of a filter expression Salesforce can evaluate, compiled to a
//! `WHERE` condition. Text is quoted with SOQL's escapes; field names must be plain API names.

use accord_core::filter::{CmpOp, Expr, Filter, Literal};

/// The filter as a SOQL condition, or `None` when some part cannot be pushed down (the engine
/// always evaluates the filter locally too).
pub fn compile(filter: &Filter) -> Option<String> {
    expr(&filter.expr)
}

fn expr(e: &Expr) -> Option<String> {
    Some(match e {
        Expr::And(a, b) => format!("({} AND {})", expr(a)?, expr(b)?),
        Expr::Or(a, b) => format!("({} OR {})", expr(a)?, expr(b)?),
        Expr::Not(a) => format!("(NOT {})", expr(a)?),
        Expr::Compare { field, op, value } => {
            let op = match op {
                CmpOp::Eq => "=",
                CmpOp::Ne => "!=",
                CmpOp::Lt => "<",
                CmpOp::Le => "<=",
                CmpOp::Gt => ">",
                CmpOp::Ge => ">=",
            };
            format!("{} {op} {}", name(field.as_single_key()?)?, literal(value)?)
        }
        Expr::In { field, values, negated } => {
            let list: Option<Vec<String>> = values.iter().map(literal).collect();
            format!("{} {}IN ({})", name(field.as_single_key()?)?, if *negated { "NOT " } else { "" }, list?.join(", "))
        }
        Expr::IsNull { field, negated } => {
            format!("{} {} null", name(field.as_single_key()?)?, if *negated { "!=" } else { "=" })
        }
    })
}

/// A Salesforce API name: letters, digits and underscores (custom fields end in `__c`).
fn name(n: &str) -> Option<&str> {
    (!n.is_empty() && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') && !n.as_bytes()[0].is_ascii_digit())
        .then_some(n)
}

fn literal(l: &Literal) -> Option<String> {
    Some(match l {
        Literal::Text(t) => {
            let mut out = String::with_capacity(t.len() + 2);
            out.push('\'');
            for c in t.chars() {
                match c {
                    '\'' => out.push_str("\\'"),
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    c => out.push(c),
                }
            }
            out.push('\'');
            out
        }
        Literal::Number(n) if n.is_finite() => format!("{n}"),
        Literal::Number(_) => return None,
        Literal::Bool(b) => b.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn soql(f: &str) -> Option<String> {
        compile(&Filter::parse(f).unwrap())
    }

    #[test]
    fn filters_compile_to_soql() {
        assert_eq!(soql("Type = 'Customer'").as_deref(), Some("Type = 'Customer'"));
        assert_eq!(
            soql("Type in ('Customer', 'Partner') and not IsDeleted = true").as_deref(),
            Some("(Type IN ('Customer', 'Partner') AND (NOT IsDeleted = true))")
        );
        assert_eq!(soql("Name = 'O''Brien \\\\ Co'").as_deref(), Some("Name = 'O\\'Brien \\\\\\\\ Co'"));
        assert_eq!(soql("Website is null or Employees > 10").as_deref(), Some("(Website = null OR Employees > 10)"));
    }

    #[test]
    fn what_soql_cannot_say_stays_local() {
        assert_eq!(soql("billing.plan = 'x'"), None, "nested paths");
        assert_eq!(soql("`Account Type` = 'x'"), None, "names that are not API names");
    }
}

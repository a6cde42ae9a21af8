//! The JSONPath subset CRD printer columns use (client-go `jsonpath` with missing keys allowed):
//! `.a.b`, `.a[0].b` (negative indexes count from the end), `.a[*].b`, `.a.*`, `['key.with.dots']`, `a\.b`,
//! and filters `[?(@.type=="Ready")]` with `==`, `!=`, `<`, `<=`, `>`, `>=` against a string, number or bool,
//! or `[?(@.field)]` for existence. Anything else is a parse error, which the caller shows as empty cells.
use serde_json::Value;

/// One step of a path.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Step {
    Field(String),
    Index(i64),
    Wildcard,
    Filter(Box<Filter>),
}

/// `?(@.path OP literal)` or `?(@.path)`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Filter {
    path: Vec<Step>,
    comparison: Option<(Op, Value)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// Parse a column's JSONPath; `{...}` braces and a leading `$` or `@` are accepted.
pub(crate) fn parse(text: &str) -> Result<Vec<Step>, String> {
    let text = text.trim();
    let text = text
        .strip_prefix('{')
        .and_then(|t| t.strip_suffix('}'))
        .unwrap_or(text)
        .trim();
    let text = text.strip_prefix(['$', '@']).unwrap_or(text);
    let chars: Vec<char> = text.chars().collect();
    let mut steps = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        match c {
            '[' => {
                let close =
                    closing_bracket(&chars, i).ok_or_else(|| format!("unclosed [ in {text:?}"))?;
                let inner: String = chars.get(i + 1..close).unwrap_or_default().iter().collect();
                steps.push(parse_bracket(inner.trim())?);
                i = close + 1;
            }
            '.' if chars.get(i + 1) == Some(&'*') => {
                steps.push(Step::Wildcard);
                i += 2;
            }
            '.' if matches!(chars.get(i + 1), None | Some('.' | '[')) => {
                return Err(format!("empty field name in {text:?}"));
            }
            '.' => i += 1,
            _ => {
                let (name, next) = read_name(&chars, i);
                steps.push(Step::Field(name));
                i = next;
            }
        }
    }
    Ok(steps)
}

/// A field name up to the next unescaped `.` or `[`; `\.` stands for a literal dot.
fn read_name(chars: &[char], start: usize) -> (String, usize) {
    let mut name = String::new();
    let mut i = start;
    while let Some(&c) = chars.get(i) {
        match c {
            '\\' if chars.get(i + 1).is_some() => {
                name.extend(chars.get(i + 1));
                i += 2;
            }
            '.' | '[' => break,
            _ => {
                name.push(c);
                i += 1;
            }
        }
    }
    (name, i)
}

/// The index of the `]` closing the `[` at `open`, skipping quoted text and parentheses.
fn closing_bracket(chars: &[char], open: usize) -> Option<usize> {
    let mut quote: Option<char> = None;
    let mut depth = 0_i32;
    for (offset, &c) in chars.get(open + 1..)?.iter().enumerate() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '(') => depth += 1,
            (None, ')') => depth -= 1,
            (None, ']') if depth <= 0 => return Some(open + 1 + offset),
            _ => {}
        }
    }
    None
}

fn parse_bracket(inner: &str) -> Result<Step, String> {
    if inner == "*" {
        return Ok(Step::Wildcard);
    }
    if let Some(expression) = inner.strip_prefix("?(").and_then(|e| e.strip_suffix(')')) {
        return Ok(Step::Filter(Box::new(parse_filter(expression.trim())?)));
    }
    if let Some(name) = unquote(inner) {
        return Ok(Step::Field(name.to_string()));
    }
    inner
        .parse::<i64>()
        .map(Step::Index)
        .map_err(|_| format!("unsupported subscript [{inner}]"))
}

fn unquote(text: &str) -> Option<&str> {
    ['"', '\'']
        .iter()
        .find_map(|q| text.strip_prefix(*q).and_then(|t| t.strip_suffix(*q)))
}

fn parse_filter(expression: &str) -> Result<Filter, String> {
    const OPS: [(&str, Op); 6] = [
        ("==", Op::Eq),
        ("!=", Op::Ne),
        ("<=", Op::Le),
        (">=", Op::Ge),
        ("<", Op::Lt),
        (">", Op::Gt),
    ];
    let found = OPS
        .iter()
        .find_map(|(token, op)| expression.find(token).map(|at| (at, token.len(), *op)));
    let (left, comparison) = match found {
        Some((at, len, op)) => {
            let right = expression.get(at + len..).unwrap_or_default().trim();
            (
                expression.get(..at).unwrap_or_default().trim(),
                Some((op, parse_literal(right)?)),
            )
        }
        None => (expression, None),
    };
    let path = left
        .strip_prefix('@')
        .ok_or_else(|| format!("filter must start with @: {expression:?}"))?;
    Ok(Filter {
        path: parse(path)?,
        comparison,
    })
}

fn parse_literal(text: &str) -> Result<Value, String> {
    if let Some(inner) = unquote(text) {
        return Ok(Value::String(inner.to_string()));
    }
    match text {
        "true" => Ok(Value::Bool(true)),
        "false" => Ok(Value::Bool(false)),
        _ => serde_json::from_str::<serde_json::Number>(text)
            .map(Value::Number)
            .map_err(|_| format!("unsupported filter operand {text:?}")),
    }
}

/// Every value the path reaches, in document order; missing keys reach nothing.
pub(crate) fn find<'a>(steps: &[Step], root: &'a Value) -> Vec<&'a Value> {
    steps.iter().fold(vec![root], |current, step| {
        current.into_iter().flat_map(|v| apply(step, v)).collect()
    })
}

fn apply<'a>(step: &Step, value: &'a Value) -> Vec<&'a Value> {
    match (step, value) {
        (Step::Field(name), Value::Object(map)) => map.get(name).into_iter().collect(),
        (Step::Index(index), Value::Array(items)) => {
            let position = if *index < 0 {
                items.len() as i64 + index
            } else {
                *index
            };
            usize::try_from(position)
                .ok()
                .and_then(|p| items.get(p))
                .into_iter()
                .collect()
        }
        (Step::Wildcard, Value::Array(items)) => items.iter().collect(),
        (Step::Wildcard, Value::Object(map)) => map.values().collect(),
        (Step::Filter(filter), Value::Array(items)) => {
            items.iter().filter(|item| filter.matches(item)).collect()
        }
        _ => Vec::new(),
    }
}

impl Filter {
    fn matches(&self, item: &Value) -> bool {
        let found = find(&self.path, item);
        let Some((op, literal)) = &self.comparison else {
            return !found.is_empty();
        };
        let Some(left) = found.first() else {
            return false;
        };
        match (left, literal) {
            (Value::Number(a), Value::Number(b)) => {
                compare(*op, a.as_f64().partial_cmp(&b.as_f64()))
            }
            (Value::String(a), Value::String(b)) => compare(*op, Some(a.cmp(b))),
            (a, b) => match op {
                Op::Eq => *a == b,
                Op::Ne => *a != b,
                _ => false,
            },
        }
    }
}

fn compare(op: Op, ordering: Option<std::cmp::Ordering>) -> bool {
    use std::cmp::Ordering::{Equal, Greater, Less};
    matches!(
        (op, ordering),
        (Op::Eq, Some(Equal))
            | (Op::Ne, Some(Less | Greater))
            | (Op::Lt, Some(Less))
            | (Op::Le, Some(Less | Equal))
            | (Op::Gt, Some(Greater))
            | (Op::Ge, Some(Greater | Equal))
    )
}

//! The `labelSelector` grammar, as `k8s.io/apimachinery/pkg/labels.Parse` reads it.
//!
//! ```text
//! selector    := "" | requirement ("," requirement)*
//! requirement := "!" key | key | key ("=" | "==" | "!=" | ">" | "<") value | key ("in" | "notin") "(" values ")"
//! ```
//! Keys are qualified names (`[prefix/]name`), values are label values (at most 63 characters, may be empty).
use super::SelectorError;

/// How a requirement compares the label value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operator {
    /// `key`: the label is present.
    Exists,
    /// `!key`: the label is absent.
    DoesNotExist,
    /// `key=value` or `key==value`.
    Equals,
    /// `key!=value`: absent, or present with another value.
    NotEquals,
    /// `key in (a,b)`.
    In,
    /// `key notin (a,b)`: absent, or present with a value outside the set.
    NotIn,
    /// `key>5`: present and numerically greater.
    GreaterThan,
    /// `key<5`: present and numerically smaller.
    LessThan,
}

/// One comma-separated term of a label selector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Requirement {
    /// The label key.
    pub key: String,
    /// The comparison.
    pub operator: Operator,
    /// The values compared against (empty for `Exists`/`DoesNotExist`).
    pub values: Vec<String>,
}

impl Requirement {
    /// Whether a label set, given as a lookup function, satisfies this requirement.
    pub fn matches(&self, label: Option<&str>) -> bool {
        let in_values = |v: &str| self.values.iter().any(|x| x == v);
        match (self.operator, label) {
            (Operator::Exists, found) => found.is_some(),
            (Operator::DoesNotExist, found) => found.is_none(),
            (Operator::Equals | Operator::In, Some(v)) => in_values(v),
            (Operator::NotEquals | Operator::NotIn, Some(v)) => !in_values(v),
            (Operator::NotEquals | Operator::NotIn, None) => true,
            (Operator::GreaterThan, Some(v)) => compare_numbers(v, &self.values, |a, b| a > b),
            (Operator::LessThan, Some(v)) => compare_numbers(v, &self.values, |a, b| a < b),
            (_, None) => false,
        }
    }
}

fn compare_numbers(label: &str, values: &[String], cmp: fn(i64, i64) -> bool) -> bool {
    let (Ok(have), Some(Ok(want))) = (
        label.parse::<i64>(),
        values.first().map(|v| v.parse::<i64>()),
    ) else {
        return false;
    };
    cmp(have, want)
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Ident(String),
    Not,
    Equals,
    DoubleEquals,
    NotEquals,
    Greater,
    Less,
    In,
    NotIn,
    Open,
    Close,
    Comma,
    End,
}

impl Token {
    /// In value position the keywords `in` and `notin` are plain values.
    fn as_value(&self) -> Option<String> {
        match self {
            Token::Ident(value) => Some(value.clone()),
            Token::In => Some("in".into()),
            Token::NotIn => Some("notin".into()),
            _ => None,
        }
    }

    fn describe(&self) -> String {
        match self {
            Token::Ident(s) => s.clone(),
            Token::Not => "!".into(),
            Token::Equals => "=".into(),
            Token::DoubleEquals => "==".into(),
            Token::NotEquals => "!=".into(),
            Token::Greater => ">".into(),
            Token::Less => "<".into(),
            Token::In => "in".into(),
            Token::NotIn => "notin".into(),
            Token::Open => "(".into(),
            Token::Close => ")".into(),
            Token::Comma => ",".into(),
            Token::End => "end of string".into(),
        }
    }
}

fn is_special(c: char) -> bool {
    matches!(c, '=' | '!' | '(' | ')' | ',' | '>' | '<')
}

fn tokenize(text: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        if is_special(c) {
            chars.next();
            let next_is_eq = chars.peek() == Some(&'=');
            let token = match c {
                '=' if next_is_eq => Token::DoubleEquals,
                '=' => Token::Equals,
                '!' if next_is_eq => Token::NotEquals,
                '!' => Token::Not,
                '(' => Token::Open,
                ')' => Token::Close,
                ',' => Token::Comma,
                '>' => Token::Greater,
                _ => Token::Less,
            };
            if matches!(token, Token::DoubleEquals | Token::NotEquals) {
                chars.next();
            }
            tokens.push(token);
            continue;
        }
        let mut word = String::new();
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() || is_special(c) {
                break;
            }
            word.push(c);
            chars.next();
        }
        tokens.push(match word.as_str() {
            "in" => Token::In,
            "notin" => Token::NotIn,
            _ => Token::Ident(word),
        });
    }
    tokens.push(Token::End);
    tokens
}

struct Parser<'a> {
    text: &'a str,
    tokens: Vec<Token>,
    position: usize,
}

/// Parse a whole label selector into its requirements (none for the empty selector).
pub fn parse(text: &str) -> Result<Vec<Requirement>, SelectorError> {
    let mut parser = Parser {
        text,
        tokens: tokenize(text),
        position: 0,
    };
    let mut requirements = Vec::new();
    if parser.peek() == &Token::End {
        return Ok(requirements);
    }
    loop {
        requirements.push(parser.requirement()?);
        match parser.next() {
            Token::End => return Ok(requirements),
            Token::Comma if matches!(parser.peek(), Token::Ident(_) | Token::Not) => {}
            Token::Comma => return Err(parser.unexpected("identifier after ','")),
            _ => {
                parser.position -= 1;
                return Err(parser.unexpected("',' or 'end of string'"));
            }
        }
    }
}

impl Parser<'_> {
    fn peek(&self) -> &Token {
        self.tokens.get(self.position).unwrap_or(&Token::End)
    }

    fn next(&mut self) -> Token {
        let token = self.peek().clone();
        self.position = (self.position + 1).min(self.tokens.len());
        token
    }

    fn unexpected(&self, expected: &str) -> SelectorError {
        SelectorError::Parse(format!(
            "found '{}', expected: {expected} in selector {:?}",
            self.peek().describe(),
            self.text
        ))
    }

    fn requirement(&mut self) -> Result<Requirement, SelectorError> {
        let negated = self.peek() == &Token::Not;
        if negated {
            self.next();
        }
        let key = match self.peek().clone() {
            Token::Ident(key) => key,
            _ => return Err(self.unexpected("identifier")),
        };
        self.next();
        validate_key(&key)?;
        let at_end = matches!(self.peek(), Token::End | Token::Comma);
        if negated || at_end {
            if !at_end {
                return Err(self.unexpected("',' or 'end of string'"));
            }
            let operator = if negated {
                Operator::DoesNotExist
            } else {
                Operator::Exists
            };
            return Ok(Requirement {
                key,
                operator,
                values: Vec::new(),
            });
        }
        let operator = self.operator()?;
        let values = match operator {
            Operator::In | Operator::NotIn => self.value_set()?,
            _ => vec![self.exact_value()?],
        };
        validate_values(&key, operator, &values)?;
        Ok(Requirement {
            key,
            operator,
            values,
        })
    }

    fn operator(&mut self) -> Result<Operator, SelectorError> {
        let operator = match self.peek() {
            Token::Equals | Token::DoubleEquals => Operator::Equals,
            Token::NotEquals => Operator::NotEquals,
            Token::In => Operator::In,
            Token::NotIn => Operator::NotIn,
            Token::Greater => Operator::GreaterThan,
            Token::Less => Operator::LessThan,
            _ => return Err(self.unexpected("=, !=, ==, >, <, in, notin")),
        };
        self.next();
        Ok(operator)
    }

    fn exact_value(&mut self) -> Result<String, SelectorError> {
        if let Some(value) = self.peek().as_value() {
            self.next();
            return Ok(value);
        }
        match self.peek() {
            // `key=` and `key=,x` select the empty value, as in Kubernetes.
            Token::End | Token::Comma => Ok(String::new()),
            _ => Err(self.unexpected("identifier")),
        }
    }

    fn value_set(&mut self) -> Result<Vec<String>, SelectorError> {
        if self.peek() != &Token::Open {
            return Err(self.unexpected("'('"));
        }
        self.next();
        let mut values = Vec::new();
        let mut expect_value = true;
        loop {
            let token = self.next();
            if let (true, Some(value)) = (expect_value, token.as_value()) {
                values.push(value);
                expect_value = false;
                continue;
            }
            match token {
                Token::Comma => {
                    if expect_value {
                        values.push(String::new());
                    }
                    expect_value = true;
                }
                Token::Close => {
                    // `()` and `(a,)` include the empty value, as in Kubernetes.
                    if expect_value {
                        values.push(String::new());
                    }
                    return Ok(values);
                }
                _ => {
                    self.position -= 1;
                    return Err(self.unexpected("',', ')' or identifier"));
                }
            }
        }
    }
}

fn validate_values(key: &str, operator: Operator, values: &[String]) -> Result<(), SelectorError> {
    if matches!(operator, Operator::In | Operator::NotIn) && values.is_empty() {
        return Err(SelectorError::Parse(format!(
            "key {key:?}: for 'in', 'notin' operators, values set can't be empty"
        )));
    }
    for value in values {
        if matches!(operator, Operator::GreaterThan | Operator::LessThan) {
            if value.parse::<i64>().is_err() {
                return Err(SelectorError::Parse(format!(
                    "key {key:?}: for 'Gt', 'Lt' operators, the value must be an integer, got {value:?}"
                )));
            }
        } else {
            validate_label_value(value)?;
        }
    }
    Ok(())
}

const NAME_RULE: &str = "must consist of alphanumeric characters, '-', '_' or '.', \
                         and must start and end with an alphanumeric character";

fn is_label_name(text: &str) -> bool {
    let bytes = text.as_bytes();
    let edge_ok = |b: Option<&u8>| b.is_some_and(u8::is_ascii_alphanumeric);
    edge_ok(bytes.first())
        && edge_ok(bytes.last())
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn is_dns_subdomain(text: &str) -> bool {
    text.len() <= 253
        && text.split('.').all(|part| {
            let bytes = part.as_bytes();
            let edge_ok =
                |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
            edge_ok(bytes.first())
                && edge_ok(bytes.last())
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        })
}

/// Validate a label key: an optional DNS-subdomain prefix and `/`, then a name of at most 63 characters.
pub fn validate_key(key: &str) -> Result<(), SelectorError> {
    let (prefix, name) = match key.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    let invalid = |why: String| {
        Err(SelectorError::Parse(format!(
            "invalid label key {key:?}: {why}"
        )))
    };
    if let Some(prefix) = prefix {
        if prefix.is_empty() {
            return invalid("prefix part must be non-empty".into());
        }
        if !is_dns_subdomain(prefix) {
            return invalid(format!(
                "prefix part {prefix:?} must be a lowercase RFC 1123 subdomain"
            ));
        }
    }
    if name.is_empty() {
        return invalid("name part must be non-empty".into());
    }
    if name.len() > 63 {
        return invalid("name part must be no more than 63 characters".into());
    }
    if !is_label_name(name) {
        return invalid(format!("name part {NAME_RULE}"));
    }
    Ok(())
}

/// Validate a label value: empty, or at most 63 characters of the label-name alphabet.
pub fn validate_label_value(value: &str) -> Result<(), SelectorError> {
    if value.is_empty() {
        return Ok(());
    }
    if value.len() > 63 {
        return Err(SelectorError::Parse(format!(
            "invalid label value {value:?}: must be no more than 63 characters"
        )));
    }
    if !is_label_name(value) {
        return Err(SelectorError::Parse(format!(
            "invalid label value {value:?}: a valid label value {NAME_RULE}"
        )));
    }
    Ok(())
}

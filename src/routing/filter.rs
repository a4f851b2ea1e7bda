//! Route filters: conditions on payload fields (`eq`, `ne`, `in`, `exists`, `gt`, `gte`,
//! `lt`, `lte`), all of which must hold. A missing field fails every test but
//! `exists = false` and `ne`; numeric tests take numbers and strings that parse as one.

use serde_json::Value;

use crate::domain::settings::ConfigError;
use crate::domain::values::check_pointer;

/// One condition: a JSON Pointer into the payload and one test.
#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    pub at: String,
    pub test: Test,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Test {
    Eq(Value),
    Ne(Value),
    In(Vec<Value>),
    Exists(bool),
    Gt(f64),
    Gte(f64),
    Lt(f64),
    Lte(f64),
}

impl Condition {
    pub fn parse(value: toml::Value, path: &str) -> Result<Condition, ConfigError> {
        let toml::Value::Table(table) = value else {
            return Err(ConfigError::at(
                path,
                "a condition is a table like { at = \"/amount\", gt = 100 }",
            ));
        };
        let mut at = None;
        let mut test = None;
        for (key, v) in table {
            let here = format!("{path}.{key}");
            if key == "at" {
                let p = v
                    .as_str()
                    .ok_or_else(|| ConfigError::at(&here, "must be a JSON Pointer string"))?;
                check_pointer(p).map_err(|e| ConfigError::at(&here, e))?;
                at = Some(p.to_string());
                continue;
            }
            let json = serde_json::to_value(&v).map_err(|e| ConfigError::at(&here, e.to_string()))?;
            let number = || {
                number(&json).ok_or_else(|| ConfigError::at(&here, "must be a number (or a string that parses as one)"))
            };
            let t = match key.as_str() {
                "eq" => Test::Eq(json),
                "ne" => Test::Ne(json),
                "in" => match json {
                    Value::Array(list) => Test::In(list),
                    _ => return Err(ConfigError::at(&here, "must be a list")),
                },
                "exists" => Test::Exists(
                    v.as_bool()
                        .ok_or_else(|| ConfigError::at(&here, "must be true or false"))?,
                ),
                "gt" => Test::Gt(number()?),
                "gte" => Test::Gte(number()?),
                "lt" => Test::Lt(number()?),
                "lte" => Test::Lte(number()?),
                other => {
                    return Err(ConfigError::at(
                        &here,
                        format!("unknown test {other:?}: use eq, ne, in, exists, gt, gte, lt or lte"),
                    ));
                }
            };
            if test.replace(t).is_some() {
                return Err(ConfigError::at(path, "give one test per condition"));
            }
        }
        Ok(Condition {
            at: at.ok_or_else(|| ConfigError::at(format!("{path}.at"), "is required"))?,
            test: test.ok_or_else(|| ConfigError::at(path, "needs a test: eq, ne, in, exists, gt, gte, lt or lte"))?,
        })
    }

    /// Whether the condition holds for `payload` (`None`: the body is not JSON).
    pub fn holds(&self, payload: Option<&Value>) -> bool {
        let field = payload.and_then(|p| p.pointer(&self.at));
        let Some(field) = field else {
            return matches!(self.test, Test::Exists(false) | Test::Ne(_));
        };
        let num = || number(field);
        match &self.test {
            Test::Exists(e) => *e,
            Test::Eq(v) => equal(field, v),
            Test::Ne(v) => !equal(field, v),
            Test::In(list) => list.iter().any(|v| equal(field, v)),
            Test::Gt(n) => num().is_some_and(|f| f > *n),
            Test::Gte(n) => num().is_some_and(|f| f >= *n),
            Test::Lt(n) => num().is_some_and(|f| f < *n),
            Test::Lte(n) => num().is_some_and(|f| f <= *n),
        }
    }
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
        _ => None,
    }
}

/// JSON equality, with 100 and 100.0 equal.
fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cond(text: &str) -> Condition {
        let v: toml::Value = toml::from_str::<toml::Table>(&format!("c = {text}")).expect("toml")["c"].clone();
        Condition::parse(v, "routes[0].filter[0]").expect("valid")
    }

    #[test]
    fn numeric_tests_take_numbers_and_numeric_strings() {
        let order = json!({"amount": 15000, "text_amount": "150.5", "currency": "eur"});
        assert!(cond(r#"{ at = "/amount", gt = 10000 }"#).holds(Some(&order)));
        assert!(!cond(r#"{ at = "/amount", lt = 10000 }"#).holds(Some(&order)));
        assert!(cond(r#"{ at = "/text_amount", gte = 150.5 }"#).holds(Some(&order)));
        assert!(cond(r#"{ at = "/currency", in = ["eur", "usd"] }"#).holds(Some(&order)));
        assert!(!cond(r#"{ at = "/currency", gt = 1 }"#).holds(Some(&order)));
        assert!(cond(r#"{ at = "/amount", eq = 15000.0 }"#).holds(Some(&order)));
    }

    #[test]
    fn a_missing_field_fails_every_test_but_exists_false_and_ne() {
        let p = json!({"a": 1});
        assert!(cond(r#"{ at = "/b", exists = false }"#).holds(Some(&p)));
        assert!(cond(r#"{ at = "/b", ne = 1 }"#).holds(Some(&p)));
        assert!(!cond(r#"{ at = "/b", eq = 1 }"#).holds(Some(&p)));
        assert!(!cond(r#"{ at = "/b", lte = 1 }"#).holds(Some(&p)));
        assert!(
            !cond(r#"{ at = "/a", exists = true }"#).holds(None),
            "a body that is not JSON has no fields"
        );
    }

    #[test]
    fn a_condition_with_no_test_two_tests_or_a_bad_value_names_its_path() {
        let parse = |text: &str| {
            let v: toml::Value = toml::from_str::<toml::Table>(&format!("c = {text}")).expect("toml")["c"].clone();
            Condition::parse(v, "routes[0].filter[1]").map_err(|e| e.to_string())
        };
        assert!(parse(r#"{ at = "/a" }"#).is_err_and(|e| e.starts_with("routes[0].filter[1]: needs a test")));
        assert!(parse(r#"{ at = "/a", eq = 1, ne = 2 }"#).is_err_and(|e| e.contains("one test")));
        assert!(parse(r#"{ at = "/a", gt = "x" }"#).is_err_and(|e| e.starts_with("routes[0].filter[1].gt:")));
        assert!(parse(r#"{ eq = 1 }"#).is_err_and(|e| e.starts_with("routes[0].filter[1].at: is required")));
        assert!(parse(r#"{ at = "/a", like = "x" }"#).is_err_and(|e| e.contains("unknown test")));
    }
}

//! The translations are complete, and the customer's pages take their words from them.
//!
//! - every key of `locales/en.json` exists in `vi.json` and `ja.json` (and no other),
//!   with the same `{{ variables }}`, and no text is empty; English plurals
//!   (`key_one`/`key_other`) count as one key, as Vietnamese and Japanese have one form;
//! - no user-facing string literal is left in the customer's UI modules: the words come
//!   from `t!`/`t_string!`. The operator console (`ops`, `accounts`, `approvals`,
//!   `audit_log`, `reversals`, `api_keys`, `plan_catalogue`) is written in English only
//!   (docs/decisions.md) and is not checked.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

const LANGUAGES: [&str; 3] = ["en", "vi", "ja"];

/// The customer's UI modules: every word on these pages is translated.
const CUSTOMER_MODULES: [&str; 13] = [
    "mod.rs",
    "header.rs",
    "sign_in.rs",
    "language.rs",
    "billing.rs",
    "billing_form.rs",
    "add_credit.rs",
    "history.rs",
    "payments.rs",
    "vouchers.rs",
    "plans.rs",
    "settings.rs",
    "messages.rs",
];

fn root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Each key (plural suffixes folded) with its text (English's `_other` form).
fn keys(language: &str) -> BTreeMap<String, String> {
    let path = root().join("locales").join(format!("{language}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let json: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let mut out = BTreeMap::new();
    flatten(&json, String::new(), &mut out);
    out
}

fn flatten(value: &Value, prefix: String, out: &mut BTreeMap<String, String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(v, key, out);
            }
        }
        Value::String(s) => {
            let (base, form) = match prefix.rsplit_once('_') {
                Some((base, form @ ("zero" | "one" | "two" | "few" | "many" | "other"))) => {
                    (base.to_owned(), Some(form))
                }
                _ => (prefix.clone(), None),
            };
            // Keep the `other` form's text for a plural: it names every variable.
            if form.is_none() || form == Some("other") || !out.contains_key(&base) {
                out.insert(base, s.clone());
            }
        }
        other => panic!("{prefix}: a translation is text, not {other}"),
    }
}

fn variables(text: &str) -> BTreeSet<String> {
    text.split("{{")
        .skip(1)
        .filter_map(|rest| rest.split_once("}}"))
        .map(|(name, _)| name.trim().to_owned())
        .collect()
}

#[test]
fn every_key_exists_in_every_language_with_the_same_variables() {
    let english = keys("en");
    assert!(english.len() > 250, "only {} keys", english.len());
    for language in &LANGUAGES[1..] {
        let other = keys(language);
        let missing: Vec<_> = english.keys().filter(|k| !other.contains_key(*k)).collect();
        let extra: Vec<_> = other.keys().filter(|k| !english.contains_key(*k)).collect();
        assert!(missing.is_empty(), "{language} lacks {missing:?}");
        assert!(
            extra.is_empty(),
            "{language} has keys English lacks: {extra:?}"
        );
        for (key, text) in &other {
            assert!(!text.trim().is_empty(), "{language}: {key} is empty");
            assert_eq!(
                variables(text),
                variables(&english[key]),
                "{language}: {key} names other variables than English"
            );
        }
    }
}

#[test]
fn translations_are_not_english_left_in_place() {
    // Proper names and codes may read the same; whole sentences may not.
    let english = keys("en");
    for language in &LANGUAGES[1..] {
        let copied: Vec<_> = keys(language)
            .into_iter()
            .filter(|(key, text)| {
                // The product's name is the same in every language.
                key != "product" && text.split_whitespace().count() >= 3 && english[key] == *text
            })
            .map(|(key, _)| key)
            .collect();
        assert!(
            copied.is_empty(),
            "{language} copies English for {copied:?}"
        );
    }
}

/// String literals on one line, without escapes' subtleties (enough for our code).
fn literals(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(start) = rest.find('"') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('"') else { break };
        out.push(&after[..end]);
        rest = &after[end + 1..];
    }
    out
}

/// Whether a literal reads as words for a person: two words, or a capitalised word.
/// Not: CSS classes (`"muted small"`, `"status status-{}"`), `key=value` settings, and
/// format strings made only of placeholders (`"{page} · {product}"`).
fn reads_as_words(literal: &str, line: &str) -> bool {
    let machine = |w: &str| {
        w.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_{}".contains(c))
    };
    let tokens: Vec<&str> = literal.split_whitespace().collect();
    if literal.contains('=')
        || (tokens.iter().all(|w| machine(w))
            && (tokens.iter().any(|w| w.contains('-')) || line.contains("class")))
    {
        return false;
    }
    let without_placeholders: String = literal
        .split('{')
        .map(|part| part.split_once('}').map_or(part, |(_, rest)| rest))
        .collect();
    if !without_placeholders.chars().any(char::is_alphabetic) {
        return false;
    }
    let words: Vec<&str> = literal
        .split_whitespace()
        .filter(|w| w.chars().any(char::is_alphabetic))
        .collect();
    let capitalised = words.first().is_some_and(|w| {
        let mut chars = w.chars();
        chars.next().is_some_and(char::is_uppercase)
            && chars.filter(|c| c.is_alphabetic()).all(char::is_lowercase)
    });
    words.len() >= 2 || (capitalised && words.len() == 1 && literal.len() > 2)
}

#[test]
fn the_customer_pages_have_no_stray_words() {
    let mut stray = Vec::new();
    for module in CUSTOMER_MODULES {
        let path = root().join("src/ui").join(module);
        let source = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
        let mut in_tests = false;
        for (number, line) in source.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("#[cfg(test)]") {
                in_tests = true;
            }
            // Comments, docs, and what is not text for people: attributes' machine
            // values, routes, logs and panics.
            if in_tests
                || code.starts_with("//")
                || code.starts_with("#[")
                || code.contains("tracing::")
                || code.contains("expect(")
            {
                continue;
            }
            for literal in literals(code) {
                if reads_as_words(literal, code) && !literal.contains("{{") {
                    stray.push(format!("{module}:{}: \"{literal}\"", number + 1));
                }
            }
        }
    }
    assert!(
        stray.is_empty(),
        "words on a customer page must come from locales/*.json:\n{}",
        stray.join("\n")
    );
}

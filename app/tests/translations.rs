//! The translations are complete, and the customer's pages take their words from them.
//!
//! - every key of `locales/en.json` exists in `vi.json` and `ja.json` (and no other),
//!   with the same `{{ variables }}`, and no text is empty; English's count forms
//!   (`["u32", ["… minute", 1], ["… minutes", "_"]]`) count as one key, as Vietnamese and
//!   Japanese have one form;
//! - no user-facing string literal is left in the customer's UI modules: the words come
//!   from `t!`/`t_string!`. The operator console (`ops`, `accounts`, `approvals`,
//!   `audit_log`, `reversals`, `api_keys`, `plan_catalogue`) is written in English only
//!   (docs/decisions.md) and is not checked;
//! - a problem a server function sends arrives worded in the reader's language, and a
//!   count takes its language's form.

use app::api::server::Asker;
use app::domain::entities::user;
use app::i18n::{Locale, td_string};
use app::model::error::AppError;
use app::model::problem::Problem;
use app::model::session::Role;
use app::model::settings::Language;
use app::ui::messages;
use leptos::prelude::{Owner, provide_context};
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

/// Each key with its text (for a count's forms, the general one).
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
            out.insert(prefix, s.clone());
        }
        // A count's forms (leptos_i18n's ranges: an optional number type, then
        // `[text, count]` pairs, `"_"` for any other count): keep the last form's text,
        // the general one, which names every variable.
        Value::Array(forms) => {
            let text = forms
                .iter()
                .filter_map(|form| form.as_array()?.first()?.as_str())
                .next_back()
                .unwrap_or_else(|| panic!("{prefix}: a count's forms without text"));
            out.insert(prefix, text.to_owned());
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

/// Serialises `error` as a server function answering a request in `language` does,
/// from `role` when one is signed in.
fn sent(language: Option<Language>, role: Option<Role>, error: &AppError) -> String {
    let owner = Owner::new();
    owner.with(|| {
        if let Some(language) = language {
            let (mut parts, ()) = axum::http::Request::new(()).into_parts();
            parts.extensions.insert(language);
            let user = role.map(|role| user::Model {
                id: 1,
                email: "reader@example.com".into(),
                password_hash: String::new(),
                role: role.as_str().into(),
                time_zone: "Asia/Ho_Chi_Minh".into(),
                language: language.as_str().into(),
                date_format: "auto".into(),
                created_at: chrono::Utc::now(),
            });
            parts.extensions.insert(Asker::new(user, None));
            provide_context(parts);
        }
        serde_json::to_string(error).expect("serialise")
    })
}

#[test]
fn a_problem_travels_worded_in_the_readers_language() {
    let error = AppError::Invalid {
        field: "code".into(),
        problem: Problem::VoucherEnded,
    };
    let vietnamese = "Mã voucher này đã hết hiệu lực.";
    let japanese = "このクーポンコードは有効期間が終了しています。";
    let english = "This voucher code is no longer valid.";
    for (language, role, words) in [
        (Some(Language::Vi), None, vietnamese),
        (Some(Language::Vi), Some(Role::Customer), vietnamese),
        (Some(Language::Ja), Some(Role::Customer), japanese),
        (Some(Language::En), None, english),
        (None, None, english),
        // Operators work in the console, which is written in English.
        (Some(Language::Vi), Some(Role::Operator), english),
    ] {
        let json = sent(language, role, &error);
        assert_eq!(
            json,
            serde_json::json!({ "Invalid": { "field": "code", "problem": words } }).to_string()
        );
        // The browser reads it back as text to show as it is.
        let received: AppError = serde_json::from_str(&json).expect("deserialise");
        assert_eq!(
            received,
            AppError::Invalid {
                field: "code".into(),
                problem: Problem::Worded(words.into()),
            }
        );
        assert_eq!(
            messages::problem(Locale::en, &Problem::Worded(words.into())),
            words,
            "worded text is shown as it came"
        );
    }
    // The usage API and the logs keep the English `Display` of the typed problem.
    assert_eq!(error.to_string(), english);
}

/// English has a form for one and one for every other count (CLDR's rule for whole
/// numbers); Vietnamese and Japanese have one form (locales/*.json).
#[test]
fn a_count_takes_its_languages_form() {
    let matches = |locale: Locale, n: u64| td_string!(locale, history.count, count = n).to_string();
    assert_eq!(matches(Locale::en, 0), "0 transactions match");
    assert_eq!(matches(Locale::en, 1), "1 transaction matches");
    assert_eq!(matches(Locale::en, 2), "2 transactions match");
    assert_eq!(matches(Locale::vi, 1), "Có 1 giao dịch phù hợp");
    assert_eq!(matches(Locale::ja, 1), "該当する取引：1 件");
    let wait = |n: u32| td_string!(Locale::en, errors.too_many_attempts, count = n).to_string();
    assert_eq!(wait(1), "Too many attempts, try again in 1 minute.");
    assert_eq!(wait(15), "Too many attempts, try again in 15 minutes.");
}

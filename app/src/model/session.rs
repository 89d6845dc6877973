//! Who is signed in, as the pages see it.

use super::ledger::Balances;
use serde::{Deserialize, Serialize};

/// A user's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    Customer,
    Operator,
}

impl Role {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Customer => "customer",
            Role::Operator => "operator",
        }
    }

    /// Parses the stored name.
    pub fn parse(name: &str) -> Option<Role> {
        match name {
            "customer" => Some(Role::Customer),
            "operator" => Some(Role::Operator),
            _ => None,
        }
    }
}

/// The signed-in user and their account's balances (none before the first billing
/// settings are saved).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Viewer {
    pub email: String,
    pub role: Role,
    pub balances: Option<Balances>,
    /// Set while a plan renewal is unpaid: until when the plan is kept (user's dates).
    pub plan_grace_until: Option<String>,
    /// What the account owes for charged-back top-ups (settled from the next top-up).
    pub owed: Option<super::money::Money>,
    /// An operator's capabilities (none for a customer): which console pages they see.
    pub capabilities: Vec<super::operator::Capability>,
}

//! The error every server function returns. Its messages are safe to show: database
//! and other internal failures become `Internal` and are logged on the server, never
//! sent to the browser.

use serde::{Deserialize, Serialize};
use server_fn::codec::JsonEncoding;
use server_fn::error::{FromServerFnError, ServerFnErrorErr};

/// What went wrong, in words a user can act on.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum AppError {
    /// No session, or it ended.
    #[error("Please sign in to continue.")]
    SignInRequired,
    /// Deliberately the same for an unknown email and a wrong password.
    #[error("The email or password is incorrect.")]
    BadCredentials,
    /// A form field is wrong; the message names what to fix.
    #[error("{message}")]
    Invalid { field: String, message: String },
    /// Several form fields are wrong; each message goes beside its field.
    #[error("Please correct the fields marked below.")]
    Fields(Vec<crate::model::billing::FieldError>),
    /// The customer has not saved billing settings yet, so has no account.
    #[error(
        "You have no billing profile yet. Your first top-up sets your billing details and currency."
    )]
    NoBillingProfile,
    /// The signed-in user may not do this.
    #[error("You do not have access to this.")]
    Forbidden,
    /// Something failed on our side; details are in the server log.
    #[error("Something went wrong on our side. Please try again.")]
    Internal,
    /// The request did not reach the server or its answer could not be read.
    #[error("Could not reach the server: {0}")]
    Transport(String),
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        AppError::Transport(value.to_string())
    }
}

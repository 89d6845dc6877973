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
    /// A form field is wrong; the problem names what to fix.
    #[error("{problem}")]
    Invalid {
        field: String,
        problem: crate::model::problem::Problem,
    },
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
    /// An operator lacks the capability this needs.
    #[error("{}", missing_capability(*.0))]
    MissingCapability(crate::model::operator::Capability),
    /// This user may not do this particular thing (their own request, say).
    #[error("{0}")]
    NotAllowed(String),
    /// What was asked for does not exist (or is not the caller's to see).
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with the current state (already decided, say).
    #[error("{0}")]
    Conflict(String),
    /// Too many failed attempts; try again after the given minutes.
    #[error("Too many attempts, try again in {minutes} {}.", if *minutes == 1 { "minute" } else { "minutes" })]
    TooManyAttempts { minutes: u32 },
    /// The request itself was malformed (missing or unreadable arguments, too large).
    #[error("{0}")]
    BadRequest(String),
    /// Something failed on our side; details are in the server log.
    #[error("Something went wrong on our side. Please try again.")]
    Internal,
    /// The request did not reach the server or its answer could not be read.
    #[error("Could not reach the server: {0}")]
    Transport(String),
}

/// What an operator lacking `capability` is told (in English, as the console is).
pub fn missing_capability(capability: crate::model::operator::Capability) -> String {
    format!(
        "You need the \u{201c}{}\u{201d} capability for this; ask an administrator to grant it.",
        capability.label()
    )
}

impl AppError {
    /// The HTTP status the server answers with: the caller's mistakes are 4xx, so a
    /// password-guessing run or a bad form never looks like a server fault.
    pub fn status(&self) -> u16 {
        match self {
            AppError::SignInRequired | AppError::BadCredentials => 401,
            AppError::Forbidden | AppError::MissingCapability(_) | AppError::NotAllowed(_) => 403,
            AppError::NotFound(_) => 404,
            AppError::Conflict(_) => 409,
            AppError::NoBillingProfile => 409,
            AppError::Invalid { .. } | AppError::Fields(_) => 422,
            AppError::TooManyAttempts { .. } => 429,
            AppError::BadRequest(_) => 400,
            AppError::Internal | AppError::Transport(_) => 500,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // The server could not read the request's arguments: the caller's fault.
            ServerFnErrorErr::Args(e)
            | ServerFnErrorErr::MissingArg(e)
            | ServerFnErrorErr::Deserialization(e) => {
                AppError::BadRequest(format!("The request could not be read: {e}"))
            }
            other => AppError::Transport(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::AppError;

    #[test]
    fn user_mistakes_are_4xx_and_only_our_faults_are_500() {
        let invalid = AppError::Invalid {
            field: "amount".into(),
            problem: crate::model::problem::Problem::Country,
        };
        assert_eq!(AppError::BadCredentials.status(), 401);
        assert_eq!(AppError::SignInRequired.status(), 401);
        assert_eq!(invalid.status(), 422);
        assert_eq!(AppError::TooManyAttempts { minutes: 3 }.status(), 429);
        assert_eq!(AppError::BadRequest("x".into()).status(), 400);
        assert_eq!(AppError::Forbidden.status(), 403);
        assert_eq!(AppError::Internal.status(), 500);
        assert_eq!(
            AppError::TooManyAttempts { minutes: 1 }.to_string(),
            "Too many attempts, try again in 1 minute."
        );
    }
}

//! Who is asking: the viewer, sign-in (throttled) and sign-out.

use crate::model::error::AppError;
#[cfg(feature = "ssr")]
use crate::model::problem::Problem;
use crate::model::session::Viewer;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::server;

/// The signed-in user and their balances, or `None` when nobody is signed in.
#[server(prefix = "/rpc", endpoint = "viewer")]
pub async fn get_viewer() -> Result<Option<Viewer>, AppError> {
    use crate::domain::settings::LocalTime;
    use crate::model::session::Role;
    let call = server::Call::begin().await?;
    let Some(user) = call.user().await? else {
        return Ok(None);
    };
    // The header's figures come with the account, in the request's one read of it.
    let (balances, grace, owed) = match call.account_and_standing(&user).await? {
        Some(held) => {
            let standing = held.standing;
            (
                Some(standing.balances),
                standing.grace_until,
                Some(standing.owed_minor)
                    .filter(|minor| *minor > 0)
                    .map(|minor| crate::model::money::Money::from_minor(minor, held.currency)),
            )
        }
        None => (None, None, None),
    };
    let role = server::role(&user.role)?;
    // Only operators hold capabilities; a customer's page skips the read.
    let capabilities = match role {
        Role::Operator => crate::domain::operator::of_user(call.db.conn(), user.id)
            .await
            .map_err(server::internal)?,
        Role::Customer => Vec::new(),
    };
    Ok(Some(Viewer {
        owed,
        capabilities,
        plan_grace_until: grace.map(|g| LocalTime::of(&user).date_minute(g)),
        email: user.email,
        role,
        balances,
    }))
}

/// Signs in with email and password, then goes to the billing page (an operator: the
/// console). A new session id is
/// issued, so a session id planted before sign-in is worthless after it.
#[server(prefix = "/rpc", endpoint = "sign_in")]
pub async fn sign_in(email: String, password: String) -> Result<(), AppError> {
    use crate::domain::auth::{self, AuthError};
    let call = server::Call::begin().await?;
    if email.trim().is_empty() {
        return Err(AppError::Invalid {
            field: "email".into(),
            problem: Problem::EnterEmail,
        });
    }
    if password.is_empty() {
        return Err(AppError::Invalid {
            field: "password".into(),
            problem: Problem::EnterPassword,
        });
    }
    if email.len() > 254 || email.chars().any(char::is_control) {
        return Err(AppError::Invalid {
            field: "email".into(),
            problem: Problem::InvalidEmail,
        });
    }
    let signed_in = auth::sign_in(
        call.db.conn(),
        &email,
        &password,
        &call.client_ip,
        crate::domain::db::now(),
    )
    .await;
    let user = match signed_in {
        Ok(user) => user,
        Err(AuthError::BadCredentials) => return Err(AppError::BadCredentials),
        Err(AuthError::Throttled(wait)) => {
            return Err(AppError::TooManyAttempts {
                minutes: wait.minutes(),
            });
        }
        Err(e) => return Err(server::internal(e)),
    };
    crate::domain::settings::adopt_language(call.db.conn(), &user, call.language)
        .await
        .map_err(server::internal)?;
    call.session.cycle_id().await.map_err(server::internal)?;
    call.session
        .insert(auth::SESSION_USER_KEY, user.id)
        .await
        .map_err(server::internal)?;
    // Operators have no billing pages: they start in the console.
    let home = match server::role(&user.role)? {
        crate::model::session::Role::Operator => "/ops",
        crate::model::session::Role::Customer => "/billing",
    };
    call.redirect(home);
    Ok(())
}

/// Ends the session on the server and returns to the sign-in page.
#[server(prefix = "/rpc", endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), AppError> {
    let call = server::Call::begin().await?;
    call.session.flush().await.map_err(server::internal)?;
    call.redirect("/sign-in");
    Ok(())
}

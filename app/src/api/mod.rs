//! Server functions: the browser's only way into the domain. Each is thin: it takes the
//! user from the session (never from an argument), calls the domain, and maps errors to
//! [`AppError`] without leaking internals.
//!
//! Each begins with `Call::begin().await?`, which reads the request's context (database,
//! session, reactive owner) before anything else: Leptos' context is only reliable
//! before a server function's first `.await`.
//!
//! Grouped by feature: `session` (viewer, sign-in, sign-out), `history` (Credit
//! History), `top_up` (Add credit, billing settings, payments), `voucher` (Apply Code,
//! Voucher List, operators' campaigns), `plan` (Billing Plans), `settings` (the
//! Settings tab's preferences and change log); for the operator console, `lookup`
//! (search, account view and histories), `adjustment` (requests and decisions),
//! `reversal` (charged-back top-ups), `api_key` (the metering services' keys) and
//! `audit` (the log). Operator functions begin with `Call::require_capability`. The
//! rules themselves live in `crate::domain`.

mod adjustment;
mod api_key;
mod audit;
mod history;
mod lookup;
mod plan;
mod reversal;
mod session;
mod settings;
mod top_up;
mod voucher;

pub use adjustment::*;
pub use api_key::*;
pub use audit::*;
pub use history::*;
pub use lookup::*;
pub use plan::*;
pub use reversal::*;
pub use session::*;
pub use settings::*;
pub use top_up::*;
pub use voucher::*;

/// Helpers only the server functions use.
#[cfg(feature = "ssr")]
pub mod server {
    use crate::domain::account::AccountAndStanding;
    use crate::domain::adjustment::Thresholds;
    use crate::domain::db::Db;
    use crate::domain::entities::{account as account_row, user};
    use crate::domain::gateways::Gateways;
    use crate::domain::history::HistoryError;
    use crate::domain::session_store::DbSessionStore;
    use crate::domain::{account, auth, operator};
    use crate::model::error::AppError;
    use crate::model::money::Currency;
    use crate::model::operator::Capability;
    use crate::model::problem::Problem;
    use crate::model::session::Role;
    use crate::model::settings::Language;
    use axum::extract::ConnectInfo;
    use leptos::prelude::{Owner, use_context};
    use sea_orm::EntityTrait;
    use std::net::SocketAddr;
    use tower_sessions::Session;

    /// The client's address as the server established it (a request extension).
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct ClientIp(pub String);

    /// Logs an internal failure and returns the message-free error the browser sees.
    pub fn internal(e: impl std::fmt::Display) -> AppError {
        tracing::error!(error = %e, "server function failed");
        AppError::Internal
    }

    /// Who is asking, read once per request by the server's `language` layer (which
    /// needs the user's saved language anyway) and handed on as a request extension: the
    /// user, and their account with its currency and the header's figures, read with the
    /// session row in one statement (`Asker::read`). A page's server functions render in one
    /// request and share this read instead of each reading the user and the account
    /// again. It is as of the request's start: server functions take the user and
    /// account from it before they change anything, and only the header's viewer, which
    /// changes nothing, shows its figures.
    #[derive(Clone, Debug)]
    pub struct Asker {
        user: Option<user::Model>,
        account: Option<AccountAndStanding>,
    }

    impl Asker {
        /// Who `session` is signed in as, with their account: the session row, user and
        /// account in one statement (`DbSessionStore::load_with_user`,
        /// `auth::signed_in_from`), or, for a row that does not name its user in a column
        /// of its own, the session and then the user and account (`auth::signed_in_as`).
        pub async fn read(db: &Db, session: &Session) -> Result<Asker, auth::AuthError> {
            let session_error =
                |e: tower_sessions::session_store::Error| auth::AuthError::Session(e.to_string());
            let joined = match session.id() {
                None => Some(None),
                Some(id) => match DbSessionStore::new(db.clone())
                    .load_with_user(&id)
                    .await
                    .map_err(session_error)?
                {
                    None => Some(None),
                    Some((record, read)) => {
                        let read = read.map(|(user, account)| (user.id, (user, account)));
                        auth::signed_in_from(session, &record, read).await?
                    }
                },
            };
            let found = match joined {
                Some(found) => found,
                None => {
                    auth::signed_in_as(session, |id| account::user_and_account(db.conn(), id))
                        .await?
                }
            };
            let (user, account) =
                found.map_or((None, None), |(user, account)| (Some(user), account));
            Ok(Asker::new(user, account))
        }

        /// An asker that read `user` and `account`.
        pub fn new(user: Option<user::Model>, account: Option<AccountAndStanding>) -> Asker {
            Asker { user, account }
        }

        /// The signed-in user.
        pub fn user(&self) -> Option<&user::Model> {
            self.user.as_ref()
        }

        /// The signed-in user's account as it read it, if they have one.
        pub fn account(&self) -> Option<&AccountAndStanding> {
            self.account.as_ref()
        }

        /// What it read of `user`'s account, if `user` is who it read.
        fn account_of(&self, user: &user::Model) -> Option<Option<&AccountAndStanding>> {
            let asker = self.user.as_ref()?;
            (asker.id == user.id).then_some(self.account.as_ref())
        }
    }

    /// What a server function needs from its request, read up front.
    pub struct Call {
        pub db: Db,
        pub session: Session,
        /// The caller's address (VNPay wants it); loopback when unknown.
        pub client_ip: String,
        /// The language the request is answered in (the server's `language` layer).
        pub language: Language,
        owner: Owner,
        gateways: Option<Gateways>,
        thresholds: Thresholds,
        /// Absent where no `language` layer ran (then each read goes to the database).
        asker: Option<Asker>,
    }

    /// A signed-in operator and every capability they hold.
    pub struct Staff {
        pub user: user::Model,
        pub capabilities: Vec<Capability>,
    }

    impl Staff {
        /// Whether they hold `capability`.
        pub fn may(&self, capability: Capability) -> bool {
            self.capabilities.contains(&capability)
        }
    }

    impl Call {
        /// Reads the database, session and reactive owner. Call it first, before any
        /// other `.await`.
        pub async fn begin() -> Result<Call, AppError> {
            let owner = Owner::current().ok_or_else(|| internal("no reactive owner"))?;
            let db = use_context::<Db>().ok_or_else(|| internal("no database in context"))?;
            let gateways = use_context::<Gateways>();
            let thresholds = use_context::<Thresholds>().unwrap_or_default();
            let session = leptos_axum::extract::<Session>().await.map_err(internal)?;
            // The server's `client_ip` layer says who the client is (behind a trusted
            // proxy, the address the proxy saw); the socket's peer otherwise.
            let client_ip = match leptos_axum::extract::<axum::Extension<ClientIp>>().await {
                Ok(axum::Extension(ClientIp(ip))) => ip,
                Err(_) => leptos_axum::extract::<ConnectInfo<SocketAddr>>()
                    .await
                    .map(|ConnectInfo(addr)| addr.ip().to_string())
                    .unwrap_or_else(|_| "127.0.0.1".into()),
            };
            let language = leptos_axum::extract::<axum::Extension<Language>>()
                .await
                .map_or(Language::En, |axum::Extension(language)| language);
            let asker = leptos_axum::extract::<axum::Extension<Asker>>()
                .await
                .ok()
                .map(|axum::Extension(asker)| asker);
            Ok(Call {
                db,
                session,
                client_ip,
                language,
                owner,
                gateways,
                thresholds,
                asker,
            })
        }

        /// The payment gateways.
        pub fn gateways(&self) -> Result<Gateways, AppError> {
            self.gateways
                .clone()
                .ok_or_else(|| internal("no gateways in context"))
        }

        /// The signed-in user, if the session names one that still exists.
        pub async fn user(&self) -> Result<Option<user::Model>, AppError> {
            if let Some(asker) = &self.asker {
                return Ok(asker.user.clone());
            }
            auth::signed_in(self.db.conn(), &self.session)
                .await
                .map_err(internal)
        }

        /// The signed-in user, or `SignInRequired`.
        pub async fn require_user(&self) -> Result<user::Model, AppError> {
            self.user().await?.ok_or(AppError::SignInRequired)
        }

        /// The signed-in customer; an operator has no billing pages (`Forbidden`).
        pub async fn require_customer(&self) -> Result<user::Model, AppError> {
            let user = self.require_user().await?;
            match role(&user.role)? {
                Role::Customer => Ok(user),
                Role::Operator => Err(AppError::Forbidden),
            }
        }

        /// The signed-in operator holding `capability`. A customer gets `Forbidden`, an
        /// operator without it `MissingCapability`: nothing is implied by another.
        pub async fn require_capability(&self, capability: Capability) -> Result<Staff, AppError> {
            let user = self.require_user().await?;
            if role(&user.role)? != Role::Operator {
                return Err(AppError::Forbidden);
            }
            let capabilities = operator::of_user(self.db.conn(), user.id)
                .await
                .map_err(internal)?;
            if !capabilities.contains(&capability) {
                return Err(AppError::MissingCapability(capability));
            }
            Ok(Staff { user, capabilities })
        }

        /// The approval thresholds the server was configured with.
        pub fn thresholds(&self) -> Thresholds {
            self.thresholds.clone()
        }

        /// The user's account and currency, if they have one yet (`account_and_standing`).
        pub async fn account_of(
            &self,
            user: &user::Model,
        ) -> Result<Option<(account_row::Model, Currency)>, AppError> {
            let found = self.account_and_standing(user).await?;
            Ok(found.map(|a| (a.account, a.currency)))
        }

        /// The user's account with its currency and the header's figures, if they have
        /// one yet: as the request's `Asker` read them, or one statement where none did.
        pub async fn account_and_standing(
            &self,
            user: &user::Model,
        ) -> Result<Option<AccountAndStanding>, AppError> {
            if let Some(read) = self.asker.as_ref().and_then(|asker| asker.account_of(user)) {
                return Ok(read.cloned());
            }
            let found = account::user_and_account(self.db.conn(), user.id)
                .await
                .map_err(internal)?;
            Ok(found.and_then(|(_, account)| account))
        }

        /// The signed-in customer with their account and its currency.
        pub async fn require_account(
            &self,
        ) -> Result<(user::Model, account_row::Model, Currency), AppError> {
            let user = self.require_customer().await?;
            match self.account_of(&user).await? {
                Some((acct, currency)) => Ok((user, acct, currency)),
                None => Err(AppError::NoBillingProfile),
            }
        }

        /// Adds a `Set-Cookie` header to the answer.
        pub fn set_cookie(&self, cookie: &str) {
            use axum::http::{HeaderValue, header};
            self.owner.with(|| {
                if let (Some(response), Ok(value)) = (
                    use_context::<leptos_axum::ResponseOptions>(),
                    HeaderValue::from_str(cookie),
                ) {
                    response.append_header(header::SET_COOKIE, value);
                }
            });
        }

        /// Sends the browser to `path` once the function returns.
        pub fn redirect(&self, path: &str) {
            self.owner.with(|| leptos_axum::redirect(path));
        }
    }

    /// An account by its id, for an operator's page (`NotFound` when there is none).
    pub async fn account_by_id(
        call: &Call,
        account_id: &str,
    ) -> Result<(account_row::Model, Currency), AppError> {
        let found = account_row::Entity::find_by_id(account_id.trim().to_owned())
            .one(call.db.conn())
            .await
            .map_err(internal)?
            .ok_or_else(|| AppError::NotFound("There is no account with this id.".into()))?;
        let currency = account::currency(&found).map_err(internal)?;
        Ok((found, currency))
    }

    /// A page of an account's Payment History for `reader` (whose dates it uses);
    /// `query` is the page's URL query (`after=` / `before=` cursor, page size).
    pub async fn payment_page(
        call: &Call,
        reader: &user::Model,
        account_id: &str,
        currency: Currency,
        query: &str,
    ) -> Result<crate::model::top_up::PaymentPage, AppError> {
        use crate::model::history::HistoryFilter;
        // The same cursor and page-size parameters as Credit History, checked the same
        // way (a page of 10,000 payments is not a page).
        let filter = HistoryFilter::from_query_string(query);
        filter
            .validate()
            .map_err(|e| history_error(HistoryError::Filter(e)))?;
        crate::domain::payment::page(
            call.db.conn(),
            account_id,
            currency,
            crate::domain::settings::LocalTime::of(reader),
            filter.cursor.as_ref(),
            u64::from(filter.page_size),
        )
        .await
        .map_err(history_error)
    }

    /// A domain error's text as a sentence for the page: capitalised, with a full stop.
    pub fn sentence(text: &str) -> String {
        let mut chars = text.chars();
        let first: String = chars
            .next()
            .map(|c| c.to_uppercase().collect())
            .unwrap_or_default();
        format!("{first}{}.", chars.as_str())
    }

    /// A refused history query, in words for the person who made it.
    pub fn history_error(e: HistoryError) -> AppError {
        match e {
            HistoryError::Filter(f) => AppError::Invalid {
                field: "filter".into(),
                problem: Problem::Filter(f),
            },
            HistoryError::BadCursor => AppError::Invalid {
                field: "page".into(),
                problem: Problem::StalePage,
            },
            HistoryError::Db(e) => internal(e),
        }
    }

    /// A click's idempotency token as the browser sent it: none when empty; more than
    /// 64 characters (the columns' size; the browser sends 32) is a malformed request.
    pub fn click_token(token: &str) -> Result<Option<&str>, AppError> {
        let token = token.trim();
        if token.len() > 64 {
            return Err(AppError::BadRequest(
                "The request is malformed; reload the page and try again.".into(),
            ));
        }
        Ok((!token.is_empty()).then_some(token))
    }

    /// A stored role name as a [`Role`].
    pub fn role(name: &str) -> Result<Role, AppError> {
        Role::parse(name).ok_or_else(|| internal(format!("unknown role {name:?}")))
    }
}

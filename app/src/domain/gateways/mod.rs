//! Payment gateways, one module each behind [`PaymentGateway`]: building the payment
//! request, verifying what the gateway sends back (the customer's return and its
//! server-to-server callback), and mapping that to an [`Outcome`]. Amount conversions
//! to a gateway's own unit happen in its module, at the edge.
//!
//! This module also holds the steps every top-up goes through, whichever the gateway:
//! [`start`] (a pending payment, then the gateway's page), [`returned`] (the customer
//! comes back), [`notified`] (the gateway's IPN or webhook) and [`close_due`] (the
//! expiry job, which asks the gateway before giving up). Crediting itself is
//! `payment::settle`, a compare-and-set: callbacks may come in any number and order,
//! and a verified payment credits even a payment we had given up on.

pub mod failure;
pub mod paypal;
pub mod stripe;
pub mod vnpay;

use super::db::Db;
use super::entities::payment as payment_row;
use super::payment::{self, NewPayment, Outcome, PaymentError, Settled};
use super::reversal::{self, Dispute, ReversalError};
use crate::model::money::{Currency, Money};
use crate::model::top_up::Gateway;
use chrono::{DateTime, Duration, Utc};
use failure::Failure;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use std::sync::Arc;

/// Why a gateway call or callback failed.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("the signature does not match")]
    BadSignature,
    #[error("the signature is too old or too new: {0}")]
    Stale(String),
    #[error("the call is malformed: {0}")]
    Malformed(String),
    #[error("the gateway could not be reached: {0}")]
    Unreachable(String),
    #[error("the gateway refused: {0}")]
    Refused(String),
}

impl From<reqwest::Error> for GatewayError {
    fn from(e: reqwest::Error) -> Self {
        // reqwest's message names the URL, never headers or bodies, so no secret leaks.
        GatewayError::Unreachable(e.without_url().to_string())
    }
}

/// What a gateway needs to start a payment.
#[derive(Clone, Debug)]
pub struct Checkout<'a> {
    /// Our unique payment reference.
    pub reference: &'a str,
    pub amount: Money,
    pub client_ip: &'a str,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// Where the gateway sends the customer after paying (our reference included).
    pub return_url: String,
    /// Where the gateway sends the customer who cancels.
    pub cancel_url: String,
}

/// A started payment: where to send the customer, and the gateway's id for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Started {
    pub redirect_url: String,
    pub gateway_ref: Option<String>,
}

/// A server-to-server call from a gateway, as received.
#[derive(Clone, Debug, Default)]
pub struct Notification {
    pub query: Vec<(String, String)>,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Notification {
    /// A header's value (name in lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A verified callback that says what became of one payment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    /// The gateway's event id, for de-duplication (VNPay has none).
    pub event_id: Option<String>,
    pub reference: String,
    pub outcome: Outcome,
}

/// What a verified callback says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// What became of one payment.
    Settle(Notice),
    /// A charge-back of a paid payment: a dispute opened, won or lost, or the payment
    /// reversed (see `reversal`).
    Dispute { event_id: String, dispute: Dispute },
}

/// What came of a callback, for the answer the gateway expects.
#[derive(Debug)]
pub enum Heard {
    Settled(Settled),
    /// A dispute event recorded and acted on.
    Disputed,
    /// Verified, but not an event we act on (or seen before).
    Ignored,
    Refused(GatewayError),
    /// Our side failed; the gateway should try again.
    Failed,
}

/// The answer to a gateway's callback.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
}

impl Answer {
    fn json(status: u16, body: impl Into<String>) -> Answer {
        Answer {
            status,
            content_type: "application/json",
            body: body.into(),
        }
    }
}

/// One payment provider.
#[async_trait::async_trait]
pub trait PaymentGateway: Send + Sync {
    fn gateway(&self) -> Gateway;

    /// The shortest time the gateway keeps a payment open; a payment's own expiry is
    /// never shorter, so nobody can pay after we have given up on it.
    fn minimum_ttl(&self) -> Duration {
        Duration::zero()
    }

    /// Our payment reference in a customer's return query (we put it in the return URL).
    fn reference_in(&self, query: &[(String, String)]) -> Option<String> {
        query
            .iter()
            .find(|(k, _)| k == "reference")
            .map(|(_, v)| v.clone())
    }

    /// Builds the payment request; returns where to send the customer.
    async fn start(&self, checkout: &Checkout<'_>) -> Result<Started, GatewayError>;

    /// The customer came back with `query`. Returns an outcome to settle the payment
    /// with when the return itself is authoritative (PayPal's capture) or we give up on
    /// the payment (the customer followed a cancel link), `None` when only the callback
    /// may settle it.
    async fn returned(
        &self,
        payment: &payment_row::Model,
        query: &[(String, String)],
    ) -> Result<Option<Outcome>, GatewayError>;

    /// After a customer's return gave up on a payment (and it is settled so): closes it
    /// at the gateway too, where the gateway allows that (Stripe: the session expires),
    /// so it can no longer be paid. Settling first keeps the customer's reason: the
    /// gateway's own "expired" callback that follows then changes nothing. A payment
    /// made at the gateway meanwhile still credits through its callback.
    async fn close(&self, _payment: &payment_row::Model) -> Result<(), GatewayError> {
        Ok(())
    }

    /// Verifies and reads a callback; `Ok(None)` for events we do not act on.
    async fn notified(&self, call: &Notification) -> Result<Option<Event>, GatewayError>;

    /// Whether the customer's return with `query` makes us call the gateway to take the
    /// money (PayPal's capture): the payment is then `capturing` while the call is in
    /// flight, so the expiry job asks rather than expires.
    fn captures_on_return(&self, _query: &[(String, String)]) -> bool {
        false
    }

    /// Asks the gateway what became of a payment whose time ran out, before we give up
    /// on it: `Some(outcome)` to settle with, `None` while it is still open at the
    /// gateway (ask again later).
    async fn query(&self, payment: &payment_row::Model) -> Result<Option<Outcome>, GatewayError>;

    /// The answer the gateway expects for a callback.
    fn answer(&self, heard: &Heard) -> Answer;
}

/// The three gateways and the top-up rules configured with them.
#[derive(Clone)]
pub struct Gateways {
    pub vnpay: Arc<dyn PaymentGateway>,
    pub stripe: Arc<dyn PaymentGateway>,
    pub paypal: Arc<dyn PaymentGateway>,
    /// How long a pending payment waits for its gateway.
    pub ttl: Duration,
    /// Our address as the gateways (and the customer's browser) reach it.
    pub public_url: String,
    /// The largest single top-up, per currency.
    pub maximum: Arc<dyn Fn(Currency) -> Money + Send + Sync>,
}

impl Gateways {
    /// The provider for `gateway`.
    pub fn get(&self, gateway: Gateway) -> &dyn PaymentGateway {
        match gateway {
            Gateway::VnPay => self.vnpay.as_ref(),
            Gateway::Stripe => self.stripe.as_ref(),
            Gateway::PayPal => self.paypal.as_ref(),
        }
    }

    /// The return URL of a payment; `cancelled` for the gateway's cancel link.
    pub fn return_url(&self, gateway: Gateway, reference: &str, cancelled: bool) -> String {
        format!(
            "{}/billing/top-up/return/{}?reference={reference}{}",
            self.public_url.trim_end_matches('/'),
            gateway.as_str(),
            if cancelled { "&cancelled=1" } else { "" }
        )
    }
}

/// Whether a customer's return query is the gateway's cancel link (see
/// [`Gateways::return_url`]).
pub fn cancelled(query: &[(String, String)]) -> bool {
    query.iter().any(|(k, v)| k == "cancelled" && v == "1")
}

/// Why a top-up could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("payment {0} has ended; a new Pay click starts a new one")]
    Ended(String),
    #[error("too many top-ups started; try again in {} minutes", .0.minutes())]
    Throttled(super::throttle::Throttled),
    #[error(transparent)]
    Payment(#[from] PaymentError),
    #[error(transparent)]
    Gateway(#[from] GatewayError),
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
}

/// Creates the pending payment (or finds the one this click already made) and asks
/// its gateway for the page to send the customer to. If the gateway cannot be reached
/// the payment fails at once, so it does not sit pending.
pub async fn start(
    db: &Db,
    gateways: &Gateways,
    new: &NewPayment,
    client_ip: &str,
) -> Result<(payment_row::Model, Started), StartError> {
    use super::throttle::{self, TOP_UP_START};
    let at = super::db::now();
    if let Err(wait) = throttle::attempt(db.conn(), TOP_UP_START, &new.account_id, at).await? {
        return Err(StartError::Throttled(wait));
    }
    let provider = gateways.get(new.gateway);
    let ttl = gateways.ttl.max(provider.minimum_ttl());
    let made = payment::create(db, new, ttl).await?;
    if made.state != payment::State::Pending.as_str() {
        // The same click's payment ended already (say its gateway was unreachable):
        // sending the customer to pay it would take money we no longer expect.
        return Err(StartError::Ended(made.reference));
    }
    let checkout = Checkout {
        reference: &made.reference,
        // The stored amount, not this request's: a repeated token with another amount
        // must not make the gateway charge what the payment does not expect.
        amount: Money::from_minor(made.amount_minor, new.amount.currency()),
        client_ip,
        created_at: made.created_at,
        expires_at: made.expires_at,
        return_url: gateways.return_url(new.gateway, &made.reference, false),
        cancel_url: gateways.return_url(new.gateway, &made.reference, true),
    };
    match provider.start(&checkout).await {
        Ok(started) => {
            if let Some(r) = &started.gateway_ref {
                payment_row::Entity::update_many()
                    .col_expr(payment_row::Column::GatewayRef, Expr::value(r.as_str()))
                    .filter(payment_row::Column::Id.eq(made.id))
                    .filter(payment_row::Column::State.eq(payment::State::Pending.as_str()))
                    .exec(db.conn())
                    .await?;
            }
            Ok((made, started))
        }
        Err(e) => {
            tracing::error!(reference = %made.reference, gateway = new.gateway.as_str(), error = %e, "payment could not start");
            payment::settle(
                db,
                new.gateway,
                &made.reference,
                &Outcome::GaveUp {
                    reason: Failure::Unreachable {
                        gateway: new.gateway,
                    },
                },
            )
            .await?;
            Err(e.into())
        }
    }
}

/// The customer came back from the gateway for payment `reference` of account
/// `account_id`. Settles the payment when the return is authoritative; otherwise the
/// callback will. Returns the payment as it now stands.
pub async fn returned(
    db: &Db,
    gateways: &Gateways,
    gateway: Gateway,
    account_id: &str,
    query: &[(String, String)],
) -> Result<Option<payment_row::Model>, StartError> {
    let Some(reference) = gateways.get(gateway).reference_in(query) else {
        return Ok(None);
    };
    let find = || {
        payment_row::Entity::find()
            .filter(payment_row::Column::Reference.eq(reference.as_str()))
            .filter(payment_row::Column::AccountId.eq(account_id))
            .filter(payment_row::Column::Gateway.eq(gateway.as_str()))
            .one(db.conn())
    };
    let Some(found) = find().await? else {
        return Ok(None);
    };
    if found.state != payment::State::Pending.as_str() {
        return Ok(Some(found));
    }
    let provider = gateways.get(gateway);
    let capturing = provider.captures_on_return(query);
    if capturing && !payment::begin_capture(db.conn(), found.id).await? {
        // Another return is capturing it, or it settled meanwhile.
        return Ok(find().await?);
    }
    let settled = match provider.returned(&found, query).await {
        Ok(Some(outcome)) => {
            let settled = payment::settle(db, gateway, &reference, &outcome).await?;
            tracing::info!(
                reference,
                ?settled,
                "payment settled on the customer's return"
            );
            if matches!(outcome, Outcome::GaveUp { .. })
                && let Err(e) = provider.close(&found).await
            {
                // It stays payable until the gateway's own expiry; if it is paid, its
                // callback credits it (a payment we gave up on still takes a payment).
                tracing::warn!(reference, error = %e, "payment not closed at the gateway");
            }
            true
        }
        Ok(None) => false,
        // The payment stays pending: its callback or its expiry settles it.
        Err(e) => {
            tracing::warn!(reference, error = %e, "customer's return not usable");
            false
        }
    };
    if capturing && !settled {
        payment::end_capture(db.conn(), found.id).await?;
    }
    Ok(find().await?)
}

/// The expiry job's step for payments whose time ran out: asks each one's gateway what
/// became of it and settles from the answer (paid: credited; failed or never paid:
/// expired). A gateway that cannot be reached is asked again on the next run, never
/// expired blindly. Returns how many payments were credited and expired.
pub async fn close_due(
    db: &Db,
    gateways: &Gateways,
    at: DateTime<Utc>,
) -> Result<(usize, usize), PaymentError> {
    let (mut credited, mut expired) = (0, 0);
    for due in payment::due(db.conn(), at).await? {
        let Some(gateway) = Gateway::parse(&due.gateway) else {
            continue;
        };
        match gateways.get(gateway).query(&due).await {
            Ok(Some(outcome @ Outcome::Paid { .. })) => {
                let settled = payment::settle(db, gateway, &due.reference, &outcome).await?;
                tracing::info!(reference = %due.reference, ?settled, "expiry job: the gateway says paid");
                credited += usize::from(matches!(settled, Settled::Credited(_)));
            }
            Ok(Some(_)) => {
                expired += usize::from(payment::expire(db, &due, at).await?);
            }
            Ok(None) => {
                tracing::info!(reference = %due.reference, "expiry job: still open at the gateway; asking again later");
            }
            Err(e) => {
                tracing::warn!(reference = %due.reference, error = %e, "expiry job: the gateway could not answer; asking again later");
            }
        }
    }
    Ok((credited, expired))
}

/// A gateway's IPN or webhook: verified, de-duplicated by event id, settled, answered.
pub async fn notified(db: &Db, provider: &dyn PaymentGateway, call: &Notification) -> Answer {
    provider.answer(&hear(db, provider, call).await)
}

/// Verifies, settles and de-duplicates a callback; says what came of it.
pub async fn hear(db: &Db, provider: &dyn PaymentGateway, call: &Notification) -> Heard {
    let gateway = provider.gateway();
    match provider.notified(call).await {
        Err(GatewayError::Unreachable(e)) => {
            // We could not check it (PayPal's verify API is down): ask for it again.
            tracing::error!(gateway = gateway.as_str(), error = %e, "gateway callback could not be verified");
            Heard::Failed
        }
        Err(e) => {
            tracing::warn!(gateway = gateway.as_str(), error = %e, "gateway callback refused");
            Heard::Refused(e)
        }
        Ok(None) => Heard::Ignored,
        Ok(Some(Event::Settle(notice))) => match settle_notice(db, gateway, &notice).await {
            Ok(heard) => heard,
            Err(e) => {
                tracing::error!(gateway = gateway.as_str(), error = %e, "gateway callback could not be settled");
                Heard::Failed
            }
        },
        Ok(Some(Event::Dispute { event_id, dispute })) => {
            match disputed(db, gateway, &event_id, &dispute).await {
                Ok(heard) => heard,
                Err(e) => {
                    tracing::error!(gateway = gateway.as_str(), error = %e, "dispute event could not be handled");
                    Heard::Failed
                }
            }
        }
    }
}

/// A dispute event: acted on once (a redelivery is acknowledged), then recorded. The
/// actions are idempotent themselves (one reversal per payment, a reinstatement once),
/// so two copies arriving together do no harm.
async fn disputed(
    db: &Db,
    gateway: Gateway,
    event_id: &str,
    dispute: &Dispute,
) -> Result<Heard, ReversalError> {
    if payment::seen(db.conn(), gateway, event_id).await? {
        return Ok(Heard::Ignored);
    }
    match reversal::dispute(db, dispute, super::db::now()).await {
        Ok(()) => {}
        Err(ReversalError::NoSuchPayment(reference)) => {
            tracing::warn!(gateway = gateway.as_str(), %reference, event_id, "dispute about a payment we do not know");
            return Ok(Heard::Ignored);
        }
        Err(e) => return Err(e),
    }
    tracing::warn!(gateway = gateway.as_str(), reference = %dispute.reference, event = dispute.event.as_str(), "charge-back event");
    payment::first_sighting(
        db,
        gateway,
        event_id,
        Some(&dispute.reference),
        &format!("dispute {}", dispute.event.as_str()),
    )
    .await?;
    Ok(Heard::Disputed)
}

async fn settle_notice(db: &Db, gateway: Gateway, notice: &Notice) -> Result<Heard, PaymentError> {
    let settled = payment::settle(db, gateway, &notice.reference, &notice.outcome).await?;
    tracing::info!(gateway = gateway.as_str(), reference = %notice.reference, event = ?notice.event_id, ?settled, "gateway callback");
    if let Settled::Already(payment::State::Failed) = settled
        && matches!(notice.outcome, Outcome::Paid { .. })
    {
        // The gateway said it failed, and now says it was paid: contradicting words
        // from the gateway itself. Money may have been taken; a person must look.
        tracing::error!(gateway = gateway.as_str(), reference = %notice.reference, "paid after the gateway reported it failed: check with the gateway");
    }
    if let Some(event_id) = &notice.event_id {
        // Recorded after settling, so a redelivery after a failure here still settles.
        let first = payment::first_sighting(
            db,
            gateway,
            event_id,
            Some(&notice.reference),
            settled.label(),
        )
        .await?;
        // A redelivery that changed nothing is just acknowledged. (Concurrent copies may
        // record the event in any order, so this never hides a settlement made now.)
        if !first && matches!(settled, Settled::Already(_)) {
            return Ok(Heard::Ignored);
        }
    }
    Ok(Heard::Settled(settled))
}

/// A shared HTTP client for gateway APIs, with timeouts so a slow gateway cannot hold
/// a customer's request for long.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(5))
        .timeout(std::time::Duration::from_secs(20))
        .build()
        .unwrap_or_default()
}

/// Reads a JSON answer, or says what the gateway refused.
async fn json_answer(response: reqwest::Response) -> Result<serde_json::Value, GatewayError> {
    let status = response.status();
    let body: serde_json::Value = response
        .json()
        .await
        .map_err(|e| GatewayError::Malformed(e.without_url().to_string()))?;
    if status.is_success() {
        Ok(body)
    } else {
        Err(GatewayError::Refused(format!("HTTP {status}: {body}")))
    }
}

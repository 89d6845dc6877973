//! Payment gateways, one module each: building the payment request, verifying what the
//! gateway sends back, and mapping its outcome. Amount conversions to a gateway's own
//! unit happen here, at the edge.

pub mod stripe;
pub mod vnpay;

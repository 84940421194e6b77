//! One call: SIP dialog + media session + service.

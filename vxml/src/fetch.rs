//! The HTTP fetch layer (reqwest): cookies per session, redirects, an HTTP cache, fetch timeouts. The interpreter core does not depend on it.

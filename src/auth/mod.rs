//! Who is asking: password hashing, session cookies and the request-forgery token.
//!
//! Uses `domain`, `crypto` and `store`.

mod password;
mod session_cookie;

pub use password::{DUMMY_HASH, Kdf, hash_password, verify_password};
pub use session_cookie::{
    CSRF_FIELD, CSRF_HEADER, SessionCookie, cookie_value, csrf_token_for_session, tokens_match,
};

//! Small macros the services share.

/// A service's problem type keeps failures of the layers below as `Internal`: the person
/// sees the generic error page, the log keeps the cause. `internal_from!(CaseProblem:
/// StoreError, KeyError)`, with the error types' full paths, writes the `From`
/// conversions.
macro_rules! internal_from {
    ($problem:ty: $($cause:ty),+ $(,)?) => {
        $(
            impl From<$cause> for $problem {
                fn from(error: $cause) -> Self {
                    Self::Internal(error.into())
                }
            }
        )+
    };
}

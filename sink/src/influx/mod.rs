//! InfluxDB, and VictoriaMetrics, which takes the same line protocol: where it is ([`target`]),
//! the one HTTP client every use shares ([`client`]), line protocol ([`line_protocol`]), the
//! sink fed from the outbox ([`sink`]), one-shot writes of computed figures ([`writer`]) and the
//! InfluxQL read side ([`query`]; VictoriaMetrics is read by [`crate::victoria`]).

pub mod client;
pub mod line_protocol;
pub mod query;
pub mod sink;
pub mod target;
pub mod writer;

/// Why an InfluxDB target cannot be used or did not answer as asked. Messages name the target,
/// never its credentials.
#[derive(Debug, thiserror::Error)]
pub enum InfluxError {
    #[error("not a URL ({0})")]
    Url(#[from] url::ParseError),
    #[error("scheme '{0}' is not http, https, vm or vm+https")]
    Scheme(String),
    #[error("a password in the URL is refused: set KILOWATCH_INFLUX_PASSWORD")]
    PasswordInUrl,
    #[error("give ?db=NAME (v1 /write) or ?org=ORG&bucket=BUCKET (v2 /api/v2/write)")]
    NoDatabase,
    #[error("unknown URL parameter '{0}'; expected db, rp, org, bucket, ca")]
    UnknownParameter(String),
    #[error(
        "credentials in a VictoriaMetrics URL are refused: set KILOWATCH_VM_TOKEN (sent as a bearer token)"
    )]
    CredentialsInVictoriaUrl,
    #[error(
        "URL parameter '{0}' is not taken by a VictoriaMetrics URL: vm://HOST:PORT[/PREFIX] has none, vm+https:// takes only ca=PATH"
    )]
    VictoriaParameter(String),
    #[error("the URL names no host")]
    NoHost,
    /// A reader or writer given the other engine's target.
    #[error("{target} does not answer {wanted}")]
    WrongEngine {
        target: String,
        wanted: &'static str,
    },
    #[error("CA file '{path}': {kind}")]
    CaFile {
        path: String,
        kind: std::io::ErrorKind,
    },
    #[error("CA file '{path}' is not a PEM certificate: none in it")]
    CaEmpty { path: String },
    #[error("CA file '{path}' is not a PEM certificate: {source}")]
    CaPem {
        path: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("http client: {0}")]
    Client(#[source] reqwest::Error),
    /// The server did not do what was asked: a connection failure, an HTTP status with its
    /// body, or an InfluxQL error.
    #[error("{target}: {detail}")]
    Request { target: String, detail: String },
}

//! DNS lookups: the TXT records that prove an organization controls a
//! domain. Uses the system's resolver unless `ORGQL_DNS_RESOLVER` names a
//! server (tests start their own).

use std::net::SocketAddr;

use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::RData;
use hickory_resolver::{Resolver, TokioResolver};

/// Asks one DNS server, or the system's, for TXT records.
#[derive(Debug, Clone, Copy, Default)]
pub struct TxtResolver {
    server: Option<SocketAddr>,
}

/// A lookup that could not be answered (not the same as "no such record").
#[derive(Debug, thiserror::Error)]
#[error("DNS lookup failed: {0}")]
pub struct DnsError(String);

impl TxtResolver {
    pub fn new(server: Option<SocketAddr>) -> Self {
        Self { server }
    }

    /// A fresh resolver for each lookup, so that a record added a moment
    /// ago is not hidden by a cached "no such record".
    fn resolver(&self) -> Result<TokioResolver, DnsError> {
        let builder = match self.server {
            Some(server) => {
                let mut udp = ConnectionConfig::udp();
                udp.port = server.port();
                let mut tcp = ConnectionConfig::tcp();
                tcp.port = server.port();
                Resolver::builder_with_config(
                    ResolverConfig::from_name_servers(vec![NameServerConfig::new(
                        server.ip(),
                        true,
                        vec![udp, tcp],
                    )]),
                    TokioRuntimeProvider::default(),
                )
            }
            None => Resolver::builder_tokio().map_err(|e| DnsError(e.to_string()))?,
        };
        builder.build().map_err(|e| DnsError(e.to_string()))
    }

    /// The TXT strings published at `name` (each record's strings joined,
    /// as RFC 7208 §3.3 reads them); empty when there are none.
    pub async fn txt(&self, name: &str) -> Result<Vec<String>, DnsError> {
        let resolver = self.resolver()?;
        // A fully qualified name: no search domains appended.
        match resolver.txt_lookup(format!("{name}.")).await {
            Ok(lookup) => Ok(lookup
                .answers()
                .iter()
                .filter_map(|record| match &record.data {
                    RData::TXT(txt) => Some(
                        txt.txt_data
                            .iter()
                            .map(|part| String::from_utf8_lossy(part))
                            .collect::<String>(),
                    ),
                    _ => None,
                })
                .collect()),
            Err(e) if e.is_no_records_found() || e.is_nx_domain() => Ok(Vec::new()),
            Err(e) => Err(DnsError(e.to_string())),
        }
    }
}

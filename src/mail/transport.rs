//! Where mail goes (`--mail`): `log` (kind, recipient and subject at info —
//! never the body, which carries links and secrets for the recipient only),
//! `file:DIR` (one RFC 5322 `.eml` per mail) or `smtp://host:port` (plain
//! SMTP through lettre, meant for a local relay).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use lettre::message::header::ContentTransferEncoding;
use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::message::{Body, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::entity::mail_outbox;

pub enum Transport {
    Log,
    File(PathBuf),
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

impl Transport {
    /// Parse `--mail`. `public_url` gives the sender's domain.
    pub fn from_config(spec: &str) -> anyhow::Result<Transport> {
        let spec = spec.trim();
        if spec.is_empty() || spec == "log" {
            return Ok(Transport::Log);
        }
        if let Some(dir) = spec.strip_prefix("file:") {
            if dir.is_empty() {
                bail!("--mail file:DIR needs a directory");
            }
            let dir = PathBuf::from(dir);
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("creating mail directory {}", dir.display()))?;
            return Ok(Transport::File(dir));
        }
        if let Some(rest) = spec.strip_prefix("smtp://") {
            let rest = rest.trim_end_matches('/');
            let (host, port) = match rest.rsplit_once(':') {
                Some((h, p)) => (
                    h,
                    p.parse::<u16>()
                        .map_err(|_| anyhow!("--mail smtp://host:port: bad port"))?,
                ),
                None => (rest, 25),
            };
            if host.is_empty() {
                bail!("--mail smtp://host:port needs a host");
            }
            let t = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
                .port(port)
                .timeout(Some(Duration::from_secs(15)))
                .build();
            return Ok(Transport::Smtp(t));
        }
        bail!("--mail must be log, file:DIR or smtp://host:port")
    }

    pub async fn deliver(&self, from: &Mailbox, row: &mail_outbox::Model) -> anyhow::Result<()> {
        match self {
            Transport::Log => {
                tracing::info!(
                    kind = row.kind.as_str(),
                    to = %row.to_address,
                    subject = %row.subject,
                    "mail (log transport; body not shown)"
                );
                Ok(())
            }
            Transport::File(dir) => {
                let bytes = build(from, row)?.formatted();
                let name = format!("{}.eml", row.id);
                let tmp = dir.join(format!(".{name}.tmp"));
                tokio::fs::write(&tmp, bytes).await?;
                tokio::fs::rename(&tmp, dir.join(name)).await?;
                Ok(())
            }
            Transport::Smtp(t) => {
                t.send(build(from, row)?)
                    .await
                    .map_err(|e| anyhow!("{e}"))?;
                Ok(())
            }
        }
    }
}

#[derive(Clone)]
struct XOrgraphKind(String);

impl Header for XOrgraphKind {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("X-Orgraph-Kind")
    }
    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(XOrgraphKind(s.to_string()))
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// The RFC 5322 message of an outbox row.
pub fn build(from: &Mailbox, row: &mail_outbox::Model) -> anyhow::Result<Message> {
    let to: Mailbox = row
        .to_address
        .parse()
        .map_err(|_| anyhow!("recipient address is not valid"))?;
    let b = Message::builder()
        .from(from.clone())
        .to(to)
        .subject(row.subject.clone())
        .date(row.created_at.into())
        .header(XOrgraphKind(row.kind.as_str().to_string()));
    // Keep every link and secret whole on a line of its own: lettre would
    // pick quoted-printable past 76 characters and wrap them, although
    // RFC 5322 allows lines of 998. Our bodies are ours: CRLF them and label
    // them 7bit (ASCII) or 8bit; anything unusual falls back to lettre.
    let body = |text: &str| {
        let crlf = text.replace("\r\n", "\n").replace('\n', "\r\n");
        if !crlf.contains('\0') && crlf.split("\r\n").all(|l| l.len() <= 998) {
            let enc = if crlf.is_ascii() {
                ContentTransferEncoding::SevenBit
            } else {
                ContentTransferEncoding::EightBit
            };
            Body::dangerous_pre_encoded(crlf.into_bytes(), enc)
        } else {
            Body::new(text.to_string())
        }
    };
    let text = SinglePart::builder()
        .header(ContentType::TEXT_PLAIN)
        .body(body(&row.body_text));
    let msg = match &row.body_html {
        Some(html) => b.multipart(
            MultiPart::alternative().singlepart(text).singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_HTML)
                    .body(body(html)),
            ),
        ),
        None => b.singlepart(text),
    };
    msg.map_err(|e| anyhow!("building the message: {e}"))
}

/// `orgraph <no-reply@host>` with the host of the public URL when it is a
/// domain name, else `localhost`.
pub fn sender(public_url: &str) -> Mailbox {
    let host = public_url
        .split("://")
        .nth(1)
        .unwrap_or("")
        .split(['/', ':'])
        .next()
        .unwrap_or("");
    let is_name = !host.is_empty()
        && host.contains('.')
        && host.chars().any(|c| c.is_ascii_alphabetic())
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    let addr = if is_name {
        format!("orgraph <no-reply@{host}>")
    } else {
        "orgraph <no-reply@localhost>".to_string()
    };
    addr.parse()
        .unwrap_or_else(|_| "no-reply@localhost".parse().expect("valid address"))
}

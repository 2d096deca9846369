//! What a TestApp reports on `/metrics`: single series and the SQL
//! statement count that tests take around one request.

use super::TestApp;

impl TestApp {
    /// Total SQL statements sent so far (from /metrics).
    /// Statements sent so far, read once the counter has been still for
    /// 100 ms, so work a previous request queued (a mail pass) is not
    /// counted against the next one.
    pub async fn sql_count(&self) -> u64 {
        let mut last = self.read_sql_count().await;
        loop {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            let now = self.read_sql_count().await;
            if now == last {
                return now;
            }
            last = now;
        }
    }

    /// The statement counter as it stands, without waiting for it to be
    /// still: for tests that take many counts around reads that queue no
    /// work (the caller re-measures when a count looks disturbed).
    pub async fn sql_count_now(&self) -> u64 {
        self.read_sql_count().await
    }

    async fn read_sql_count(&self) -> u64 {
        self.metric("orgraph_db_queries_total")
            .await
            .expect("orgraph_db_queries_total in /metrics") as u64
    }

    /// One series of `/metrics`, named as printed (labels included, e.g.
    /// `orgraph_graphql_lists_total{path="plain"}`); None when absent.
    pub async fn metric(&self, series: &str) -> Option<f64> {
        let base = match self.metrics_addr {
            Some(a) => format!("http://{a}"),
            None => self.base.clone(),
        };
        let text = self
            .http
            .get(format!("{base}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
            .and_then(|v| v.trim().parse::<f64>().ok())
    }
}
